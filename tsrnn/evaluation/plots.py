"""Plots of forecasts, leaderboards and comparisons (matplotlib, the ``plot`` extra).

:func:`plot_forecasts` draws forecasts after the observed history, one panel per series (a
grid for several), with quantile intervals shaded; :func:`plot_leaderboard` a bar chart of a
leaderboard; :func:`plot_comparison` both for a :func:`~tsrnn.evaluation.compare` result, the
figure of ``tsrnn compare --plot``.
"""

import math

import numpy as np
import pandas as pd

from ..forecasting.backtest import BACKTEST_COLUMNS
from ..forecasting.panel import model_columns, to_panel

__all__ = ["plot_comparison", "plot_forecasts", "plot_leaderboard"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'tsrnn[plot]' (or pip install matplotlib)."
        ) from error
    return plt


def _root_figure(ax):
    """The Figure an Axes belongs to, also when it sits in a SubFigure."""
    figure = ax.figure
    return getattr(figure, "figure", figure) or figure


def _time_values(values):
    """Times matplotlib can place: Periods become their start timestamps."""
    values = pd.Series(values)
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.to_timestamp()
    return values


def _long_forecasts(forecasts, actual):
    """Forecast output of any shape family -> long frame with unique_id and ds.

    ``actual`` (the long frame of ``y``, or None) names the series of a Series input's
    forecast and tells a wide forecast (one column per series) from a single series'.
    """
    actual_ids = [] if actual is None else list(pd.unique(actual["unique_id"]))
    if isinstance(forecasts, pd.Series):
        uid = actual_ids[0] if len(actual_ids) == 1 else forecasts.name
        return pd.DataFrame({"unique_id": uid, "ds": forecasts.index, forecasts.name: forecasts.to_numpy()})
    if not isinstance(forecasts, pd.DataFrame):
        raise TypeError(f"forecasts must be a pandas DataFrame or Series; got {type(forecasts).__name__}.")
    if {"unique_id", "ds"} <= set(forecasts.columns):
        return forecasts
    if isinstance(forecasts.columns, pd.MultiIndex):  # wide with quantiles: (series, column)
        stacked = forecasts.stack(level=0, future_stack=True)
        stacked.index.names = ["ds", "unique_id"]
        return stacked.reset_index()[["unique_id", "ds", *stacked.columns]]
    if len(actual_ids) > 1 and set(forecasts.columns) <= set(actual_ids):
        # a plain wide forecast: one column per series, the model's name is not in it
        long = forecasts.rename_axis("ds").reset_index().melt("ds", var_name="unique_id", value_name="forecast")
        return long[["unique_id", "ds", "forecast"]]
    # one series: a column per model (and its quantiles), as predict gives for a Series input
    if len(actual_ids) > 1:
        raise ValueError(
            f"forecasts has columns {list(forecasts.columns)[:5]} and no unique_id: they are not the "
            f"series of y ({actual_ids[:5]}...); pass the forecast of y, or a long frame."
        )
    uid = actual_ids[0] if actual_ids else "y"
    return forecasts.rename_axis("ds").reset_index().assign(unique_id=uid)


def _draw_series(ax, rows, observed, columns, bounds, colours):
    """One series' panel: history, cutoffs, each model's forecast and its intervals."""
    if observed is not None:
        ax.plot(_time_values(observed["ds"]), observed["y"], color="black", linewidth=1.2, label="actual")
    if "cutoff" in rows.columns:
        for cutoff in _time_values(pd.unique(rows["cutoff"])):
            ax.axvline(cutoff, color="grey", linestyle=":", linewidth=0.8)
    groups = rows.groupby("cutoff", sort=False) if "cutoff" in rows.columns else [(None, rows)]
    for colour, (alias, quantiles) in zip(colours * 10, columns.items()):
        for n, (_, part) in enumerate(groups):
            ds = _time_values(part["ds"])
            ax.plot(ds, part[alias].to_numpy(), color=colour, linewidth=1.4, label=alias if n == 0 else None)
            # symmetric quantile pairs (q, 1 - q) and interval levels, the wider lighter
            pairs = [
                (q, quantiles[q], quantiles[upper[0]])
                for q in sorted(q for q in quantiles if q < 0.5)
                if (upper := [p for p in quantiles if np.isclose(p, 1 - q)])
            ]
            pairs += [((1 - level / 100) / 2, lo, hi) for level, (lo, hi) in bounds.get(alias, {}).items()]
            for q, lo, hi in pairs:
                low, high = part[lo].to_numpy(), part[hi].to_numpy()
                ax.fill_between(ds, low, high, color=colour, alpha=0.12 + 0.25 * q, linewidth=0)


def plot_forecasts(forecasts, y=None, models=None, unique_ids=None, max_series=4, history=None, ax=None):
    """Plot forecasts against actual values, with quantile intervals shaded.

    Parameters
    ----------
    forecasts : pd.DataFrame or pd.Series
        The output of ``predict`` in any shape family (a Series, a frame with a column per
        model and quantile for one series, a wide frame, a long frame ``unique_id, ds,
        <alias>...``) or of ``backtest``/``compare`` (with ``cutoff`` and ``y``; each
        cutoff is drawn as a dotted vertical line).
    y : pd.Series or pd.DataFrame, default=None
        The observed series (any input format) drawn as the history line.
    models : list of str, default=None
        Aliases to draw; None draws every model in ``forecasts``.
    unique_ids : list, default=None
        Series to draw; None draws the first ``max_series``.
    max_series : int, default=4
        Most series drawn when ``unique_ids`` is None.
    history : int, default=None
        Observations of ``y`` shown before the first forecast; None shows all.
    ax : matplotlib Axes or sequence of Axes, default=None
        Axes to draw on, one per series drawn; None creates a figure: one panel for one
        series, a grid of two columns for several.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Symmetric quantile pairs (``q`` and ``1 - q``) and prediction intervals
        (``<alias>-lo-80``, ``<alias>-hi-80``) are shaded, wider intervals lighter.
    """
    plt = _pyplot()
    actual = to_panel(y, use_exog=False).to_long(exog=False) if y is not None else None
    frame = _long_forecasts(forecasts, actual)
    columns, bounds = model_columns([c for c in frame.columns if c not in BACKTEST_COLUMNS], intervals=True)
    if models is not None:
        absent = [m for m in models if m not in columns]
        if absent:
            raise ValueError(f"No forecast columns for {absent}; available: {list(columns)}.")
        columns = {m: columns[m] for m in models}
    available = list(pd.unique(frame["unique_id"]))
    if unique_ids is None:
        ids = available[:max_series]
    else:
        ids = list(unique_ids)
        unknown = [i for i in ids if i not in available]
        if unknown:
            raise ValueError(f"No forecasts for unique_ids {unknown}; the forecasts have {available[:10]}.")
    if ax is not None:
        axes = list(np.ravel(ax)) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != len(ids):
            raise ValueError(
                f"ax has {len(axes)} Axes for {len(ids)} series; pass one Axes per series "
                "(unique_ids=[...] chooses them) or ax=None for a grid."
            )
        figure = _root_figure(axes[0])
    else:
        ncols = 1 if len(ids) == 1 else 2
        nrows = math.ceil(len(ids) / ncols)
        figure, grid = plt.subplots(
            nrows, ncols, figsize=(9 if ncols == 1 else 13, 0.6 + 2.8 * nrows), squeeze=False, layout="constrained"
        )
        axes = list(grid.ravel())
        for unused in axes[len(ids) :]:
            unused.remove()
        if len(ids) < len(available) and unique_ids is None:
            figure.suptitle(f"{len(ids)} of {len(available)} series (unique_ids= or max_series= shows others)")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, (ax_, uid) in enumerate(zip(axes, ids)):
        rows = frame[frame["unique_id"] == uid]
        observed = None
        if actual is not None:
            observed = actual[actual["unique_id"] == uid]
            if history is not None:
                start = rows["ds"].min()
                before = observed[observed["ds"] < start]
                observed = pd.concat([before.tail(history), observed[observed["ds"] >= start]])
        _draw_series(ax_, rows, observed, columns, bounds, colours)
        ax_.set_title(str(uid))
        if n == 0:  # the same models in every panel: one legend
            ax_.legend(loc="best", fontsize="small")
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
        figure, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(values)), layout="constrained")
    else:
        figure = _root_figure(ax)
    values = values.to_numpy(dtype=np.float64)[::-1]  # best model on top
    finite = np.isfinite(values)
    # inf/NaN scores (e.g. MASE of a series with zero naive error) get no bar, only a label
    ax.barh([str(m) for m in leaderboard.index][::-1], np.where(finite, values, 0.0), height=0.6, color="tab:blue")
    # a few models still get slim bars, from the top down
    ax.set_ylim(len(values) - max(len(values), 4) - 0.4, len(values) - 0.4)
    for y_position, value in enumerate(values):
        x = value if np.isfinite(value) else 0.0
        ax.annotate(f"{value:.3g}", (x, y_position), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xlabel(metric)
    ax.margins(x=0.15)  # room for the value labels
    return figure


def plot_comparison(comparison, y, metric=None, max_series=6, history=None, title=None):
    """One figure of a comparison: the backtest forecasts of each series and the leaderboard.

    Parameters
    ----------
    comparison : Comparison
        The result of :func:`~tsrnn.evaluation.compare` (``leaderboard, forecasts``).
    y : pd.Series or pd.DataFrame
        The data the comparison ran on (the history line).
    metric : str, default=None
        Leaderboard column drawn; None draws the ranking metric.
    max_series : int, default=6
        Most series drawn (a grid of two columns for several).
    history : int, default=None
        Observations shown before the first backtest window; None shows twice the span
        of the windows.
    title : str, default=None
        Title of the figure.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    plt = _pyplot()
    leaderboard, forecasts = comparison
    ids = list(pd.unique(forecasts["unique_id"]))[:max_series]
    if history is None:
        history = 2 * int((forecasts["unique_id"] == ids[0]).sum())
    ncols = 1 if len(ids) == 1 else 2
    nrows = math.ceil(len(ids) / ncols)
    figure = plt.figure(figsize=(6 + 7 * ncols, 1.0 + 3.0 * max(nrows, 1.5)), layout="constrained")
    left, right = figure.subfigures(1, 2, width_ratios=[2.6 * ncols, 2])
    grid = left.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    for unused in axes[len(ids) :]:
        unused.remove()
    plot_forecasts(forecasts, y, unique_ids=ids, history=history, ax=axes[: len(ids)])
    plot_leaderboard(leaderboard, metric=metric, ax=right.subplots())
    n_series = forecasts["unique_id"].nunique()
    shown = f" ({len(ids)} of {n_series} series)" if len(ids) < n_series else ""
    figure.suptitle((title or "Backtest forecasts and leaderboard") + shown)
    return figure
