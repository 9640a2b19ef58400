"""Pandas-native forecasters: the shared contract, the classical baselines and RNNForecaster.

All forecasters take a ``pd.Series``, a wide ``pd.DataFrame`` (one column per series) or
a long ``unique_id, ds, y`` frame and give forecasts back in the same shape family; see
:class:`BaseForecaster`.

Modules: ``base`` (the contract), ``panel`` (the data layout), ``naive``, ``arima`` with
``arima_search``, ``ets`` (the baselines, on ``per_series`` and ``intervals``), ``conformal``
(calibrated prediction intervals for every forecaster), ``rnn``
with ``windows`` and ``linear`` (the neural forecaster), ``backtest`` and ``scoring``
(rolling-origin evaluation of one model), ``distributed`` (forecasts and backtests with the
series partitioned over a Dask cluster), ``search`` (``RNNForecaster.auto``) and
``registry`` (the named model line-up).

Names are loaded on first use (PEP 562), as in :mod:`tsrnn`: importing a light module
of this package (``panel``, ``registry``) does not load numba or statsmodels.
"""

import importlib

# public name -> module of this package that defines it
_LAZY = {
    "ARIMA": "arima",
    "AutoARIMA": "arima",
    "BaseForecaster": "base",
    "ConformalIntervals": "conformal",
    "ETS": "ets",
    "Naive": "naive",
    "Panel": "panel",
    "RNNForecaster": "rnn",
    "SeasonalNaive": "naive",
    "load_forecaster": "persistence",
    "quantile_column": "panel",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
