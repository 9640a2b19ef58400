"""A one-call comparison of several forecasters: the same backtest windows, one leaderboard.

:func:`compare` runs :func:`~tsrnn.forecasting.backtest.backtest_models` and scores the
forecasts with :func:`~tsrnn.forecasting.scoring.evaluate`; ``n_jobs`` spreads the fits
over joblib workers (or a Dask cluster, see :mod:`tsrnn.forecasting.backtest`).
"""

from typing import NamedTuple

import pandas as pd

from ..forecasting.backtest import backtest_models
from ..forecasting.scoring import evaluate

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
        ``coverage-<level>`` and ``interval_score-<level>`` columns.

    Returns
    -------
    comparison : Comparison
        A named tuple ``(leaderboard, forecasts)``. ``leaderboard``: one row per model
        (index ``model``), the metric means over series and windows, ``compile_seconds``
        (the neural models' kernels compiled or loaded once before timing, see
        :func:`~tsrnn.forecasting.backtest.backtest_models`), ``fit_seconds``
        and ``predict_seconds`` (totals over all windows, measured inside the workers),
        sorted by the first metric column, ascending. ``forecasts``: the backtest frame
        ``unique_id, ds, cutoff, y`` with every model's columns.
    """
    models = list(models)
    if not models:
        raise ValueError("compare needs at least one model.")
    forecasts, seconds = backtest_models(
        models, y, horizon, n_windows, step, n_jobs=n_jobs, X=X, progress=progress, level=level
    )
    leaderboard = evaluate(forecasts, y, metrics=metrics, season_length=season_length, level=level).join(seconds)
    leaderboard = leaderboard.sort_values(leaderboard.columns[0], kind="stable")
    return Comparison(leaderboard, forecasts)
