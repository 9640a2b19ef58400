"""Forecast evaluation: metrics, rolling-origin backtests, model comparison, the accuracy suite and plots.

This layer compares models (:func:`compare`, :mod:`~tsrnn.evaluation.suite`) and draws
the results (:mod:`~tsrnn.evaluation.plots`). The backtest of one model and its scores
live one layer down, in :mod:`tsrnn.forecasting.backtest` and
:mod:`tsrnn.forecasting.scoring` (``RNNForecaster.auto`` needs them), and the metric
formulas in :mod:`tsrnn.metrics`; they are re-exported here, where users look for them.
"""

from ..forecasting.backtest import backtest
from ..forecasting.scoring import evaluate, rank_models
from ..metrics import METRICS, coverage, interval_score, mae, mase, msis, pinball, rmse, scaled_width, smape
from .compare import Comparison, compare
from .plots import plot_comparison, plot_forecasts, plot_leaderboard

__all__ = [
    "METRICS",
    "Comparison",
    "backtest",
    "compare",
    "coverage",
    "evaluate",
    "interval_score",
    "mae",
    "mase",
    "msis",
    "pinball",
    "plot_comparison",
    "plot_forecasts",
    "plot_leaderboard",
    "rank_models",
    "rmse",
    "scaled_width",
    "smape",
]
