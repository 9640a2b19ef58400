"""Plots of forecasts and leaderboards (matplotlib, the ``plot`` extra)."""

import numpy as np
import pandas as pd

from ..forecasting.backtest import BACKTEST_COLUMNS
from ..forecasting.panel import model_columns, to_panel

__all__ = ["plot_forecasts", "plot_leaderboard"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'tsrnn[plot]' (or pip install matplotlib)."
        ) from error
    return plt


def _long_forecasts(forecasts):
    """Forecast output of any shape family -> long frame with unique_id and ds."""
    if isinstance(forecasts, pd.Series):
        return pd.DataFrame({"unique_id": forecasts.name, "ds": forecasts.index, forecasts.name: forecasts.to_numpy()})
    if {"unique_id", "ds"} <= set(forecasts.columns):
        return forecasts
    if isinstance(forecasts.columns, pd.MultiIndex):  # wide with quantiles: (series, column)
        stacked = forecasts.stack(level=0, future_stack=True)
        stacked.index.names = ["ds", "unique_id"]
        return stacked.reset_index()[["unique_id", "ds", *stacked.columns]]
    raise ValueError(
        "plot_forecasts needs a long forecast frame (unique_id, ds, ...), a Series forecast "
        "or a wide forecast with quantile columns; for a plain wide forecast pass "
        "forecasts.melt(ignore_index=False) reshaped to long, or the backtest output."
    )


def plot_forecasts(forecasts, y=None, models=None, unique_ids=None, max_series=4, history=None, ax=None):
    """Plot forecasts against actual values, with quantile intervals shaded.

    Parameters
    ----------
    forecasts : pd.DataFrame or pd.Series
        A long frame from ``predict`` (``unique_id, ds, <alias>...``) or from
        ``backtest``/``compare`` (with ``cutoff`` and ``y``; each cutoff is drawn as a
        dotted vertical line), or a Series forecast.
    y : pd.Series or pd.DataFrame, default=None
        The observed series (any input format) drawn as the history line.
    models : list of str, default=None
        Aliases to draw; None draws every model in ``forecasts``.
    unique_ids : list, default=None
        Series to draw; None draws the first ``max_series``.
    max_series : int, default=4
        Most series drawn when ``unique_ids`` is None (one panel each).
    history : int, default=None
        Observations of ``y`` shown before the first forecast; None shows all.
    ax : matplotlib Axes, default=None
        Axes to draw on (one series only); None creates a figure.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Symmetric quantile pairs (``q`` and ``1 - q``) are shaded, wider intervals lighter.
    """
    plt = _pyplot()
    frame = _long_forecasts(forecasts)
    columns = model_columns([c for c in frame.columns if c not in BACKTEST_COLUMNS])
    if models is not None:
        absent = [m for m in models if m not in columns]
        if absent:
            raise ValueError(f"No forecast columns for {absent}; available: {list(columns)}.")
        columns = {m: columns[m] for m in models}
    ids = list(pd.unique(frame["unique_id"])) if unique_ids is None else list(unique_ids)
    if unique_ids is None:
        ids = ids[:max_series]
    actual = to_panel(y, use_exog=False).to_long(exog=False) if y is not None else None

    if ax is not None:
        if len(ids) != 1:
            raise ValueError("ax draws one series; pass unique_ids=[...] with one id.")
        axes, figure = [ax], ax.figure
    else:
        figure, axes = plt.subplots(len(ids), 1, figsize=(9, 2.8 * len(ids)), squeeze=False)
        axes = axes[:, 0]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax_, uid in zip(axes, ids):
        rows = frame[frame["unique_id"] == uid]
        if actual is not None:
            observed = actual[actual["unique_id"] == uid]
            if history is not None:
                before = observed[observed["ds"] < rows["ds"].min()]
                observed = pd.concat([before.tail(history), observed[observed["ds"] >= rows["ds"].min()]])
            ax_.plot(observed["ds"], observed["y"], color="black", linewidth=1.2, label="actual")
        if "cutoff" in rows.columns:
            for cutoff in pd.unique(rows["cutoff"]):
                ax_.axvline(cutoff, color="grey", linestyle=":", linewidth=0.8)
        for colour, (alias, quantiles) in zip(colours * 10, columns.items()):
            groups = rows.groupby("cutoff", sort=False) if "cutoff" in rows.columns else [(None, rows)]
            for n, (_, part) in enumerate(groups):
                ax_.plot(part["ds"], part[alias], color=colour, linewidth=1.4, label=alias if n == 0 else None)
                lower = sorted(q for q in quantiles if q < 0.5)
                for q in lower:
                    upper = [p for p in quantiles if np.isclose(p, 1 - q)]
                    if upper:
                        ax_.fill_between(
                            part["ds"],
                            part[quantiles[q]],
                            part[quantiles[upper[0]]],
                            color=colour,
                            alpha=0.12 + 0.25 * q,
                            linewidth=0,
                        )
        ax_.set_title(str(uid))
        ax_.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    return figure


def plot_leaderboard(leaderboard, metric=None, ax=None):
    """Horizontal bar chart of a :func:`compare` leaderboard.

    Parameters
    ----------
    leaderboard : pd.DataFrame
        ``compare(...).leaderboard`` (index ``model``).
    metric : str, default=None
        Column to draw; None draws the first column (the ranking metric).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    plt = _pyplot()
    metric = leaderboard.columns[0] if metric is None else metric
    if metric not in leaderboard.columns:
        raise ValueError(f"leaderboard has no column {metric!r}; columns: {list(leaderboard.columns)}.")
    values = leaderboard[metric]
    if ax is None:
        figure, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(values)))
    else:
        figure = ax.figure
    values = values.to_numpy(dtype=np.float64)[::-1]  # best model on top
    finite = np.isfinite(values)
    # inf/NaN scores (e.g. MASE of a series with zero naive error) get no bar, only a label
    ax.barh([str(m) for m in leaderboard.index][::-1], np.where(finite, values, 0.0), color="tab:blue")
    for y_position, value in enumerate(values):
        x = value if np.isfinite(value) else 0.0
        ax.annotate(f"{value:.3g}", (x, y_position), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xlabel(metric)
    figure.tight_layout()
    return figure
