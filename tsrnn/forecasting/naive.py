"""The naive baselines: repeat the last season (:class:`SeasonalNaive`) or the last value (:class:`Naive`)."""

from numbers import Integral

import numpy as np

from .._validation import NONE, QUANTILES, Interval
from .base import ALIAS, PREDICTION_INTERVALS, BaseForecaster
from .conformal import Calibration, series_scale
from .intervals import standard_normal_quantiles

__all__ = ["Naive", "SeasonalNaive"]


class SeasonalNaive(BaseForecaster):
    """Repeat the last observed season: ``y[T + k] = y[T + k - m * (1 + (k - 1) // m)]``.

    Parameters
    ----------
    season_length : int, default=1
        Season length ``m`` (12 for monthly data with a yearly cycle); 1 is the naive
        forecast (repeat the last value).
    quantiles : list of float, default=None
        Probabilities in (0, 1) for quantile forecasts. They assume normal errors with
        the standard deviation ``sigma`` of the in-sample seasonal naive residuals,
        growing as ``sigma * sqrt(k + 1)`` where ``k`` is the number of whole seasons
        before the step (Hyndman & Athanasopoulos, *Forecasting: Principles and
        Practice*, 5.5).
    prediction_intervals : ConformalIntervals or None, default=None
        How ``predict(level=...)`` calibrates its intervals. None: conformal on the
        errors of the forecasts from every earlier origin of the series (the forecast
        has no parameters, so each is out of sample; no refit needed). A
        :class:`~tsrnn.forecasting.conformal.ConformalIntervals`: as it says.
    alias : str, default=None
        Name of the forecast column; None means the class name.

    Attributes
    ----------
    last_season_ : ndarray of shape (n_series, season_length)
        The last ``season_length`` observations of each series.
    sigma_ : ndarray of shape (n_series,)
        Residual standard deviation of each series (NaN with exactly ``m`` observations).
    panel_ : Panel
        The training data.

    Notes
    -----
    Covariates are ignored. Every series needs ``season_length`` observations
    (``season_length + 1`` with ``quantiles``); intervals at ``h`` steps without refits
    need ``season_length + h`` (one earlier origin, though a few dozen make them stable).
    """

    _parameter_constraints = {
        "season_length": [Interval(Integral, 1, None, closed="left")],
        "quantiles": [QUANTILES, NONE],
        "prediction_intervals": [PREDICTION_INTERVALS, NONE],
        "alias": [ALIAS, NONE],
    }
    _supports_update = True
    _independent_series = True
    _series_attributes = ("last_season_", "sigma_")

    def __init__(self, season_length=1, quantiles=None, prediction_intervals=None, alias=None):
        self.season_length = season_length
        self.quantiles = quantiles
        self.prediction_intervals = prediction_intervals
        self.alias = alias

    def _min_length(self):
        return self.season_length + (1 if self.quantiles is not None else 0)

    def _fit_panel(self, panel):
        m = self.season_length
        values, lengths = panel.values, panel.lengths
        series_of = np.repeat(np.arange(panel.n_series), lengths)
        position = np.arange(len(values)) - np.repeat(panel.indptr[:-1], lengths)
        residual = np.zeros_like(values)
        residual[m:] = values[m:] - values[:-m]
        residual[position < m] = 0.0  # lags that would reach into the previous series
        # residuals over each series' largest one: squares that neither overflow near 1e308
        # nor vanish on tiny data, so sigma_ scales exactly with y
        peak = np.zeros(panel.n_series)
        np.maximum.at(peak, series_of, np.abs(residual))
        peak = np.where(peak > 0, peak, 1.0)
        sse = np.bincount(series_of, weights=(residual / peak[series_of]) ** 2, minlength=panel.n_series)
        count = lengths - m
        with np.errstate(invalid="ignore", divide="ignore"):
            self.sigma_ = np.where(count > 0, peak * np.sqrt(sse / np.maximum(count, 1)), np.nan)
        self.last_season_ = values[panel.indptr[1:, None] - m + np.arange(m)]

    def _update_panel(self, panel):
        self._fit_panel(panel)

    def _fitted_panel(self):
        """The value ``season_length`` steps earlier; NaN for each series' first ``season_length`` steps."""
        m, panel = self.season_length, self.panel_
        fitted = np.full_like(panel.values, np.nan)
        fitted[m:] = panel.values[:-m]
        position = np.arange(len(fitted)) - np.repeat(panel.indptr[:-1], panel.lengths)
        fitted[position < m] = np.nan  # lags that would reach into the previous series
        return fitted

    def _held_out_calibration(self, h):
        """Errors of the forecasts from every origin with a full season before it and ``h`` steps after."""
        m, panel = self.season_length, self.panel_
        # step k (1-based) repeats the value lag_k = m * ceil(k / m) steps before it
        steps = np.arange(1, h + 1)
        lags = m * ((steps + m - 1) // m)
        residuals = []
        for i in range(panel.n_series):
            y = panel.series(i)
            origins = np.arange(m - 1, len(y) - h)  # last observed index of each window
            if origins.size == 0:
                raise ValueError(
                    f"Series {panel.ids[i]!r} has {len(y)} observations: conformal intervals for h={h} "
                    f"need at least season_length + h = {m + h}."
                )
            target = origins[:, None] + steps[None, :]
            residuals.append(y[target] - y[target - lags[None, :]])
        return Calibration(residuals, series_scale(panel), "forecasts from every earlier origin")

    def _predict_panel(self, h, panel_future_exog):
        m = self.season_length
        steps = np.arange(h)
        point = self.last_season_[:, steps % m]
        if self.quantiles is None:
            return point
        spread = self.sigma_[:, None] * np.sqrt(steps // m + 1.0)[None, :]
        z = standard_normal_quantiles(self.quantiles)
        return point, point[:, :, None] + spread[:, :, None] * z


class Naive(SeasonalNaive):
    """Repeat the last observation (random-walk forecast).

    Parameters
    ----------
    quantiles : list of float, default=None
        Probabilities in (0, 1); normal errors with the in-sample one-step residual
        standard deviation ``sigma``, growing as ``sigma * sqrt(k)`` at step ``k``.
    prediction_intervals : ConformalIntervals or None, default=None
        As in :class:`SeasonalNaive`.
    alias : str, default=None
        Name of the forecast column; None means the class name.

    Attributes
    ----------
    last_season_ : ndarray of shape (n_series, 1)
    sigma_ : ndarray of shape (n_series,)
    panel_ : Panel

    Notes
    -----
    :class:`SeasonalNaive` with ``season_length=1``. Covariates are ignored.
    """

    _parameter_constraints = {
        "quantiles": [QUANTILES, NONE],
        "prediction_intervals": [PREDICTION_INTERVALS, NONE],
        "alias": [ALIAS, NONE],
    }
    season_length = 1

    def __init__(self, quantiles=None, prediction_intervals=None, alias=None):
        self.quantiles = quantiles
        self.prediction_intervals = prediction_intervals
        self.alias = alias
