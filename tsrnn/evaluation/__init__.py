"""Forecast evaluation: metrics, rolling-origin backtests, model comparison and plots."""

from .backtest import Comparison, backtest, compare, evaluate
from .metrics import METRICS, coverage, mae, mase, pinball, rmse, smape
from .plots import plot_forecasts, plot_leaderboard

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
    "plot_forecasts",
    "plot_leaderboard",
    "rmse",
    "smape",
]
