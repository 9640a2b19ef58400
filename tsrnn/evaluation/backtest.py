"""Rolling-origin backtests, their scores, and a one-call model comparison.

:func:`backtest` refits a forecaster at several cutoffs and collects its forecasts of
the ``horizon`` steps after each cutoff in one tidy long frame; :func:`evaluate` scores
such a frame; :func:`compare` does both for several models and returns a leaderboard.

Windows are counted back from the end of each series: the last window's forecasts end
with the series, and each earlier window starts ``step`` observations before the next.
A model fitted at a cutoff sees the series up to that cutoff only; covariates of the
forecast steps reach it only through ``X_future``.

Runs are spread over ``n_jobs`` joblib workers, one (model, window) fit per task, so
``with joblib.parallel_config(backend="dask"): compare(..., n_jobs=-1)`` runs them on a
Dask cluster (with a ``dask.distributed.Client`` connected).
"""

import copy
import time
from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone
from tqdm.auto import tqdm

from ..forecasting._panel import default_season_length, quantile_column, to_panel
from .metrics import coverage, mae, mase, pinball, rmse, smape

__all__ = ["Comparison", "backtest", "compare", "evaluate"]

_KEY_COLUMNS = ["unique_id", "ds", "cutoff", "y"]


# ---------------------------------------------------------------- windows


@dataclass
class _Window:
    train: np.ndarray  # boolean mask over the rows of the long frame
    test: np.ndarray
    cutoffs: pd.Index  # last training timestamp of each series


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def _make_windows(panel, horizon, n_windows, step, strategy, window_size):
    horizon = _check_int(horizon, "horizon", 1)
    n_windows = _check_int(n_windows, "n_windows", 1)
    step = horizon if step is None else _check_int(step, "step", 1)
    if strategy not in ("expanding", "sliding"):
        raise ValueError(f"strategy must be 'expanding' or 'sliding'. Got {strategy!r} instead.")
    lengths = panel.lengths
    first_end = lengths - horizon - (n_windows - 1) * step  # training size of window 0
    shortest = int(np.argmin(first_end))
    if first_end[shortest] < 1:
        raise ValueError(
            f"Series {panel.ids[shortest]!r} has {lengths[shortest]} observations; "
            f"horizon={horizon}, n_windows={n_windows} and step={step} need more than "
            f"{horizon + (n_windows - 1) * step}."
        )
    if strategy == "sliding":
        if window_size is None:
            window_size = first_end  # every window as long as the first one
        else:
            window_size = _check_int(window_size, "window_size", 1)
            if (first_end < window_size).any():
                raise ValueError(
                    f"window_size={window_size} is longer than the first training window of "
                    f"series {panel.ids[shortest]!r} ({first_end[shortest]} observations)."
                )
    elif window_size is not None:
        raise ValueError("window_size is only used with strategy='sliding'.")
    position = np.arange(len(panel.values)) - np.repeat(panel.indptr[:-1], lengths)
    windows = []
    for k in range(n_windows):
        end = first_end + k * step
        end_per_row = np.repeat(end, lengths)
        train = position < end_per_row
        if strategy == "sliding":
            train &= position >= end_per_row - np.repeat(np.broadcast_to(window_size, end.shape), lengths)
        test = (position >= end_per_row) & (position < end_per_row + horizon)
        windows.append(_Window(train, test, panel.ds[panel.indptr[:-1] + end - 1]))
    return windows, horizon


# ---------------------------------------------------------------- running


def _fit_predict(model, train, X_future, horizon, fitted):
    """One task: fit (or update a fitted copy) on ``train``, forecast ``horizon`` steps."""
    start = time.perf_counter()
    if fitted is None:
        model.fit(train)
    else:
        model = copy.deepcopy(fitted)
        model.update(train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    forecast = model.predict(horizon, X_future)
    return forecast, fit_seconds, time.perf_counter() - start


def _fit_predict_one_thread(model, train, X_future, horizon, fitted):
    """:func:`_fit_predict` with one numba thread: the task shares the machine with
    the other joblib workers, and workers x numba threads would oversubscribe the cores."""
    from .._config import using_threads

    with using_threads(1):
        return _fit_predict(model, train, X_future, horizon, fitted)


def _run(models, y, X, horizon, n_windows, step, refit, strategy, window_size, n_jobs, progress):
    """Backtest every model; returns (forecast frame, {alias: (fit s, predict s)}, panel)."""
    panel = to_panel(y, X)
    windows, horizon = _make_windows(panel, horizon, n_windows, step, strategy, window_size)
    long = panel.to_long()
    exog_columns = ["unique_id", "ds", *panel.exog_names] if panel.exog is not None else None
    aliases = [m.alias for m in models]
    duplicated = sorted({a for a in aliases if aliases.count(a) > 1})
    if duplicated:
        raise ValueError(f"Models need distinct aliases; {duplicated} appear more than once (set alias=...).")

    def inputs(window):
        """Training rows up to the cutoff; covariates (no y) of the forecast steps."""
        X_future = long.loc[window.test, exog_columns].reset_index(drop=True) if exog_columns else None
        return long.loc[window.train].reset_index(drop=True), X_future

    window_inputs = [inputs(window) for window in windows]  # shared by all models
    timings = {alias: [0.0, 0.0] for alias in aliases}
    tasks, fitted = [], {}
    run_task = _fit_predict_one_thread if effective_n_jobs(n_jobs) > 1 else _fit_predict
    for i, model in enumerate(models):
        if not refit:
            if not getattr(model, "_supports_update", False):
                raise ValueError(
                    f"refit=False needs a model that can be conditioned on new data without "
                    f"refitting (update()); {aliases[i]} cannot. Use refit=True."
                )
            # Fit once on the first window; every window then updates a copy of it.
            start = time.perf_counter()
            fitted[i] = clone(model).fit(window_inputs[0][0])
            timings[aliases[i]][0] += time.perf_counter() - start
        for k, (train, X_future) in enumerate(window_inputs):
            tasks.append((i, k, delayed(run_task)(clone(model), train, X_future, horizon, fitted.get(i))))

    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    results = parallel(task for _, _, task in tasks)
    results = list(tqdm(results, total=len(tasks), disable=not progress, desc="backtest"))

    series_of_row = np.repeat(np.arange(panel.n_series), panel.lengths)
    frame = pd.concat(
        [long.loc[w.test, ["unique_id", "ds", "y"]].assign(cutoff=w.cutoffs[series_of_row[w.test]]) for w in windows],
        ignore_index=True,
    )[_KEY_COLUMNS]
    per_model = {alias: [] for alias in aliases}
    for (i, k, _), (forecast, fit_seconds, predict_seconds) in zip(tasks, results):
        timings[aliases[i]][0] += fit_seconds
        timings[aliases[i]][1] += predict_seconds
        per_model[aliases[i]].append(forecast.assign(cutoff=_cutoff_column(forecast, windows[k], panel)))
    for alias in aliases:
        forecasts = pd.concat(per_model[alias], ignore_index=True)
        merged = frame.merge(forecasts, on=["unique_id", "ds", "cutoff"], how="left", validate="one_to_one")
        if merged[alias].isna().any():
            raise RuntimeError(f"{alias} returned forecasts that do not line up with the test windows.")
        frame = merged
    return frame, timings, panel


def _cutoff_column(forecast, window, panel):
    """The window's cutoff of each forecast row (matched on unique_id)."""
    cutoff_of = pd.Series(window.cutoffs, index=panel.ids)
    return cutoff_of.loc[forecast["unique_id"].to_numpy()].to_numpy()


def backtest(
    model,
    y,
    horizon,
    n_windows=3,
    step=None,
    refit=True,
    strategy="expanding",
    window_size=None,
    n_jobs=1,
    X=None,
    progress=False,
):
    """Forecasts of a model at several rolling origins (time-series cross-validation).

    Parameters
    ----------
    model : BaseForecaster
        Forecaster to evaluate; it is cloned (``sklearn.base.clone``) for each window,
        the original is left untouched.
    y : pd.Series or pd.DataFrame
        Series, wide frame or long ``unique_id, ds, y`` frame (see ``BaseForecaster``).
    horizon : int
        Steps forecast after each cutoff.
    n_windows : int, default=3
        Number of cutoffs.
    step : int, default=None
        Observations between consecutive cutoffs; None means ``horizon``
        (non-overlapping test windows).
    refit : bool, default=True
        Refit the model at every cutoff. False fits it once on the first window and, at
        later cutoffs, only conditions a copy on the longer history (``update``):
        the parameters stay those estimated on the first window. Only models that
        support ``update`` allow it; others raise a ``ValueError``.
    strategy : {'expanding', 'sliding'}, default='expanding'
        Expanding windows train on all history up to the cutoff; sliding windows on the
        last ``window_size`` observations only.
    window_size : int, default=None
        Training length for ``strategy='sliding'``; None means the length of each
        series' first window.
    n_jobs : int, default=1
        joblib workers, one (model, window) fit per task; -1 uses all cores (or all
        workers of a Dask cluster under ``joblib.parallel_config(backend="dask")``).
    X : pd.DataFrame, default=None
        Covariates on the index of ``y`` (Series/wide input; long frames carry them as
        columns). At each cutoff the model gets the past rows with the training data and
        the rows of the forecast steps as ``X_future``.
    progress : bool, default=False
        Show a tqdm progress bar over the fits.

    Returns
    -------
    forecasts : pd.DataFrame
        Long frame with columns ``unique_id, ds, cutoff, y, <alias>`` plus one
        ``<alias>-q<q>`` column per quantile, one row per series, cutoff and forecast
        step. ``cutoff`` is the last timestamp the model saw. Series input uses the
        Series name (or ``'y'``) as ``unique_id``.
    """
    frame, _, _ = _run([model], y, X, horizon, n_windows, step, refit, strategy, window_size, n_jobs, progress)
    return frame


# ---------------------------------------------------------------- scoring


@dataclass
class _Scored:
    """What a scorer sees: every (series, cutoff) window of one model as a row."""

    y: np.ndarray  # (n_windows_total, h) actual values
    point: np.ndarray  # (n_windows_total, h) point forecasts
    quantiles: dict  # probability -> (n_windows_total, h) quantile forecasts
    history: list  # training values before each window (for MASE)
    season_length: int
    intervals: dict  # coverage column -> (lower, upper) probabilities, shared by all models


def _coverage_scores(s):
    if not s.intervals:
        return {"coverage": np.full(len(s.y), np.nan)}
    scores = {}
    for name, (lower, upper) in s.intervals.items():
        inside = lower in s.quantiles and upper in s.quantiles
        scores[name] = coverage(s.y, s.quantiles[lower], s.quantiles[upper]) if inside else np.full(len(s.y), np.nan)
    return scores


def _intervals(probabilities):
    """{'coverage-80': (0.1, 0.9), ...} for the symmetric pairs among ``probabilities``."""
    intervals = {}
    for q in sorted(probabilities):
        upper = [p for p in probabilities if np.isclose(p, 1 - q)]
        if q < 0.5 and upper:
            intervals[f"coverage-{round(100 * (1 - 2 * q), 6):g}"] = (q, upper[0])
    return intervals


def _pinball_scores(s):
    if not s.quantiles:
        return {"pinball": np.full(len(s.y), np.nan)}
    return {"pinball": np.mean([pinball(s.y, s.quantiles[q], q) for q in s.quantiles], axis=0)}


# metric name -> scorer returning {column: per-window values}
_SCORERS = {
    "mae": lambda s: {"mae": mae(s.y, s.point)},
    "rmse": lambda s: {"rmse": rmse(s.y, s.point)},
    "smape": lambda s: {"smape": smape(s.y, s.point)},
    "mase": lambda s: {"mase": mase(s.y, s.point, s.history, s.season_length)},
    "coverage": _coverage_scores,
    "pinball": _pinball_scores,
}


def _model_columns(forecasts):
    """{alias: {probability: column}} for the forecast columns of a backtest frame."""
    others = [c for c in forecasts.columns if c not in _KEY_COLUMNS]
    models = {}
    for column in others:
        owner = next((a for a in models if str(column).startswith(f"{a}-q")), None)
        if owner is not None:
            q = float(str(column)[len(owner) + 2 :])
            models[owner][q] = column
        else:
            models[column] = {}
    for alias, quantiles in models.items():
        for q, column in quantiles.items():
            if quantile_column(alias, q) != column:
                raise ValueError(f"Cannot read column {column!r} as a quantile of {alias!r}.")
    return models


def evaluate(
    forecasts,
    y,
    metrics=("mase", "smape", "mae", "rmse"),
    season_length=None,
    window_size=None,
    aggregate=True,
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
        Names from ``tsrnn.evaluation.METRICS``. ``'coverage'`` gives one column per
        symmetric pair of quantiles (``coverage-80`` for q0.1/q0.9), ``'pinball'`` the
        pinball loss averaged over a model's quantiles; both are NaN for models without
        quantiles.
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

    Returns
    -------
    scores : pd.DataFrame
    """
    unknown = [m for m in metrics if m not in _SCORERS]
    if unknown or not metrics:
        raise ValueError(f"Unknown metric(s) {unknown}; choose from {sorted(_SCORERS)}.")
    missing = [c for c in _KEY_COLUMNS if c not in forecasts.columns]
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
    row_keys = pd.MultiIndex.from_arrays([np.repeat(panel.ids.to_numpy(), panel.lengths), panel.ds])
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
    models = _model_columns(forecasts)
    intervals = _intervals({q for quantile_columns in models.values() for q in quantile_columns})
    per_window = []
    for alias, quantile_columns in models.items():
        scored = _Scored(
            actual, rows(alias), {q: rows(c) for q, c in quantile_columns.items()}, history,
            season_length, intervals,
        )
        columns = {"model": alias, "unique_id": windows.get_level_values(0), "cutoff": windows.get_level_values(1)}
        for metric in metrics:
            columns.update(_SCORERS[metric](scored))
        per_window.append(pd.DataFrame(columns))
    scores = pd.concat(per_window, ignore_index=True)
    if not aggregate:
        return scores
    return scores.drop(columns=["unique_id", "cutoff"]).groupby("model", sort=False).mean()


# ---------------------------------------------------------------- compare


class Comparison(NamedTuple):
    """Result of :func:`compare`; unpacks as ``leaderboard, forecasts = compare(...)``."""

    leaderboard: pd.DataFrame
    forecasts: pd.DataFrame


def compare(
    models,
    y,
    horizon,
    n_windows=3,
    step=None,
    season_length=None,
    metrics=("mase", "smape", "mae", "rmse"),
    n_jobs=1,
    progress=False,
    X=None,
):
    """Backtest several models on the same windows and rank them.

    Parameters
    ----------
    models : list of BaseForecaster
        Models with distinct aliases (set ``alias=`` to compare two of a kind).
    y : pd.Series or pd.DataFrame
        Series, wide frame or long ``unique_id, ds, y`` frame.
    horizon : int
        Steps forecast after each cutoff.
    n_windows : int, default=3
        Number of cutoffs (expanding windows, each model refitted at each).
    step : int, default=None
        Observations between cutoffs; None means ``horizon``.
    season_length : int, default=None
        Season length of the MASE scale; None infers it from the frequency (see
        :func:`evaluate`).
    metrics : sequence of str, default=('mase', 'smape', 'mae', 'rmse')
        Names from ``tsrnn.evaluation.METRICS`` (see :func:`evaluate`).
    n_jobs : int, default=1
        joblib workers over all (model, window) fits.
    progress : bool, default=False
        Show a tqdm progress bar.
    X : pd.DataFrame, default=None
        Covariates for Series/wide input (see :func:`backtest`).

    Returns
    -------
    comparison : Comparison
        A named tuple ``(leaderboard, forecasts)``. ``leaderboard``: one row per model
        (index ``model``), the metric means over series and windows, ``fit_seconds``
        and ``predict_seconds`` (totals over all windows, measured inside the workers),
        sorted by the first metric column, ascending. ``forecasts``: the backtest frame
        ``unique_id, ds, cutoff, y`` with every model's columns.
    """
    models = list(models)
    if not models:
        raise ValueError("compare needs at least one model.")
    forecasts, timings, _ = _run(
        models, y, X, horizon, n_windows, step, True, "expanding", None, n_jobs, progress
    )
    leaderboard = evaluate(forecasts, y, metrics=metrics, season_length=season_length)
    leaderboard["fit_seconds"] = [timings[a][0] for a in leaderboard.index]
    leaderboard["predict_seconds"] = [timings[a][1] for a in leaderboard.index]
    leaderboard = leaderboard.sort_values(leaderboard.columns[0], kind="stable")
    return Comparison(leaderboard, forecasts)
