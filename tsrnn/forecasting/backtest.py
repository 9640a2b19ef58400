"""Rolling-origin backtests (time-series cross-validation) of forecasters.

:func:`backtest` refits a forecaster at several cutoffs and collects its forecasts of
the ``horizon`` steps after each cutoff in one tidy long frame (statsforecast's
``cross_validation``); :func:`backtest_models` does it for several models on the same
windows and also reports their fit and predict times. Scoring the frame is
:func:`tsrnn.forecasting.scoring.evaluate`.

Windows are counted back from the end of each series: the last window's forecasts end
with the series, and each earlier window starts ``step`` observations before the next.
A model fitted at a cutoff sees the series up to that cutoff only; covariates of the
forecast steps reach it only through ``X_future``.

Two ways to run in parallel:

- ``n_jobs`` joblib workers, one (model, window) fit per task on the whole panel, so
  ``with joblib.parallel_config(backend="dask"): backtest(..., n_jobs=-1)`` also runs them
  on a Dask cluster. Every task gets the training rows of all series up to its cutoff.
- ``backend="dask"``: the series are partitioned by ``unique_id`` over the workers of the
  connected ``dask.distributed.Client`` and each task backtests its own series only
  (:mod:`tsrnn.forecasting.distributed`): the way to scale to many series.
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

from .._config import using_threads
from .panel import to_panel

__all__ = ["BACKTEST_COLUMNS", "BacktestRun", "backtest", "backtest_models"]

#: Key columns of a backtest frame; the forecast columns of each model follow them.
BACKTEST_COLUMNS = ("unique_id", "ds", "cutoff", "y")


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
        windows.append(_Window(train, test, panel.input_ds[panel.indptr[:-1] + end - 1]))
    return windows, horizon


# ---------------------------------------------------------------- running


def _fit_predict(model, train, X_future, horizon, fitted, level=None):
    """One task: fit (or update a fitted copy) on ``train``, forecast ``horizon`` steps."""
    start = time.perf_counter()
    if fitted is None:
        model.fit(train)
    else:
        model = copy.deepcopy(fitted)
        model.update(train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    forecast = model.predict(horizon, X_future, level)
    return forecast, fit_seconds, time.perf_counter() - start


def _fit_predict_one_thread(model, train, X_future, horizon, fitted, level=None):
    """:func:`_fit_predict` with one numba thread: the task shares the machine with
    the other joblib workers, and workers x numba threads would oversubscribe the cores."""
    with using_threads(1):
        return _fit_predict(model, train, X_future, horizon, fitted, level)


def _compile_seconds(model):
    """Compile (or load from numba's cache) the CPU kernels ``model`` will run; the seconds it took.

    Paid here, before any fit is timed, so that a leaderboard's ``fit_seconds`` measure
    fitting rather than a one-off compile (17-27 s cold against 0.2 s warm for a default
    LSTM). Models are recognised by their public ``cell`` and ``dtype`` parameters (the
    neural forecasters); others, and models on another device, compile nothing.
    """
    params = model.get_params(deep=False)
    cell, dtype = params.get("cell"), params.get("dtype")
    if not isinstance(cell, str) or dtype is None or params.get("device", "cpu") != "cpu":
        return 0.0
    from ..kernels.warmup import warmup  # only when a neural model is backtested

    start = time.perf_counter()
    warmup(cells=(cell,), dtypes=(dtype,))
    return time.perf_counter() - start


class BacktestRun(NamedTuple):
    """Result of :func:`backtest_models`; unpacks as ``forecasts, seconds = backtest_models(...)``."""

    forecasts: pd.DataFrame
    seconds: pd.DataFrame


def backtest_models(
    models,
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
    level=None,
    id_col=None,
    time_col=None,
    target_col=None,
    backend=None,
):
    """Backtest several models on the same windows; see :func:`backtest` for the parameters.

    Parameters
    ----------
    models : list of BaseForecaster
        Models with distinct aliases (set ``alias=`` to run two of a kind).
    y, horizon, n_windows, step, refit, strategy, window_size, n_jobs, X, progress, level
        As in :func:`backtest`; ``n_jobs`` spreads all (model, window) fits.
    id_col, time_col, target_col : str or None, default=None
        As in :func:`backtest`.
    backend : {'dask'} or None, default=None
        As in :func:`backtest`.

    Returns
    -------
    run : BacktestRun
        ``forecasts``: the frame of :func:`backtest` with every model's columns, in the
        order of ``models``. ``seconds``: one row per model (index ``model``) with
        ``compile_seconds`` (compiling or loading the model's kernels, once, before any
        timed fit; 0 for models without kernels), then ``fit_seconds`` and
        ``predict_seconds``, totals over all windows measured inside the workers. With
        ``n_jobs > 1`` the workers load the kernels from numba's on-disk cache (written by
        the warm-up when ``TSRNN_CACHE`` is on), which stays in their ``fit_seconds``.
        With ``backend='dask'``, ``compile_seconds`` is the longest of the workers' and
        the other two are sums over the partitions.
    """
    panel = to_panel(y, X, True, id_col, time_col, target_col)
    if backend == "dask":
        # imported here: distributed builds on this module (and dask stays optional)
        from .distributed import backtest_partitioned

        return backtest_partitioned(
            models, panel, horizon, n_windows, step, refit, strategy, window_size, n_jobs, progress, level
        )
    if backend is not None:
        raise ValueError(f"backend must be None (joblib) or 'dask'. Got {backend!r} instead.")
    return _backtest_panel(
        models, panel, horizon, n_windows, step, refit, strategy, window_size, n_jobs, progress, level
    )


def _check_aliases(models, columns=()):
    """The models' aliases, once each is known to name forecast columns without a clash
    (``columns``: the data's own id, time and target names, which the frame also holds)."""
    for model in models:
        if not all(callable(getattr(model, name, None)) for name in ("fit", "predict")) or not hasattr(model, "alias"):
            raise TypeError(
                f"Models must be tsrnn forecasters (with fit, predict and alias); got {type(model).__name__}."
            )
    aliases = [m.alias for m in models]
    duplicated = sorted({a for a in aliases if aliases.count(a) > 1})
    if duplicated:
        raise ValueError(f"Models need distinct aliases; {duplicated} appear more than once (set alias=...).")
    reserved = sorted(set(aliases) & {*BACKTEST_COLUMNS, *columns, "index"})
    if reserved:
        raise ValueError(f"Alias(es) {reserved} would replace a column of the backtest frame; set another alias=.")
    # a model's columns are its alias and alias-q0.1, alias-lo-80, ...: no alias may start another's
    clashes = sorted((a, b) for a in aliases for b in aliases if a != b and b.startswith(f"{a}-"))
    if clashes:
        a, b = clashes[0]
        raise ValueError(f"Alias {b!r} reads as a column of model {a!r} ({a}-...); give one of them another alias=.")
    return aliases


def _backtest_panel(
    models, panel, horizon, n_windows, step, refit, strategy, window_size, n_jobs, progress, level, fitted=None
):
    """:func:`backtest_models` on a :class:`~tsrnn.forecasting.panel.Panel`.

    ``fitted`` maps a model's position to a function of the first window's training
    frame that returns the model already fitted (``refit=False`` only: a global model
    fitted elsewhere on all series, attached to this panel's); the others are fitted here.
    """
    windows, horizon = _make_windows(panel, horizon, n_windows, step, strategy, window_size)
    long = panel.to_long()
    exog_columns = ["unique_id", "ds", *panel.exog_names] if panel.exog is not None else None
    aliases = _check_aliases(models, panel.columns)

    def inputs(window):
        """Training rows up to the cutoff; covariates (no y) of the forecast steps."""
        X_future = long.loc[window.test, exog_columns].reset_index(drop=True) if exog_columns else None
        return long.loc[window.train].reset_index(drop=True), X_future

    window_inputs = [inputs(window) for window in windows]  # shared by all models
    timings = {alias: [_compile_seconds(model), 0.0, 0.0] for alias, model in zip(aliases, models)}
    tasks, attach, fitted = [], fitted or {}, {}
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
            fitted[i] = attach[i](window_inputs[0][0]) if i in attach else clone(model).fit(window_inputs[0][0])
            timings[aliases[i]][1] += time.perf_counter() - start
        for k, (train, X_future) in enumerate(window_inputs):
            tasks.append((i, k, delayed(run_task)(clone(model), train, X_future, horizon, fitted.get(i), level)))

    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    results = parallel(task for _, _, task in tasks)
    from tqdm.auto import tqdm  # imported here: only a running backtest needs it, not importing this module

    results = list(tqdm(results, total=len(tasks), disable=not progress, desc="backtest"))

    series_of_row = np.repeat(np.arange(panel.n_series), panel.lengths)
    frame = pd.concat(
        [long.loc[w.test, ["unique_id", "ds", "y"]].assign(cutoff=w.cutoffs[series_of_row[w.test]]) for w in windows],
        ignore_index=True,
    )[list(BACKTEST_COLUMNS)]
    per_model = {alias: [] for alias in aliases}
    for (i, k, _), (forecast, fit_seconds, predict_seconds) in zip(tasks, results):
        timings[aliases[i]][1] += fit_seconds
        timings[aliases[i]][2] += predict_seconds
        per_model[aliases[i]].append(forecast.assign(cutoff=_cutoff_column(forecast, windows[k], panel)))
    for alias in aliases:
        forecasts = pd.concat(per_model[alias], ignore_index=True)
        merged = frame.merge(forecasts, on=["unique_id", "ds", "cutoff"], how="left", validate="one_to_one")
        if merged[alias].isna().any():
            raise RuntimeError(f"{alias} returned forecasts that do not line up with the test windows.")
        frame = merged
    seconds = pd.DataFrame.from_dict(
        timings, orient="index", columns=["compile_seconds", "fit_seconds", "predict_seconds"]
    )
    seconds.index.name = "model"
    # the models ran on the standard layout; the result speaks the user's column names
    frame = frame.rename(columns=dict(zip(("unique_id", "ds", "y"), panel.columns)))
    return BacktestRun(frame, seconds)


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
    level=None,
    id_col=None,
    time_col=None,
    target_col=None,
    backend=None,
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
        With ``backend='dask'``: the number of partitions of the series when > 1; 1 (or
        -1) means a few per worker thread of the cluster (``distributed.PARTITIONS_PER_THREAD``).
    X : pd.DataFrame, default=None
        Covariates on the index of ``y`` (Series/wide input; long frames carry them as
        columns). At each cutoff the model gets the past rows with the training data and
        the rows of the forecast steps as ``X_future``.
    progress : bool, default=False
        Show a tqdm progress bar over the fits.
    level : float, list of float or None, default=None
        Prediction interval levels in percent: each forecast also gets the model's
        ``<alias>-lo-<level>``/``<alias>-hi-<level>`` columns (``predict(level=...)``).
    id_col, time_col, target_col : str or None, default=None
        A long frame's series id, time and target column names, None meaning
        ``unique_id``, ``ds`` and ``y`` (see ``BaseForecaster.fit``); the returned frame
        uses them in place of ``unique_id``, ``ds`` and ``y``.
    backend : {'dask'} or None, default=None
        None runs the fits through joblib (``n_jobs``, under whatever
        ``joblib.parallel_config`` is active). 'dask' partitions the series by
        ``unique_id`` over the connected ``dask.distributed.Client``
        (:func:`tsrnn.forecasting.distributed.backtest_partitioned`): each task gets
        its own series' rows and backtests them, and the result equals the serial one.
        Models whose series are fitted independently (the baselines) take any
        ``refit``; a global model (RNNForecaster) needs ``refit=False``: it is fitted
        once on all series here, and its weights are sent once to each worker. Needs
        ``pip install "tsrnn[dask]"``.

    Returns
    -------
    forecasts : pd.DataFrame
        Long frame with columns ``unique_id, ds, cutoff, y, <alias>`` plus one
        ``<alias>-q<q>`` column per quantile and the bounds of each ``level``, one row per series, cutoff and forecast
        step. ``cutoff`` is the last timestamp the model saw (a period for period
        input). Series input uses the Series name (or ``'y'``) as ``unique_id``.
    """
    return backtest_models(
        [model],
        y,
        horizon,
        n_windows,
        step,
        refit,
        strategy,
        window_size,
        n_jobs,
        X,
        progress,
        level,
        id_col,
        time_col,
        target_col,
        backend,
    ).forecasts
