"""Scores of backtest forecasts: :func:`evaluate` applies the metrics of :data:`tsrnn.metrics.METRICS`.

Each metric is computed per (series, cutoff) window of a backtest frame, then averaged.
How a metric is applied follows from its ``kind`` alone (see :mod:`tsrnn.metrics`), so a
metric added to the registry is available here, in ``compare`` and in the leaderboards
without further changes.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..frequencies import default_season_length
from ..metrics import METRICS
from .backtest import BACKTEST_COLUMNS
from .conformal import check_levels
from .panel import model_columns, to_panel

__all__ = ["evaluate"]


@dataclass
class _Windows:
    """What a metric sees: every (series, cutoff) window of one model as a row."""

    y: np.ndarray  # (n_windows_total, h) actual values
    point: np.ndarray  # (n_windows_total, h) point forecasts
    quantiles: dict  # probability -> (n_windows_total, h) quantile forecasts
    history: list  # training values before each window (for MASE)
    season_length: int
    levels: list  # interval levels (percent) scored for every model
    bounds: dict  # level -> (lower, upper) rows of this model's interval, where it has one


def _quantile_pairs(probabilities):
    """{80.0: (0.1, 0.9), ...} for the symmetric pairs among ``probabilities``."""
    intervals = {}
    for q in sorted(probabilities):
        upper = [p for p in probabilities if np.isclose(p, 1 - q)]
        if q < 0.5 and upper:
            intervals[round(100 * (1 - 2 * q), 6)] = (q, upper[0])
    return intervals


def _model_bounds(quantile_columns, bound_columns, rows):
    """level -> (lower, upper) rows of one model: its ``-lo-/-hi-`` columns, else a symmetric
    pair of its quantile columns (an 80 % interval from q0.1 and q0.9)."""
    bounds = {
        level: (rows(quantile_columns[lo]), rows(quantile_columns[hi]))
        for level, (lo, hi) in _quantile_pairs(quantile_columns).items()
    }
    bounds.update({level: (rows(lo), rows(hi)) for level, (lo, hi) in bound_columns.items()})
    return bounds


def _point(name, function, w):
    return {name: function(w.y, w.point)}


def _scaled(name, function, w):
    return {name: function(w.y, w.point, w.history, w.season_length)}


def _interval(name, function, w):
    """One column per level (``coverage-80``); NaN where a model lacks that interval, so
    every model gets the same columns."""
    if not w.levels:
        return {name: np.full(len(w.y), np.nan)}
    scores = {}
    for level in w.levels:
        bounds = w.bounds.get(level)
        scores[f"{name}-{level:g}"] = np.full(len(w.y), np.nan) if bounds is None else function(w.y, *bounds, level)
    return scores


def _quantile(name, function, w):
    """The mean over a model's quantiles; NaN for a model without quantiles."""
    if not w.quantiles:
        return {name: np.full(len(w.y), np.nan)}
    return {name: np.mean([function(w.y, w.quantiles[q], q) for q in w.quantiles], axis=0)}


# metric kind (tsrnn.metrics.KINDS) -> scorer(name, function, windows) -> {column: per-window values}
_SCORE_BY_KIND = {"point": _point, "scaled": _scaled, "interval": _interval, "quantile": _quantile}


def evaluate(
    forecasts,
    y,
    metrics=("mase", "smape", "mae", "rmse"),
    season_length=None,
    window_size=None,
    aggregate=True,
    level=None,
):
    """Score backtest forecasts per model.

    Each metric is computed per (series, cutoff) window over its forecast steps, then
    averaged over windows and series. MASE is scaled on each window's own training data
    (the series up to its cutoff, or its last ``window_size`` observations).

    Parameters
    ----------
    forecasts : pd.DataFrame
        Output of :func:`backtest` (or ``compare(...).forecasts``): ``unique_id, ds,
        cutoff, y`` and one column per model (plus its quantile columns).
    y : pd.Series or pd.DataFrame
        The data the backtest ran on (for the MASE scale).
    metrics : sequence of str, default=('mase', 'smape', 'mae', 'rmse')
        Names from ``tsrnn.metrics.METRICS`` (also ``tsrnn.evaluation.METRICS``).
        The interval metrics ``'coverage'`` (share inside, 0-1) and ``'interval_score'``
        (Winkler) give one column per level (``coverage-80``), scored on a model's
        ``<alias>-lo-80``/``-hi-80`` columns or else on a symmetric pair of its quantiles
        (q0.1/q0.9); ``'pinball'`` the pinball loss averaged over a model's quantiles. They
        are NaN for models without that interval or without quantiles.
    season_length : int, default=None
        Season length of the MASE scale; None infers it from the frequency (12 for
        monthly, 4 for quarterly, 52 for weekly, 7 for daily, 24 for hourly, 1 if
        unknown), or 1 when a training window is not longer than that season.
    window_size : int, default=None
        Training length of a sliding-window backtest, so MASE is scaled on the same data
        the model saw; None uses all history up to each cutoff.
    aggregate : bool, default=True
        True: one row per model (index ``model``). False: one row per model, series and
        cutoff (columns ``model, unique_id, cutoff`` then the metrics).
    level : float, list of float or None, default=None
        Interval levels in percent to score; None scores every level found in
        ``forecasts``. With ``level``, ``'coverage'`` and ``'interval_score'`` are added
        to ``metrics`` when absent.

    Returns
    -------
    scores : pd.DataFrame
    """
    levels = check_levels(level)
    metrics = list(metrics)
    if levels:
        metrics += [m for m in ("coverage", "interval_score") if m not in metrics]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"Unknown metric(s) {unknown}; choose from {sorted(METRICS)}.")
    missing = [c for c in BACKTEST_COLUMNS if c not in forecasts.columns]
    if missing:
        raise ValueError(f"forecasts lacks column(s) {missing}; pass the output of backtest().")
    panel = to_panel(y, use_exog=False)

    window_keys = pd.MultiIndex.from_frame(forecasts[["unique_id", "cutoff"]])
    codes, windows = pd.factorize(window_keys)
    order = np.lexsort((pd.Index(forecasts["ds"]).to_numpy(), codes))
    sizes = np.bincount(codes)
    if (sizes != sizes[0]).any():
        raise ValueError("Every (unique_id, cutoff) window must have the same number of forecast steps.")
    shape = (len(windows), sizes[0])

    def rows(column):
        return forecasts[column].to_numpy(dtype=np.float64)[order].reshape(shape)

    # The training data of each window: its series up to the cutoff.
    row_keys = pd.MultiIndex.from_arrays([np.repeat(panel.ids.to_numpy(), panel.lengths), panel.input_ds])
    cutoff_rows = row_keys.get_indexer(windows)
    if (cutoff_rows < 0).any():
        raise ValueError(f"Cutoff {windows[int(np.flatnonzero(cutoff_rows < 0)[0])]} is not in y.")
    starts = panel.indptr[np.searchsorted(panel.indptr, cutoff_rows, side="right") - 1]
    if window_size is not None:
        starts = np.maximum(starts, cutoff_rows + 1 - window_size)
    history = [panel.values[a : b + 1] for a, b in zip(starts, cutoff_rows)]
    if season_length is None:
        season_length = default_season_length(panel.freq)
        if min(len(h) for h in history) <= season_length:
            season_length = 1  # some window holds less than a season plus one

    actual = rows("y")
    models, bound_columns = model_columns([c for c in forecasts.columns if c not in BACKTEST_COLUMNS], intervals=True)
    if not levels:
        found = {lv for b in bound_columns.values() for lv in b} | {
            lv for q in models.values() for lv in _quantile_pairs(q)
        }
        levels = sorted(found)
    per_window = []
    for alias, quantile_columns in models.items():
        windows_of_model = _Windows(
            actual,
            rows(alias),
            {q: rows(c) for q, c in quantile_columns.items()},
            history,
            season_length,
            levels,
            _model_bounds(quantile_columns, bound_columns[alias], rows),
        )
        columns = {"model": alias, "unique_id": windows.get_level_values(0), "cutoff": windows.get_level_values(1)}
        for name in metrics:
            function = METRICS[name]
            columns.update(_SCORE_BY_KIND[function.kind](name, function, windows_of_model))
        per_window.append(pd.DataFrame(columns))
    scores = pd.concat(per_window, ignore_index=True)
    if not aggregate:
        return scores
    return scores.drop(columns=["unique_id", "cutoff"]).groupby("model", sort=False).mean()
