"""Forecasts and backtests on a Dask cluster, the series partitioned by ``unique_id``.

The panel is cut into partitions of whole series (contiguous, about equally many
observations each) and every task receives its own partition only: its rows, its
covariates and the part of the fitted model that belongs to its series. What is shared
by all series (a global network's weights, the linear stage, the scaling of the
covariates) is sent once to each worker (``client.scatter(..., broadcast=True)``),
however many partitions it then serves. Results equal the serial ones exactly: the
forecast of a series depends only on its own rows and on the shared state.

- :func:`forecast`: fit and forecast a model whose series are fitted independently
  (``Naive``, ``SeasonalNaive``, ``ARIMA``, ``AutoARIMA``, ``ETS``) partition by
  partition; equals ``model.forecast(y, h)``.
- :func:`predict`: forecasts of a fitted model (a global ``RNNForecaster`` too) for the
  series it was fitted on; equals ``model.predict(h)``.
- :func:`backtest_partitioned`: what ``backtest(..., backend='dask')`` and
  ``backtest_models(..., backend='dask')`` run.

How a model splits (the hook attributes of :class:`~tsrnn.forecasting.base.BaseForecaster`):
its ``_series_attributes`` (and the base class' ``calibration_``) are indexed by series
and travel with their partition; the training panel ``panel_`` is replaced by the
partition's; every other fitted attribute is the global state. ``_independent_series``
says whether fitting a partition on its own gives its series the model they get from a
fit on all series.

Intervals: ``level`` is accepted where each series' interval is its own model's
(``_model_intervals`` without ``prediction_intervals``: ARIMA, AutoARIMA, ETS); conformal
intervals may pool residuals over all series, so a partition could not reproduce them.

All functions run on the ``dask.distributed`` Client of the session
(``distributed.get_client()``), an optional dependency: ``pip install "tsrnn[dask]"``.
Each task runs with one numba thread, as joblib workers do, since the cluster's
workers already share the cores.

>>> from distributed import Client, LocalCluster          # doctest: +SKIP
>>> with LocalCluster(n_workers=2) as cluster, Client(cluster):  # doctest: +SKIP
...     out = forecast(AutoARIMA(season_length=7), df, h=7)
...     cv = backtest(ETS(), df, horizon=7, n_windows=3, backend="dask")
"""

import copy
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.base import clone
from tqdm.auto import tqdm

from .._config import using_threads
from .._validation import validate_params
from .backtest import BacktestRun, _backtest_panel, _check_aliases, _make_windows
from .conformal import Calibration, check_levels
from .panel import format_forecast, future_exog

__all__ = [
    "INSTALL_HINT",
    "PARTITIONS_PER_THREAD",
    "backtest_partitioned",
    "forecast",
    "get_client",
    "partition_bounds",
    "predict",
    "series_state",
    "split_model",
    "take_series",
]

#: How to install the optional dependency, named by every error about it.
INSTALL_HINT = 'pip install "tsrnn[dask]"'


# ---------------------------------------------------------------- the cluster


def get_client():
    """The connected ``dask.distributed`` Client, or an error saying how to get one.

    Returns
    -------
    client : distributed.Client

    Raises
    ------
    ImportError
        If ``distributed`` is not installed (names :data:`INSTALL_HINT`).
    ValueError
        If no Client is connected.
    """
    try:
        import distributed
    except ImportError as error:
        raise ImportError(
            f"Running on a Dask cluster needs dask.distributed, an optional dependency of tsrnn: {INSTALL_HINT}"
        ) from error
    try:
        return distributed.get_client()
    except ValueError as error:
        raise ValueError(
            "Running on a Dask cluster needs a connected dask.distributed Client; create one first, "
            "e.g. distributed.Client(distributed.LocalCluster()) or Client('tcp://scheduler:8786')."
        ) from error


#: Partitions per worker thread when none are asked for: a few, so that the scheduler can
#: even out series that take longer (an AutoARIMA search varies several-fold from series to
#: series); the global state goes to each worker once however many there are.
PARTITIONS_PER_THREAD = 4


def _n_partitions(client, n_partitions, n_series):
    """Partitions to cut: ``n_partitions``, or a few per worker thread (None); at most one per series."""
    if n_partitions is None:
        n_partitions = PARTITIONS_PER_THREAD * max(1, sum(client.nthreads().values()))
    return min(int(n_partitions), n_series)


# ---------------------------------------------------------------- partitions


def partition_bounds(indptr, n_partitions):
    """Cut a panel into contiguous groups of whole series with about equally many observations.

    Parameters
    ----------
    indptr : ndarray of shape (n_series + 1,)
        Offsets of the series in the panel's buffer (``Panel.indptr``).
    n_partitions : int
        Groups wanted (fewer come back when a series is longer than a group's share).

    Returns
    -------
    bounds : ndarray of shape (n_groups + 1,)
        Group ``p`` holds series ``bounds[p]:bounds[p + 1]``; ``bounds[0] == 0`` and
        ``bounds[-1] == n_series``.
    """
    n_series = len(indptr) - 1
    n = max(1, min(int(n_partitions), n_series))
    # the first series starting at or after each equal share of the observations
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], n + 1)[1:-1])
    return np.unique(np.concatenate([[0], cuts, [n_series]])).astype(np.int64)


def take_series(panel, start, stop):
    """The panel of series ``start:stop`` only (views of its buffers; pickles as its rows only).

    Parameters
    ----------
    panel : Panel
    start, stop : int
        Range of series positions.

    Returns
    -------
    part : Panel
        Same kind, frequency and column names, holding those series.
    """
    lo, hi = int(panel.indptr[start]), int(panel.indptr[stop])
    return replace(
        panel,
        values=panel.values[lo:hi],
        indptr=panel.indptr[start : stop + 1] - lo,
        ds=panel.ds[lo:hi],
        ids=panel.ids[start:stop],
        exog=None if panel.exog is None else panel.exog[lo:hi],
    )


# ---------------------------------------------------------------- splitting a fitted model


def _series_names(model):
    # calibration_ is the base class' own (refit residuals, per series)
    return ("calibration_", *model._series_attributes)


def _take_state(value, start, stop):
    if value is None:
        return None
    if isinstance(value, Calibration):
        return value.take(start, stop)  # every per-series field (quantile errors too)
    return value[start:stop]


def split_model(model):
    """The global part of a fitted model: a shallow copy without its data and per-series state.

    Parameters
    ----------
    model : BaseForecaster
        A fitted forecaster.

    Returns
    -------
    shell : BaseForecaster
        ``model`` without ``panel_`` and its ``_series_attributes``: what every worker
        needs once.
    """
    shell = copy.copy(model)
    for name in ("panel_", *_series_names(model)):
        shell.__dict__.pop(name, None)
    return shell


def series_state(model, start, stop):
    """The per-series fitted attributes of series ``start:stop`` (what travels with a partition).

    Parameters
    ----------
    model : BaseForecaster
        A fitted forecaster.
    start, stop : int

    Returns
    -------
    state : dict
        Attribute name -> its slice for those series.
    """
    return {
        name: _take_state(getattr(model, name), start, stop) for name in _series_names(model) if hasattr(model, name)
    }


def _assemble(shell, state, panel):
    """A working model for one partition: the shared state, its series' state, its panel."""
    model = copy.copy(shell)  # shallow: the shared arrays and networks are not copied
    model.__dict__.update(state)
    model.panel_ = panel
    return model


@dataclass
class _Partition:
    """What one task receives: its series' rows, their fitted state and future covariates."""

    panel: object
    state: dict
    future_exog: np.ndarray | None = None


def _check_intervals(model, levels):
    if levels and not (getattr(model, "prediction_intervals", None) is None and model._model_intervals):
        raise ValueError(
            f"{model.alias}'s intervals are conformal, calibrated on residuals that may be pooled over all "
            "series, so a partition cannot reproduce them; partitioned runs take level= only for models with "
            "their own per-series intervals (ARIMA, AutoARIMA, ETS). Predict the intervals serially."
        )


def _outputs(model, h, exog, levels):
    """The checked arrays ``predict`` formats: point, quantiles (or None), bounds (or None)."""
    point, quantiles = model._checked_output(model._predict_panel(h, exog), h)
    bounds = None
    if levels:
        bounds = model._checked_bounds(model._interval_bounds(h, point, exog, levels), h, levels)
    return point, quantiles, bounds


def _predict_task(shell, part, h, levels):
    with using_threads(1):
        return _outputs(_assemble(shell, part.state, part.panel), h, part.future_exog, levels)


def _forecast_task(model, part, h, levels):
    with using_threads(1):
        model = clone(model)
        validate_params(model)
        # BaseForecaster.fit's steps on the partition's panel (its input was checked whole
        # on the client; no refit calibration: conformal level= is refused above)
        model._fit_panel(part.panel)
        model.panel_, model.calibration_ = part.panel, None
        return _outputs(model, h, part.future_exog, levels)


def _run_partitions(client, task, shared, parts, args, progress, desc):
    """Ship ``shared`` once per worker and each partition to one worker; the results in order."""
    from distributed import as_completed

    shared_future = client.scatter(shared, broadcast=True, hash=False) if shared is not None else None
    part_futures = client.scatter(parts, hash=False)
    futures = [client.submit(task, shared_future, part, *args, pure=False) for part in part_futures]
    if progress:
        for _ in tqdm(as_completed(futures), total=len(futures), desc=desc):
            pass
    return client.gather(futures)


def _formatted(model, panel, results, h, levels):
    point = np.concatenate([r[0] for r in results])
    quantiles = None if results[0][1] is None else np.concatenate([r[1] for r in results])
    bounds = None if results[0][2] is None else np.concatenate([r[2] for r in results])
    return format_forecast(panel, point, quantiles, model.alias, model._quantiles(), bounds, levels)


def _cut(client, panel, n_partitions, state_of, future_exog_array):
    bounds = partition_bounds(panel.indptr, _n_partitions(client, n_partitions, panel.n_series))
    return [
        _Partition(
            take_series(panel, a, b),
            state_of(a, b),
            None if future_exog_array is None else future_exog_array[a:b],
        )
        for a, b in zip(bounds[:-1], bounds[1:])
    ]


# ---------------------------------------------------------------- public functions


def predict(model, h=None, X_future=None, level=None, n_partitions=None, progress=False):
    """``model.predict(h, X_future, level)`` computed on the cluster, partition by partition.

    The model's global state (for an RNNForecaster: the networks, the linear stage, the
    covariate scaling) is sent once to each worker; each task gets its series' rows of
    ``panel_`` (their whole history, although a model may read only its end), their
    per-series state (an RNNForecaster's scaling) and their future covariates.

    Parameters
    ----------
    model : BaseForecaster
        A fitted forecaster, global (RNNForecaster) or per series.
    h, X_future, level
        As in :meth:`~tsrnn.forecasting.base.BaseForecaster.predict`; ``level`` only for
        models with per-series model intervals (see the module docstring).
    n_partitions : int or None, default=None
        Tasks; None means :data:`PARTITIONS_PER_THREAD` per worker thread of the cluster.
    progress : bool, default=False
        Show a tqdm progress bar over the partitions.

    Returns
    -------
    forecast : pd.Series or pd.DataFrame
        Equal to ``model.predict(h, X_future, level)``.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "panel_")
    client = get_client()
    h = model._resolve_horizon(h)
    levels = check_levels(level)
    _check_intervals(model, levels)
    panel = model.panel_
    names = model._future_exog_names()
    exog = future_exog(panel, X_future, h, names) if names else None
    parts = _cut(client, panel, n_partitions, lambda a, b: series_state(model, a, b), exog)
    results = _run_partitions(client, _predict_task, split_model(model), parts, (h, levels), progress, "predict")
    return _formatted(model, panel, results, h, levels)


def forecast(
    model,
    y,
    h=None,
    X=None,
    X_future=None,
    level=None,
    n_partitions=None,
    progress=False,
    id_col=None,
    time_col=None,
    target_col=None,
):
    """``model.forecast(y, h, ...)`` fitted and forecast on the cluster, partition by partition.

    For models whose series are fitted independently (``_independent_series``: the
    per-series baselines); each task fits a clone on its own series. The fitted models
    stay on the workers (only forecasts come back), as statsforecast's ``forecast``.

    Parameters
    ----------
    model : BaseForecaster
        An unfitted (or fitted: it is cloned) per-series forecaster.
    y, h, X, X_future, level, id_col, time_col, target_col
        As in :meth:`~tsrnn.forecasting.base.BaseForecaster.forecast`.
    n_partitions : int or None, default=None
        Tasks; None means :data:`PARTITIONS_PER_THREAD` per worker thread of the cluster.
    progress : bool, default=False
        Show a tqdm progress bar over the partitions.

    Returns
    -------
    forecast : pd.Series or pd.DataFrame
        Equal to ``clone(model).forecast(y, h, X, X_future, level, ...)``.

    Raises
    ------
    ValueError
        For a global model (fit it, then use :func:`predict`) or conformal intervals.
    """
    if not model._independent_series:
        raise ValueError(
            f"{model.alias} learns from all series together, so fitting it partition by partition would "
            "give another model; fit it once, then forecast on the cluster with tsrnn.forecasting."
            "distributed.predict(model)."
        )
    client = get_client()
    model = clone(model)
    validate_params(model)
    levels = check_levels(level)
    _check_intervals(model, levels)
    h = model._resolve_horizon(h)
    panel = model._to_checked_panel(y, X, (id_col, time_col, target_col))
    # the future covariates are cut with the rows: the model's names as a fit would set them
    names = list(panel.exog_names) if panel.exog is not None else []
    exog = future_exog(panel, X_future, h, names) if names else None
    parts = _cut(client, panel, n_partitions, lambda a, b: {}, exog)
    results = _run_partitions(client, _forecast_task, model, parts, (h, levels), progress, "forecast")
    return _formatted(model, panel, results, h, levels)


def _backtest_task(shared, part, horizon, n_windows, step, refit, strategy, window_size, level):
    """The serial backtest of one partition.

    ``shared`` is ``(models, shells)``: the models as given, and the global parts of
    those fitted on all series (``refit=False``), attached here to the partition's
    first training window as the serial backtest's own fit would be.
    """
    models, shells = shared
    fitted = {
        i: (lambda train, i=i: _assemble(shells[i], part.state[i], models[i]._to_checked_panel(train, None)))
        for i in shells
    }
    with using_threads(1):
        return _backtest_panel(
            models, part.panel, horizon, n_windows, step, refit, strategy, window_size, 1, False, level, fitted
        )


def backtest_partitioned(
    models, panel, horizon, n_windows, step, refit, strategy, window_size, n_jobs, progress, level
):
    """:func:`~tsrnn.forecasting.backtest.backtest_models` with the series partitioned over a Dask cluster.

    Every task backtests its partition's series through the serial code; their frames
    are put back in the serial order, so the result equals the serial one. A model with
    ``_independent_series`` is fitted (and refitted) inside the tasks. A global model
    needs ``refit=False``: it is fitted here on the first window's training rows of
    all series, as the serial backtest does, its global state is sent once to each
    worker and each partition conditions it on its series (``update``) at every cutoff.

    Parameters
    ----------
    models : list of BaseForecaster
    panel : Panel
        The data, from :func:`~tsrnn.forecasting.panel.to_panel`.
    horizon, n_windows, step, refit, strategy, window_size, progress, level
        As in :func:`~tsrnn.forecasting.backtest.backtest`.
    n_jobs : int
        Partitions when > 1; else :data:`PARTITIONS_PER_THREAD` per worker thread of the cluster.

    Returns
    -------
    run : BacktestRun
        As :func:`~tsrnn.forecasting.backtest.backtest_models`; ``compile_seconds`` is the
        longest of the partitions', ``fit_seconds`` and ``predict_seconds`` sums over them
        (plus the fit of each global model here).
    """
    client = get_client()
    aliases = _check_aliases(models)
    # checked on the whole panel: the serial errors, before anything is sent
    windows, horizon = _make_windows(panel, horizon, n_windows, step, strategy, window_size)
    levels = check_levels(level)
    for model in models:
        _check_intervals(model, levels)
    global_models = [i for i, m in enumerate(models) if not m._independent_series]
    if global_models and refit:
        names = [aliases[i] for i in global_models]
        raise ValueError(
            f"{names} learn from all series together: refitting them partition by partition would give other "
            "models. Use refit=False (one global fit, then every partition conditions it on its series), or "
            "run the whole-panel fits through joblib: with joblib.parallel_config(backend='dask'): "
            "backtest(..., n_jobs=-1)."
        )
    shells, full, seconds_here = {}, {}, {}
    if global_models:
        long = panel.to_long()
        train = long.loc[windows[0].train].reset_index(drop=True)
        for i in global_models:
            if not getattr(models[i], "_supports_update", False):
                raise ValueError(
                    f"refit=False needs a model that can be conditioned on new data without refitting "
                    f"(update()); {aliases[i]} cannot. Use refit=True."
                )
            start = time.perf_counter()
            full[i] = clone(models[i]).fit(train)
            seconds_here[aliases[i]] = time.perf_counter() - start
            shells[i] = split_model(full[i])
    n = None if n_jobs is None or n_jobs <= 1 else n_jobs
    parts = _cut(client, panel, n, lambda a, b: {i: series_state(full[i], a, b) for i in global_models}, None)
    args = (horizon, n_windows, step, refit, strategy, window_size, level)
    runs = _run_partitions(client, _backtest_task, (models, shells), parts, args, progress, "backtest")

    # each partition's frame is window-major, then series, then step (horizon rows per
    # series and window): sort on (window, series) to the serial order
    n_windows = len(windows)
    keys = []
    for part in parts:
        first = panel.ids.get_loc(part.panel.ids[0])
        series = first + np.arange(part.panel.n_series)
        keys.append((np.arange(n_windows)[:, None] * panel.n_series + series).repeat(horizon))
    frame = pd.concat([run.forecasts for run in runs], ignore_index=True)
    order = np.argsort(np.concatenate(keys), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    timings = pd.concat([run.seconds for run in runs])
    seconds = timings.groupby(level=0, sort=False).agg(
        {"compile_seconds": "max", "fit_seconds": "sum", "predict_seconds": "sum"}
    )
    seconds = seconds.reindex(aliases)
    seconds.index.name = "model"
    for alias, value in seconds_here.items():
        seconds.loc[alias, "fit_seconds"] += value
    return BacktestRun(frame, seconds)
