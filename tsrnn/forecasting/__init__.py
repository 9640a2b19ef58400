"""Pandas-native forecasters: the shared contract, the classical baselines and RNNForecaster.

All forecasters take a ``pd.Series``, a wide ``pd.DataFrame`` (one column per series) or
a long ``unique_id, ds, y`` frame and give forecasts back in the same shape family; see
:class:`BaseForecaster`.
"""

from ._panel import Panel, quantile_column
from .base import BaseForecaster
from .baselines import ARIMA, ETS, AutoARIMA, Naive, SeasonalNaive
from .rnn import RNNForecaster

__all__ = [
    "ARIMA",
    "ETS",
    "AutoARIMA",
    "BaseForecaster",
    "Naive",
    "Panel",
    "RNNForecaster",
    "SeasonalNaive",
    "quantile_column",
]
