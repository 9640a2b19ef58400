"""tsrnn: fast RNN, LSTM and GRU forecasting on the CPU with Numba.

Public names are loaded on first use (PEP 562), so ``import tsrnn`` stays cheap
and never compiles a kernel.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "RNNRegressor": "tsrnn.estimators",
    "LSTMRegressor": "tsrnn.estimators",
    "GRURegressor": "tsrnn.estimators",
    "RNNClassifier": "tsrnn.estimators",
    "LSTMClassifier": "tsrnn.estimators",
    "GRUClassifier": "tsrnn.estimators",
    "load_model": "tsrnn.estimators",
    "generate": "tsrnn.estimators",
    "load_forecaster": "tsrnn.forecasting",
    "RNNForecaster": "tsrnn.forecasting",
    "SeasonalNaive": "tsrnn.forecasting",
    "Naive": "tsrnn.forecasting",
    "ARIMA": "tsrnn.forecasting",
    "AutoARIMA": "tsrnn.forecasting",
    "ETS": "tsrnn.forecasting",
    "backtest": "tsrnn.evaluation",
    "evaluate": "tsrnn.evaluation",
    "compare": "tsrnn.evaluation",
    "load_dataset": "tsrnn.datasets",
    "list_datasets": "tsrnn.datasets",
    "set_num_threads": "tsrnn._config",
    "get_num_threads": "tsrnn._config",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tsrnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
