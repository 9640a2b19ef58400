"""A one-call comparison of several forecasters: the same backtest windows, one leaderboard.

:func:`compare` runs :func:`~tsrnn.forecasting.backtest.backtest_models` and scores the
forecasts with :func:`~tsrnn.forecasting.scoring.evaluate`; ``n_jobs`` spreads the fits
over joblib workers (or a Dask cluster, see :mod:`tsrnn.forecasting.backtest`).
"""

from typing import NamedTuple

import pandas as pd

from ..forecasting.backtest import backtest_models
from ..forecasting.scoring import evaluate, rank_models

__all__ = ["Comparison", "compare"]


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
    level=None,
    id_col=None,
    time_col=None,
    target_col=None,
    backend=None,
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
        :func:`~tsrnn.forecasting.scoring.evaluate`).
    metrics : sequence of str, default=('mase', 'smape', 'mae', 'rmse')
        Names from ``tsrnn.metrics.METRICS`` (see :func:`~tsrnn.forecasting.scoring.evaluate`).
    n_jobs : int, default=1
        joblib workers over all (model, window) fits.
    progress : bool, default=False
        Show a tqdm progress bar.
    X : pd.DataFrame, default=None
        Covariates for Series/wide input (see :func:`~tsrnn.forecasting.backtest.backtest`).
    level : float, list of float or None, default=None
        Prediction interval levels in percent (e.g. ``[80, 95]``): every model forecasts
        its intervals (``predict(level=...)``) and the leaderboard gains
        ``coverage-<level>``, ``interval_score-<level>`` and ``msis-<level>`` columns.
    id_col, time_col, target_col : str or None, default=None
        A long frame's series id, time and target column names (None: ``unique_id``,
        ``ds``, ``y``), as in ``BaseForecaster.fit``; ``forecasts`` uses them too.
    backend : {'dask'} or None, default=None
        'dask' partitions the series over the connected ``dask.distributed.Client``
        (see :func:`~tsrnn.forecasting.backtest.backtest`); None runs the fits through
        joblib (``n_jobs``).

    Returns
    -------
    comparison : Comparison
        A named tuple ``(leaderboard, forecasts)``. ``leaderboard``: one row per model
        (index ``model``), the metric means over series and windows, ``compile_seconds``
        (the neural models' kernels compiled or loaded once before timing, see
        :func:`~tsrnn.forecasting.backtest.backtest_models`), ``fit_seconds``
        and ``predict_seconds`` (totals over all windows, measured inside the workers),
        ranked by :func:`~tsrnn.forecasting.scoring.rank_models`: ascending on the first
        lower-is-better metric column, ties broken by the next. ``forecasts``: the
        backtest frame ``unique_id, ds, cutoff, y`` with every model's columns.

    Notes
    -----
    NaN and inf never reorder the ranking (the rule is in :mod:`tsrnn.forecasting.scoring`):
    windows where a scaled metric (MASE, MSIS) is undefined for every model, because the
    series is constant up to the cutoff, are left out of it for all models alike (an
    ``UndefinedMetricWarning`` says how many; ``leaderboard.attrs["undefined_windows"]``
    counts them), and a model whose own score is NaN or infinite on some window keeps that
    in its mean and ranks after every model with a finite one.
    """
    models = list(models)
    if not models:
        raise ValueError("compare needs at least one model.")
    names = {"unique_id": id_col, "ds": time_col, "y": target_col}
    own = {ours: theirs for ours, theirs in names.items() if theirs is not None and theirs != ours}
    if own:  # the backtest keeps the frame's names; scoring reads ours
        if not isinstance(y, pd.DataFrame):
            raise ValueError(f"id_col, time_col and target_col name a long frame's columns; y is a {type(y).__name__}.")
        missing = [theirs for theirs in own.values() if theirs not in y.columns]
        if missing:
            raise ValueError(f"y has no column(s) {missing} (got {list(y.columns)}).")
        taken = [ours for ours in own if ours in y.columns and ours not in own.values()]
        if taken:
            raise ValueError(f"y already has column(s) {taken}, which its own id/time/target columns would replace.")
        clashes = sorted({getattr(m, "alias", None) for m in models} & set(own.values()))
        if clashes:
            raise ValueError(f"Alias(es) {clashes} would replace a column of y; set another alias=.")
        y = y.rename(columns={theirs: ours for ours, theirs in own.items()})
    forecasts, seconds = backtest_models(
        models, y, horizon, n_windows, step, n_jobs=n_jobs, X=X, progress=progress, level=level, backend=backend
    )
    scores = evaluate(forecasts, y, metrics=metrics, season_length=season_length, level=level)
    leaderboard = scores.join(seconds)
    leaderboard.attrs = dict(scores.attrs)
    return Comparison(rank_models(leaderboard), forecasts.rename(columns=own))
