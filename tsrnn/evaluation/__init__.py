"""Forecast evaluation: metrics, rolling-origin backtests, model comparison, the accuracy suite and plots.

This layer compares models (:func:`compare`, :mod:`~tsrnn.evaluation.suite`) and draws
the results (:mod:`~tsrnn.evaluation.plots`). The backtest of one model and its scores
live one layer down, in :mod:`tsrnn.forecasting.backtest` and
:mod:`tsrnn.forecasting.scoring` (``RNNForecaster.auto`` needs them), and the metric
formulas in :mod:`tsrnn.metrics`; they are re-exported here, where users look for them.
"""

from ..forecasting.backtest import backtest
from ..forecasting.scoring import evaluate
from ..metrics import METRICS, coverage, mae, mase, pinball, rmse, smape
from .compare import Comparison, compare
from .plots import plot_comparison, plot_forecasts, plot_leaderboard

__all__ = [
    "METRICS",
    "Comparison",
    "backtest",
    "compare",
    "coverage",
    "evaluate",
    "mae",
    "mase",
    "pinball",
    "plot_comparison",
    "plot_forecasts",
    "plot_leaderboard",
    "rmse",
    "smape",
]
