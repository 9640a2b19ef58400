"""ARIMA forecasters on statsmodels: fixed orders (:class:`ARIMA`) and searched ones (:class:`AutoARIMA`).

Both fit one model per series by exact maximum likelihood with
``statsmodels.tsa.arima.model.ARIMA``; :class:`AutoARIMA` chooses each series' orders with
:func:`~tsrnn.forecasting.arima_search.search_arima` first.
"""

from numbers import Integral

import numpy as np

from .._validation import NONE, QUANTILES, Interval, Predicate, StrOptions
from .arima_search import INFORMATION_CRITERIA, search_arima
from .base import ALIAS, PREDICTION_INTERVALS
from .intervals import normal_quantiles
from .per_series import PerSeriesForecaster, quiet_statsmodels, register_fit

__all__ = ["ARIMA", "AutoARIMA"]


def _integer_tuple(length, what):
    def check(value):
        return (
            isinstance(value, (tuple, list))
            and len(value) == length
            and all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 0 for v in value)
        )

    return Predicate(f"a tuple of {length} non-negative ints {what}", check)


@register_fit("arima")
class _ArimaFit:
    """One fitted statsmodels ARIMA: forecasts, quantiles and re-conditioning."""

    def __init__(self, results, spec):
        self.results, self.spec = results, spec

    def state(self):
        """The specification and estimated parameters (the forecaster file format)."""
        return {"spec": self.spec, "params": np.asarray(self.results.params, dtype=np.float64)}

    @classmethod
    def from_state(cls, state, y, exog):
        """The model of ``state`` filtered on ``y``: the same forecasts as the saved fit, no optimiser run."""
        from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

        spec = state["spec"]
        with quiet_statsmodels():
            model = StatsmodelsARIMA(y, exog=exog, **spec)
            return cls(model.filter(np.asarray(state["params"], dtype=np.float64)), spec)

    def forecast(self, h, exog, quantiles):
        prediction = self.results.get_forecast(h, exog=exog)
        mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
        variance = np.asarray(prediction.var_pred_mean, dtype=np.float64)
        return mean, normal_quantiles(mean, variance, quantiles)

    def fitted_values(self):
        """statsmodels' one-step-ahead predictions of every observation (Kalman filter)."""
        return np.asarray(self.results.fittedvalues, dtype=np.float64)

    def apply(self, y, exog):
        with quiet_statsmodels():
            return _ArimaFit(self.results.apply(y, exog=exog), self.spec)


@register_fit("constant")
class _ConstantFit:
    """A series with a single repeated value: every forecast and quantile is that value."""

    def __init__(self, value, spec, y):
        self.value, self.spec, self.y = value, spec, np.asarray(y, dtype=np.float64)

    def state(self):
        return {"value": self.value, "spec": self.spec}

    @classmethod
    def from_state(cls, state, y, exog):
        return cls(float(state["value"]), state["spec"], y)

    def forecast(self, h, exog, quantiles):
        return np.full(h, self.value), np.full((h, len(quantiles)), self.value)

    def apply(self, y, exog):
        return _ConstantFit(float(y[-1]), self.spec, y)

    def fitted_values(self):
        """The previous observation (the first: the constant itself).

        On the constant series it was fitted on this is the constant at every step; on new
        history (:meth:`apply` forecasts its last value) it is the same rule one step back.
        """
        return np.concatenate([self.y[:1], self.y[:-1]])


def _fit_statsmodels_arima(y, exog, order, seasonal_order, trend):
    from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

    with quiet_statsmodels():
        model = StatsmodelsARIMA(y, exog=exog, order=order, seasonal_order=seasonal_order, trend=trend)
        # cov_type="none": forecasts and their intervals do not need the parameter
        # covariance, so skip its numerical Hessian.
        return model.fit(cov_type="none")


def _resolve_seasonal_order(estimator):
    """(P, D, Q, s) from ``seasonal_order`` and ``season_length``."""
    seasonal_order, season_length = tuple(estimator.seasonal_order), estimator.season_length
    P, D, Q = seasonal_order[:3]
    s = seasonal_order[3] if len(seasonal_order) == 4 else 0
    if season_length is not None:
        if s not in (0, season_length):
            raise ValueError(f"seasonal_order has period {s} but season_length={season_length}; give one of them.")
        s = season_length
    if (P or D or Q) and s < 2:
        raise ValueError(
            f"seasonal_order={estimator.seasonal_order} has seasonal terms but the season length "
            f"is {s}; set season_length (>= 2) or the 4th element of seasonal_order."
        )
    return (P, D, Q, s if (P or D or Q) else 0)


class ARIMA(PerSeriesForecaster):
    """Seasonal ARIMA with fixed orders, fitted by exact maximum likelihood (statsmodels).

    A thin wrapper of ``statsmodels.tsa.arima.model.ARIMA(...).fit()``: same orders give
    the same forecasts. With covariates it is a regression with ARIMA errors.

    Parameters
    ----------
    order : tuple of 3 int, default=(1, 0, 0)
        Non-seasonal ``(p, d, q)``.
    seasonal_order : tuple of 3 or 4 int, default=(0, 0, 0, 0)
        Seasonal ``(P, D, Q)`` or ``(P, D, Q, s)`` as in statsmodels.
    season_length : int, default=None
        Season length ``s``; overrides a zero 4th element of ``seasonal_order``.
    trend : {'n', 'c', 't', 'ct'}, default=None
        Deterministic trend as in statsmodels; None means statsmodels' default
        (a constant without differencing, none with it).
    quantiles : list of float, default=None
        Probabilities in (0, 1); quantiles of the Gaussian predictive distribution
        (the same bounds as ``get_forecast(h).conf_int(alpha)``).
    prediction_intervals : ConformalIntervals or None, default=None
        How ``predict(level=...)`` makes intervals. None: the model's own predictive
        distribution (the same bounds as statsmodels' ``conf_int``/simulation at each
        level). A :class:`~tsrnn.forecasting.conformal.ConformalIntervals` with
        ``n_windows``: conformal intervals from refits at that many earlier cutoffs.
    alias : str, default=None
        Name of the forecast column; None means the class name.

    Attributes
    ----------
    models_ : list
        One fitted model per series; ``models_[i].results`` is the statsmodels results
        object.
    panel_ : Panel

    Notes
    -----
    Uses covariates (``X`` / extra long-frame columns; then ``X_future`` is required).
    """

    _parameter_constraints = {
        "order": [_integer_tuple(3, "(p, d, q)")],
        "seasonal_order": [
            _integer_tuple(3, "(P, D, Q)"),
            _integer_tuple(4, "(P, D, Q, s)"),
        ],
        "season_length": [Interval(Integral, 1, None, closed="left"), NONE],
        "trend": [StrOptions({"n", "c", "t", "ct"}), NONE],
        "quantiles": [QUANTILES, NONE],
        "prediction_intervals": [PREDICTION_INTERVALS, NONE],
        "alias": [ALIAS, NONE],
    }
    _uses_exog = True

    def __init__(
        self,
        order=(1, 0, 0),
        seasonal_order=(0, 0, 0, 0),
        season_length=None,
        trend=None,
        quantiles=None,
        prediction_intervals=None,
        alias=None,
    ):
        self.order = order
        self.seasonal_order = seasonal_order
        self.season_length = season_length
        self.trend = trend
        self.quantiles = quantiles
        self.prediction_intervals = prediction_intervals
        self.alias = alias

    def _min_length(self):
        p, d, q = self.order
        P, D, Q, s = _resolve_seasonal_order(self)
        # the differencing eats d + D*s values; the ARMA part needs at least one more
        # observation than its longest lag
        return d + D * s + max(p + P * s, q + Q * s) + 2

    def _fit_one(self, y, exog):
        spec = {"order": tuple(self.order), "seasonal_order": _resolve_seasonal_order(self), "trend": self.trend}
        return _ArimaFit(_fit_statsmodels_arima(y, exog, **spec), spec)


class AutoARIMA(PerSeriesForecaster):
    """ARIMA with orders chosen per series by a stepwise search (Hyndman & Khandakar 2008).

    For each series: the seasonal difference ``D`` is 1 when the STL seasonal strength
    exceeds 0.64 (R's ``nsdiffs(test="seas")``); the order of differencing ``d`` comes
    from repeated KPSS tests at 5 % on the seasonally differenced series (``ndiffs``);
    then, starting from the best of ``(2,d,2)(1,D,1)``, ``(0,d,0)(0,D,0)``,
    ``(1,d,0)(1,D,0)`` and ``(0,d,1)(0,D,1)``, ``p, q, P, Q`` move by one (alone or in
    pairs) and the constant is toggled while the information criterion improves. A
    constant (a mean, or a drift when ``d + D = 1``) is allowed when ``d + D <= 1``.

    The search fits candidates to the differenced series (statsmodels ``SARIMAX`` with
    ``simple_differencing=True`` and the variance concentrated out: all candidates share
    ``d, D``, so criteria stay comparable, and fits are about twice as fast); the chosen
    model is refitted by exact maximum likelihood on the original series with
    ``statsmodels.tsa.arima.model.ARIMA``. The search itself is the standalone
    :func:`~tsrnn.forecasting.arima_search.search_arima`.

    Parameters
    ----------
    season_length : int, default=1
        Season length ``m``; 1 searches non-seasonal models only. Seasonal terms are
        also dropped for series shorter than ``2 * m + 1``.
    max_p, max_q : int, default=3
        Largest non-seasonal AR and MA orders.
    max_P, max_Q : int, default=1
        Largest seasonal AR and MA orders.
    max_d : int, default=2
        Largest order of differencing.
    max_D : int, default=1
        Largest order of seasonal differencing.
    max_order : int, default=5
        Largest ``p + q + P + Q``.
    information_criterion : {'aicc', 'aic', 'bic'}, default='aicc'
        Criterion minimised by the search.
    quantiles : list of float, default=None
        Probabilities in (0, 1); Gaussian predictive quantiles of the chosen model.
    prediction_intervals : ConformalIntervals or None, default=None
        How ``predict(level=...)`` makes intervals. None: the model's own predictive
        distribution (the same bounds as statsmodels' ``conf_int``/simulation at each
        level). A :class:`~tsrnn.forecasting.conformal.ConformalIntervals` with
        ``n_windows``: conformal intervals from refits at that many earlier cutoffs.
    alias : str, default=None
        Name of the forecast column; None means the class name.

    Attributes
    ----------
    models_ : list
        One fitted model per series (``models_[i].results`` is the statsmodels results).
    orders_ : list of dict
        Chosen ``order``, ``seasonal_order`` and ``trend`` per series.
    panel_ : Panel

    Notes
    -----
    Uses covariates (regression with ARIMA errors; ``d`` and ``D`` are tested on the
    series itself). A constant series gets a constant forecast.
    """

    _parameter_constraints = {
        "season_length": [Interval(Integral, 1, None, closed="left")],
        "max_p": [Interval(Integral, 0, None, closed="left")],
        "max_q": [Interval(Integral, 0, None, closed="left")],
        "max_P": [Interval(Integral, 0, None, closed="left")],
        "max_Q": [Interval(Integral, 0, None, closed="left")],
        "max_d": [Interval(Integral, 0, None, closed="left")],
        "max_D": [Interval(Integral, 0, 1, closed="both")],
        "max_order": [Interval(Integral, 0, None, closed="left")],
        "information_criterion": [StrOptions(set(INFORMATION_CRITERIA))],
        "quantiles": [QUANTILES, NONE],
        "prediction_intervals": [PREDICTION_INTERVALS, NONE],
        "alias": [ALIAS, NONE],
    }
    _uses_exog = True

    def __init__(
        self,
        season_length=1,
        max_p=3,
        max_q=3,
        max_P=1,
        max_Q=1,
        max_d=2,
        max_D=1,
        max_order=5,
        information_criterion="aicc",
        quantiles=None,
        prediction_intervals=None,
        alias=None,
    ):
        self.season_length = season_length
        self.max_p = max_p
        self.max_q = max_q
        self.max_P = max_P
        self.max_Q = max_Q
        self.max_d = max_d
        self.max_D = max_D
        self.max_order = max_order
        self.information_criterion = information_criterion
        self.quantiles = quantiles
        self.prediction_intervals = prediction_intervals
        self.alias = alias

    def _min_length(self):
        return 3

    @property
    def orders_(self):
        return [model.spec for model in self.models_]

    def _fit_one(self, y, exog):
        if np.ptp(y) == 0 and exog is None:
            return _ConstantFit(float(y[-1]), {"order": (0, 0, 0), "seasonal_order": (0, 0, 0, 0), "trend": "c"}, y)
        spec = search_arima(
            y,
            exog,
            season_length=self.season_length,
            max_p=self.max_p,
            max_q=self.max_q,
            max_P=self.max_P,
            max_Q=self.max_Q,
            max_d=self.max_d,
            max_D=self.max_D,
            max_order=self.max_order,
            information_criterion=self.information_criterion,
        )
        return _ArimaFit(_fit_statsmodels_arima(y, exog, **spec), spec)
