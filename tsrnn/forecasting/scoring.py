"""Scores of backtest forecasts: :func:`evaluate` applies the metrics of :data:`tsrnn.metrics.METRICS`.

Each metric is computed per (series, cutoff) window of a backtest frame, then averaged.
How a metric is applied follows from its ``kind`` alone (see :mod:`tsrnn.metrics`), so a
metric added to the registry is available here, in ``compare`` and in the leaderboards
without further changes.

Non-finite scores and rankings (the rule every leaderboard follows)
-------------------------------------------------------------------
A mean over windows must never let a missing or infinite value reorder models:

1. **Undefined for every model.** A scaled metric (MASE, MSIS) divides by the seasonal
   naive MAE of each window's training data (:func:`tsrnn.metrics.seasonal_naive_scale`);
   where that is 0 (a constant series, or one repeating exactly every season) the metric
   is undefined whatever the forecast (``x / 0``). Those windows are left out of that
   metric for *every* model alike (NaN in ``aggregate=False`` output), an
   :class:`~sklearn.exceptions.UndefinedMetricWarning` says how many, and the counts are
   in ``scores.attrs["undefined_windows"]`` (``{metric: n_windows}``). If every window is
   undefined, the metric is NaN for every model and ranks none of them.
2. **Non-finite for one model.** Any other NaN or infinite window score belongs to the
   model that produced it: its mean is taken without skipping (``inf`` stays ``inf``, a
   NaN makes the mean NaN), so it can never look better than a model scored on every
   window; a warning names the model and the counts are in
   ``scores.attrs["non_finite_windows"]`` (``{column: {model: n_windows}}``).
3. **Ranking** (:func:`rank_models`, used by ``compare``): models are sorted on the
   lower-is-better metric columns in order, a non-finite mean counting as the worst value;
   ties (two models at ``inf``, or a metric NaN for all) are broken by the next column.
   A model without an interval or quantiles has NaN interval or pinball columns (it
   has nothing to score) and so ranks after those that do on them.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from ..frequencies import default_season_length
from ..metrics import METRICS, seasonal_naive_scale
from .backtest import BACKTEST_COLUMNS
from .conformal import check_levels
from .panel import model_columns, quantile_column, to_panel

__all__ = ["evaluate", "rank_models"]

#: Metric kinds divided by the seasonal naive scale: undefined where it is 0.
SCALED_KINDS = ("scaled", "scaled_interval")


@dataclass
class _Windows:
    """What a metric sees: every (series, cutoff) window of one model as a row."""

    y: np.ndarray  # (n_windows_total, h) actual values
    point: np.ndarray  # (n_windows_total, h) point forecasts
    quantiles: dict  # probability -> (n_windows_total, h) quantile forecasts of this model
    probabilities: list  # every probability any model of the frame forecasts
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


def _interval_columns(quantile_columns, bound_columns):
    """level -> (lower, upper) column of one model: its ``-lo-/-hi-`` columns, else a
    symmetric pair of its quantile columns (an 80 % interval from q0.1 and q0.9)."""
    columns = {
        level: (quantile_columns[lo], quantile_columns[hi])
        for level, (lo, hi) in _quantile_pairs(quantile_columns).items()
    }
    columns.update(bound_columns)
    return columns


# A scorer returns {column: per-window values, or None where the model has nothing to
# score there (no such interval, no such quantile): NaN for it, and no warning}.


def _point(name, function, w):
    return {name: function(w.y, w.point)}


def _scaled(name, function, w):
    return {name: function(w.y, w.point, w.history, w.season_length)}


def _per_level(name, w, score):
    """One column per level (``coverage-80``); None where a model lacks that interval, so
    every model gets the same columns. A window with a NaN bound scores NaN on every
    interval metric: coverage would otherwise count it as a miss (a comparison with NaN
    is False) and look merely worse, where the module's rule wants the mean NaN."""
    if not w.levels:
        return {name: None}
    scores = {}
    for level in w.levels:
        if w.bounds.get(level) is None:
            scores[f"{name}-{level:g}"] = None
            continue
        lo, hi = w.bounds[level]
        missing = np.isnan(lo).any(axis=1) | np.isnan(hi).any(axis=1)
        scores[f"{name}-{level:g}"] = np.where(missing, np.nan, score(lo, hi, level))
    return scores


def _interval(name, function, w):
    return _per_level(name, w, lambda lo, hi, level: function(w.y, lo, hi, level))


def _scaled_interval(name, function, w):
    return _per_level(name, w, lambda lo, hi, level: function(w.y, lo, hi, level, w.history, w.season_length))


def _quantile(name, function, w):
    """One column per probability found in the frame (``pinball-q0.1``) and their mean
    (``pinball``); None for a model without that quantile (and its mean then, so a model is
    never averaged over fewer quantiles than another)."""
    if not w.probabilities:
        return {name: None}
    scores = {
        quantile_column(name, q): function(w.y, w.quantiles[q], q) if q in w.quantiles else None
        for q in w.probabilities
    }
    complete = all(v is not None for v in scores.values())
    return {name: np.mean(list(scores.values()), axis=0) if complete else None, **scores}


# metric kind (tsrnn.metrics.KINDS) -> scorer(name, function, windows) -> {column: per-window values}
_SCORE_BY_KIND = {
    "point": _point,
    "scaled": _scaled,
    "interval": _interval,
    "scaled_interval": _scaled_interval,
    "quantile": _quantile,
}


def _column_metric(column):
    """The registered metric a leaderboard column reports (``'msis'`` for ``'msis-80'``), or None."""
    name = str(column)
    while name not in METRICS and "-" in name:
        name = name.rsplit("-", 1)[0]
    return METRICS.get(name)


def rank_models(scores):
    """Sort a leaderboard by its lower-is-better metric columns, non-finite values last.

    The rule of the module docstring: the first lower-is-better metric column (``coverage``
    is not one) orders the models, a NaN or infinite mean counting as worse than any
    finite one; models it ties (equal values, both non-finite, or a column NaN for every
    model) are ordered by the next such column, and so on; remaining ties keep their order.

    Parameters
    ----------
    scores : pd.DataFrame
        One row per model, e.g. :func:`evaluate`'s output (other columns, such as
        timings, are carried along and not ranked on).

    Returns
    -------
    ranked : pd.DataFrame
        ``scores`` with its rows reordered (``attrs`` kept).
    """
    keys = []
    for column in scores.columns:
        function = _column_metric(column)
        if function is not None and function.lower_is_better:
            values = scores[column].to_numpy(dtype=np.float64)
            keys.append(np.where(np.isfinite(values), values, np.inf))
    if not keys:
        return scores
    order = np.lexsort(keys[::-1])  # lexsort sorts by the last key first; it is stable
    ranked = scores.iloc[order]
    ranked.attrs = dict(scores.attrs)
    return ranked


def _describe_row(forecasts, position):
    """``series 'a' at 1960-07-01`` for row ``position`` of a forecasts frame."""
    row = forecasts.iloc[position]
    return f"series {row['unique_id']!r} at {row['ds']}"


def _check_actuals(forecasts, row_keys, panel):
    """The frame's ``y`` must be finite and equal to ``y`` at the same (unique_id, ds).

    Both come from the same float64 buffer when the frame is :func:`backtest`'s output, but
    a frame saved as CSV and read back may move a value by an ulp, so equality is up to a
    relative 1e-12: far below any real difference, and an ``evaluate(cv, y * 2)`` fails.
    """
    actual = forecasts["y"].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(actual)
    if bad.any():
        raise ValueError(
            f"forecasts['y'] (the actuals) contain {int(bad.sum())} NaN or infinite value(s) (first: "
            f"{_describe_row(forecasts, int(np.flatnonzero(bad)[0]))}), so every metric of those windows "
            "would be NaN. Pass the backtest() output unchanged, or drop those rows explicitly."
        )
    found = row_keys.get_indexer(pd.MultiIndex.from_arrays([forecasts["unique_id"], forecasts["ds"]]))
    if (found < 0).any():
        raise ValueError(
            f"forecasts has {int(np.count_nonzero(found < 0))} row(s) not in y (first: "
            f"{_describe_row(forecasts, int(np.flatnonzero(found < 0)[0]))}); pass the y the backtest ran on."
        )
    expected = panel.values[found]
    differ = ~np.isclose(actual, expected, rtol=1e-12, atol=0.0)
    if differ.any():
        first = int(np.flatnonzero(differ)[0])
        raise ValueError(
            f"forecasts['y'] does not match y: {int(differ.sum())} row(s) differ (first: "
            f"{_describe_row(forecasts, first)}: forecasts has {actual[first]:g}, y has {expected[first]:g}). "
            "evaluate scores against forecasts['y'] and scales MASE on y, so they must be the same "
            "data: pass the y the backtest ran on."
        )


def _check_not_crossed(forecasts, alias, interval_columns, levels):
    """Raise if a scored interval of ``alias`` has a lower bound above its upper one."""
    for level in levels:
        if level not in interval_columns:
            continue
        lo_column, hi_column = interval_columns[level]
        crossed = forecasts[lo_column].to_numpy(dtype=np.float64) > forecasts[hi_column].to_numpy(dtype=np.float64)
        if crossed.any():
            first = int(np.flatnonzero(crossed)[0])
            raise ValueError(
                f"{alias}'s {level:g} % interval has its lower bound above its upper bound on "
                f"{int(crossed.sum())} row(s) (first: {_describe_row(forecasts, first)} (cutoff "
                f"{forecasts['cutoff'].iloc[first]}): {lo_column} = {forecasts[lo_column].iloc[first]:g} > "
                f"{hi_column} = {forecasts[hi_column].iloc[first]:g}). Its interval scores would be "
                "meaningless; fix or sort the bounds before scoring."
            )


def _describe_ids(windows, mask, limit=3):
    ids = list(pd.unique(windows.get_level_values(0)[mask]))
    shown = ", ".join(repr(i) for i in ids[:limit]) + (", ..." if len(ids) > limit else "")
    return f"{len(ids)} series: {shown}"


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
    averaged over windows and series. MASE and MSIS are scaled on each window's own
    training data (the series up to its cutoff, or its last ``window_size`` observations).
    NaN and infinite window scores follow the rule of :mod:`tsrnn.forecasting.scoring`:
    windows where a scaled metric is undefined for every model (zero naive scale) are left
    out of it for all models alike, and any other non-finite score is kept in its model's
    mean, never skipped.

    Parameters
    ----------
    forecasts : pd.DataFrame
        Output of :func:`backtest` (or ``compare(...).forecasts``): ``unique_id, ds,
        cutoff, y`` and one column per model (plus its quantile columns).
    y : pd.Series or pd.DataFrame
        The data the backtest ran on (for the MASE scale). The actuals ``forecasts['y']``
        must equal it at the same (unique_id, ds), up to a relative 1e-12.
    metrics : str or sequence of str, default=('mase', 'smape', 'mae', 'rmse')
        Names from ``tsrnn.metrics.METRICS`` (also ``tsrnn.evaluation.METRICS``); a single
        name is one metric.
        The interval metrics ``'coverage'`` (share inside, 0-1), ``'interval_score'``
        (Winkler) and ``'msis'`` (the interval score over the MASE scale, M4's mean scaled
        interval score) give one column per level (``coverage-80``), scored on a model's
        ``<alias>-lo-80``/``-hi-80`` columns or else on a symmetric pair of its quantiles
        (q0.1/q0.9); they are NaN for a model without that interval, and on a window where
        a bound is NaN (coverage included: the rule for non-finite forecasts). ``'pinball'`` gives
        one column per quantile found in ``forecasts`` (``pinball-q0.1``) and their mean
        (``pinball``), NaN for a model without that quantile (the mean: without one of
        them); it is added whenever a model has quantile columns.
    season_length : int, default=None
        Season length of the MASE scale; None infers it from the frequency (12 for
        monthly, 4 for quarterly, 52 for weekly, 7 for daily, 24 for hourly, 1 if
        unknown), or 1 when a training window is not longer than that season.
    window_size : int, default=None
        Training length of a sliding-window backtest, so MASE is scaled on the same data
        the model saw; None uses all history up to each cutoff.
    aggregate : bool, default=True
        True: one row per model (index ``model``). False: one row per model, series and
        cutoff (columns ``model, unique_id, cutoff`` then the metrics; a scaled metric is
        NaN on windows where it is undefined).
    level : float, list of float or None, default=None
        Interval levels in percent to score; None scores every level found in
        ``forecasts``. With ``level``, ``'coverage'``, ``'interval_score'`` and ``'msis'``
        are added to ``metrics`` when absent.

    Returns
    -------
    scores : pd.DataFrame
        ``attrs["undefined_windows"]``: ``{metric: n}``, the windows (per model) left out
        of each scaled metric for every model; ``attrs["non_finite_windows"]``:
        ``{column: {model: n}}``, the windows where a model's own score is NaN or infinite.

    Raises
    ------
    ValueError
        If ``metrics`` is empty or names an unknown metric; if ``forecasts['y']`` holds
        NaN or inf, has a (unique_id, ds) not in ``y`` or differs from ``y`` (the message
        names the first such row); if an interval metric is scored and a model's interval
        has a lower bound above its upper bound (the message names the model, the level
        and the first such row).

    Warns
    -----
    UndefinedMetricWarning
        When a scaled metric is undefined on some windows (they are left out for every
        model), and when a model has non-finite scores (its mean is then non-finite).
    """
    levels = check_levels(level)
    # a bare name is one metric, not the letters of one
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError(f"metrics must name at least one metric; choose from {sorted(METRICS)}.")
    if levels:
        metrics += [m for m in ("coverage", "interval_score", "msis") if m not in metrics]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
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
    _check_actuals(forecasts, row_keys, panel)
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
    probabilities = sorted({q for quantile_columns in models.values() for q in quantile_columns})
    if probabilities and "pinball" not in metrics:
        metrics.append("pinball")
    # rule 1: where the naive scale is 0 the scaled metrics are undefined for every model
    scaled = [m for m in metrics if METRICS[m].kind in SCALED_KINDS]
    defined = np.ones(len(windows), dtype=bool)
    if scaled:
        scale = seasonal_naive_scale(history, season_length)
        defined = np.isfinite(scale) & (scale > 0)

    scores_intervals = any(METRICS[m].kind in ("interval", "scaled_interval") for m in metrics)
    per_window, means, non_finite = [], {}, {}
    for alias, quantile_columns in models.items():
        interval_columns = _interval_columns(quantile_columns, bound_columns[alias])
        if scores_intervals:
            _check_not_crossed(forecasts, alias, interval_columns, levels)
        windows_of_model = _Windows(
            actual,
            rows(alias),
            {q: rows(c) for q, c in quantile_columns.items()},
            probabilities,
            history,
            season_length,
            levels,
            {lv: (rows(lo), rows(hi)) for lv, (lo, hi) in interval_columns.items()},
        )
        columns = {"model": alias, "unique_id": windows.get_level_values(0), "cutoff": windows.get_level_values(1)}
        means[alias] = {}
        for name in metrics:
            function = METRICS[name]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                scored = _SCORE_BY_KIND[function.kind](name, function, windows_of_model)
            for column, values in scored.items():
                if values is None:  # nothing to score (no such interval or quantile)
                    columns[column], means[alias][column] = np.full(len(windows), np.nan), np.nan
                    continue
                values = np.asarray(values, dtype=np.float64)
                kept = defined if function.kind in SCALED_KINDS else slice(None)
                if function.kind in SCALED_KINDS:
                    values = np.where(defined, values, np.nan)
                columns[column] = values
                # rule 2: never skip a model's own non-finite score
                bad = int(np.count_nonzero(~np.isfinite(values[kept])))
                if bad:
                    non_finite.setdefault(column, {})[alias] = bad
                means[alias][column] = float(np.mean(values[kept])) if values[kept].size else np.nan
        per_window.append(pd.DataFrame(columns))
    undefined = {m: int(np.count_nonzero(~defined)) for m in scaled if not defined.all()}
    _warn(undefined, non_finite, len(windows), windows, ~defined)
    attrs = {"undefined_windows": undefined, "non_finite_windows": non_finite}
    if not aggregate:
        scores = pd.concat(per_window, ignore_index=True)
    else:
        scores = pd.DataFrame.from_dict(means, orient="index")
        scores.index.name = "model"
    scores.attrs = attrs
    return scores


def _warn(undefined, non_finite, n_windows, windows, undefined_mask):
    if undefined:
        n = next(iter(undefined.values()))
        names = ", ".join(undefined)
        if n == n_windows:
            what = f"{names} is undefined on every window"
            then = "it is NaN for every model and ranks none of them"
        else:
            what = f"{names} is undefined on {n} of {n_windows} windows ({_describe_ids(windows, undefined_mask)})"
            then = "those windows are left out of it for every model alike"
        warnings.warn(
            f"{what}: the seasonal naive MAE of their training data is 0 (a constant series, or one "
            f"repeating every season), so any forecast scores x / 0; {then}. Rank on a metric defined "
            "there (mae, rmse, smape) to include them.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    by_model = {}
    for column, counts in non_finite.items():
        for alias, count in counts.items():
            by_model.setdefault(alias, []).append(f"{column} ({count} of {n_windows} windows)")
    for alias, listed in by_model.items():
        warnings.warn(
            f"{alias} has non-finite scores: {', '.join(listed)}. They are kept in its means "
            "(never skipped), so those means are NaN or infinite and it ranks last on them.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
