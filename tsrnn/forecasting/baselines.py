"""Classical baselines with the forecaster contract: seasonal naive, ARIMA, ETS.

Every baseline fits one model per series (wide and long input hold many) and returns
point forecasts plus, with ``quantiles``, quantiles of the model's predictive
distribution. ARIMA and ETS run on statsmodels; tsrnn adds the order/component search,
the panel handling and the output format.
"""

import warnings
from contextlib import contextmanager
from numbers import Integral
from statistics import NormalDist

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from .._validation import BOOLEAN, NONE, QUANTILES, RANDOM_STATE, Interval, StrOptions, _Named
from .base import ALIAS, BaseForecaster

__all__ = ["ARIMA", "ETS", "AutoARIMA", "Naive", "SeasonalNaive"]


@contextmanager
def _quiet_statsmodels():
    """Silence the optimiser chatter of statsmodels fits, and nothing else.

    Convergence warnings and "starting parameters" notices are routine inside an order
    search over dozens of candidate models. Errors still raise.
    """
    # statsmodels is imported on first fit, not with tsrnn (import time).
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, EstimationWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        for message in ("Non-(stationary|invertible) starting", "Too few observations to estimate starting"):
            warnings.filterwarnings("ignore", category=EstimationWarning, message=message)
        yield


def _standard_normal_quantiles(quantiles):
    return np.array([NormalDist().inv_cdf(float(q)) for q in quantiles])


def _normal_quantiles(mean, variance, quantiles):
    """Quantiles of N(mean, variance) per step: shape (h, n_quantiles)."""
    z = _standard_normal_quantiles(quantiles)
    return mean[:, None] + np.sqrt(np.maximum(variance, 0.0))[:, None] * z[None, :]


def _integer_tuple(length, what):
    def check(value):
        return (
            isinstance(value, (tuple, list))
            and len(value) == length
            and all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 0 for v in value)
        )

    return _Named(f"a tuple of {length} non-negative ints {what}", check)


# ---------------------------------------------------------------- naive


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
    (``season_length + 1`` with ``quantiles``).
    """

    _parameter_constraints = {
        "season_length": [Interval(Integral, 1, None, closed="left")],
        "quantiles": [QUANTILES, NONE],
        "alias": [ALIAS, NONE],
    }
    _supports_update = True

    def __init__(self, season_length=1, quantiles=None, alias=None):
        self.season_length = season_length
        self.quantiles = quantiles
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
        sse = np.bincount(series_of, weights=residual**2, minlength=panel.n_series)
        count = lengths - m
        with np.errstate(invalid="ignore", divide="ignore"):
            self.sigma_ = np.where(count > 0, np.sqrt(sse / np.maximum(count, 1)), np.nan)
        self.last_season_ = values[panel.indptr[1:, None] - m + np.arange(m)]

    def _update_panel(self, panel):
        self._fit_panel(panel)

    def _predict_panel(self, h, panel_future_exog):
        m = self.season_length
        steps = np.arange(h)
        point = self.last_season_[:, steps % m]
        if self.quantiles is None:
            return point
        spread = self.sigma_[:, None] * np.sqrt(steps // m + 1.0)[None, :]
        z = _standard_normal_quantiles(self.quantiles)
        return point, point[:, :, None] + spread[:, :, None] * z


class Naive(SeasonalNaive):
    """Repeat the last observation (random-walk forecast).

    Parameters
    ----------
    quantiles : list of float, default=None
        Probabilities in (0, 1); normal errors with the in-sample one-step residual
        standard deviation ``sigma``, growing as ``sigma * sqrt(k)`` at step ``k``.
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

    _parameter_constraints = {"quantiles": [QUANTILES, NONE], "alias": [ALIAS, NONE]}
    season_length = 1

    def __init__(self, quantiles=None, alias=None):
        self.quantiles = quantiles
        self.alias = alias


# ---------------------------------------------------------------- per-series statsmodels fits


class _ArimaFit:
    """One fitted statsmodels ARIMA: forecasts, quantiles and re-conditioning."""

    def __init__(self, results, spec):
        self.results, self.spec = results, spec

    def forecast(self, h, exog, quantiles):
        prediction = self.results.get_forecast(h, exog=exog)
        mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
        variance = np.asarray(prediction.var_pred_mean, dtype=np.float64)
        return mean, _normal_quantiles(mean, variance, quantiles)

    def apply(self, y, exog):
        with _quiet_statsmodels():
            return _ArimaFit(self.results.apply(y, exog=exog), self.spec)


class _ConstantFit:
    """A series with a single repeated value: every forecast and quantile is that value."""

    def __init__(self, value, spec):
        self.value, self.spec = value, spec

    def forecast(self, h, exog, quantiles):
        return np.full(h, self.value), np.full((h, len(quantiles)), self.value)

    def apply(self, y, exog):
        return _ConstantFit(float(y[-1]), self.spec)


def _fit_statsmodels_arima(y, exog, order, seasonal_order, trend):
    from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

    with _quiet_statsmodels():
        model = StatsmodelsARIMA(y, exog=exog, order=order, seasonal_order=seasonal_order, trend=trend)
        # cov_type="none": forecasts and their intervals do not need the parameter
        # covariance, so skip its numerical Hessian.
        return model.fit(cov_type="none")


class _PerSeriesForecaster(BaseForecaster):
    """One statsmodels model per series; subclasses implement ``_fit_one``.

    statsmodels' state-space matrices are tiny (at most a few dozen states): a second
    BLAS thread gains nothing and its spin-waiting fights any other busy thread for the
    cores (one AirPassengers SARIMA fit went from 0.3 s to 3-7 s beside a busy
    process), so every fit and forecast runs with one BLAS thread.
    """

    _supports_update = True

    def _fit_panel(self, panel):
        with threadpool_limits(limits=1, user_api="blas"):
            self.models_ = [
                self._fit_one(panel.series(i), panel.exog_of(i)) for i in range(panel.n_series)
            ]

    def _update_panel(self, panel):
        with threadpool_limits(limits=1, user_api="blas"):
            self.models_ = [
                model.apply(panel.series(i), panel.exog_of(i)) for i, model in enumerate(self.models_)
            ]

    def _predict_panel(self, h, panel_future_exog):
        quantiles = self._quantiles()
        with threadpool_limits(limits=1, user_api="blas"):
            outputs = [
                model.forecast(h, None if panel_future_exog is None else panel_future_exog[i], quantiles)
                for i, model in enumerate(self.models_)
            ]
        point = np.stack([mean for mean, _ in outputs])
        if not quantiles:
            return point
        return point, np.stack([q for _, q in outputs])


def _resolve_seasonal_order(estimator):
    """(P, D, Q, s) from ``seasonal_order`` and ``season_length``."""
    seasonal_order, season_length = tuple(estimator.seasonal_order), estimator.season_length
    P, D, Q = seasonal_order[:3]
    s = seasonal_order[3] if len(seasonal_order) == 4 else 0
    if season_length is not None:
        if s not in (0, season_length):
            raise ValueError(
                f"seasonal_order has period {s} but season_length={season_length}; give one of them."
            )
        s = season_length
    if (P or D or Q) and s < 2:
        raise ValueError(
            f"seasonal_order={estimator.seasonal_order} has seasonal terms but the season length "
            f"is {s}; set season_length (>= 2) or the 4th element of seasonal_order."
        )
    return (P, D, Q, s if (P or D or Q) else 0)


class ARIMA(_PerSeriesForecaster):
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
        alias=None,
    ):
        self.order = order
        self.seasonal_order = seasonal_order
        self.season_length = season_length
        self.trend = trend
        self.quantiles = quantiles
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


# ---------------------------------------------------------------- AutoARIMA


# 5 % critical value of the KPSS level-stationarity statistic (Kwiatkowski et al. 1992)
_KPSS_CRITICAL_5 = 0.463


def _kpss_rejects(x):
    """The KPSS test rejects level stationarity at 5 % (R's ``ndiffs`` test).

    The statistic with a Bartlett long-run variance over ``trunc(4 (n/100)^0.25)`` lags
    (tseries' ``lshort``); it equals ``statsmodels.tsa.stattools.kpss(x, "c", nlags)``
    and is written out to avoid that function's version-dependent return type.
    """
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return False
    residual = x - x.mean()
    partial_sums = np.cumsum(residual)
    lags = min(int(3 * np.sqrt(n) / 13), n - 1)
    long_run_variance = residual @ residual / n
    for k in range(1, lags + 1):
        long_run_variance += 2 * (1 - k / (lags + 1)) * (residual[k:] @ residual[:-k]) / n
    statistic = (partial_sums @ partial_sums) / (n**2 * long_run_variance)
    return statistic > _KPSS_CRITICAL_5


def _seasonal_strength(x, m):
    """Wang, Smith & Hyndman (2006) seasonal strength from an STL decomposition."""
    from statsmodels.tsa.seasonal import STL

    parts = STL(x, period=m).fit()
    remainder, seasonal = np.asarray(parts.resid), np.asarray(parts.seasonal)
    total = np.var(seasonal + remainder)
    return 0.0 if total == 0 else max(0.0, 1.0 - np.var(remainder) / total)


def _information_criteria():
    return {"aicc": lambda r: r.aicc, "aic": lambda r: r.aic, "bic": lambda r: r.bic}


class AutoARIMA(_PerSeriesForecaster):
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
    ``statsmodels.tsa.arima.model.ARIMA``.

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
        "information_criterion": [StrOptions(set(_information_criteria()))],
        "quantiles": [QUANTILES, NONE],
        "alias": [ALIAS, NONE],
    }
    _uses_exog = True

    # forecast::auto.arima's cap on the number of models a stepwise search may fit
    _max_models = 94

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
        self.alias = alias

    def _min_length(self):
        return 3

    @property
    def orders_(self):
        return [model.spec for model in self.models_]

    def _fit_one(self, y, exog):
        if np.ptp(y) == 0 and exog is None:
            return _ConstantFit(float(y[-1]), {"order": (0, 0, 0), "seasonal_order": (0, 0, 0, 0), "trend": "c"})
        m = self.season_length
        seasonal = m > 1 and len(y) > 2 * m
        D = int(seasonal and self.max_D > 0 and _seasonal_strength(y, m) > 0.64)
        x = y[m:] - y[:-m] if D else y
        d = 0
        while d < self.max_d and _kpss_rejects(x):
            x, d = np.diff(x), d + 1
        if len(x) < 3:
            raise ValueError(
                f"{len(y)} observations leave {len(x)} after differencing (d={d}, D={D}); "
                "AutoARIMA needs a longer series."
            )
        p, q, P, Q, constant = self._stepwise(y, exog, d, D, m if seasonal else 0)
        trend = "n" if not constant else ("c" if d + D == 0 else "t")
        spec = {
            "order": (p, d, q),
            "seasonal_order": (P, D, Q, m) if seasonal else (0, 0, 0, 0),
            "trend": trend,
        }
        return _ArimaFit(_fit_statsmodels_arima(y, exog, **spec), spec)

    def _stepwise(self, y, exog, d, D, m):
        """Hyndman-Khandakar stepwise search; returns (p, q, P, Q, constant)."""
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        criterion = _information_criteria()[self.information_criterion]
        allow_constant = d + D <= 1
        max_P, max_Q = (self.max_P, self.max_Q) if m else (0, 0)
        scores = {}

        def admissible(c):
            p, q, P, Q, constant = c
            return (
                0 <= p <= self.max_p and 0 <= q <= self.max_q and 0 <= P <= max_P
                and 0 <= Q <= max_Q and p + q + P + Q <= self.max_order
                and (allow_constant or not constant)
            )

        def score(c):
            if c not in scores:
                p, q, P, Q, constant = c
                try:
                    with _quiet_statsmodels():
                        result = SARIMAX(
                            y, exog=exog, order=(p, d, q), seasonal_order=(P, D, Q, m) if m else (0, 0, 0, 0),
                            trend="c" if constant else "n", simple_differencing=True,
                            concentrate_scale=True,
                        ).fit(disp=False, cov_type="none")
                    value = float(criterion(result))
                except (np.linalg.LinAlgError, ValueError):
                    # A candidate the optimiser cannot fit is not a candidate; the search
                    # goes on with the others (as forecast::auto.arima does).
                    value = np.inf
                scores[c] = value if np.isfinite(value) else np.inf
            return scores[c]

        k = allow_constant
        starts = [(2, 2, 1, 1, k), (0, 0, 0, 0, k), (1, 0, 1, 0, k), (0, 1, 0, 1, k)]
        if allow_constant:
            starts.append((0, 0, 0, 0, False))
        candidates = [
            tuple(min(v, cap) for v, cap in zip(c[:4], (self.max_p, self.max_q, max_P, max_Q))) + (c[4],)
            for c in starts
        ]
        candidates = [c for c in dict.fromkeys(candidates) if admissible(c)]
        best = min(candidates, key=score)
        moves = [
            (0, 0, -1, 0), (0, 0, 1, 0), (0, 0, 0, -1), (0, 0, 0, 1),
            (0, 0, -1, -1), (0, 0, 1, 1), (0, 0, -1, 1), (0, 0, 1, -1),
            (-1, 0, 0, 0), (1, 0, 0, 0), (0, -1, 0, 0), (0, 1, 0, 0),
            (-1, -1, 0, 0), (1, 1, 0, 0), (-1, 1, 0, 0), (1, -1, 0, 0),
        ]
        improved = True
        while improved and len(scores) < self._max_models:
            improved = False
            neighbours = [tuple(v + dv for v, dv in zip(best[:4], move)) + (best[4],) for move in moves]
            neighbours.append(best[:4] + (not best[4],))
            for c in neighbours:
                if admissible(c) and score(c) < score(best):
                    best, improved = c, True
                    break
        if not np.isfinite(score(best)):
            raise RuntimeError("AutoARIMA could not fit any candidate model to the series.")
        return best


# ---------------------------------------------------------------- ETS


class _EtsFit:
    """One fitted statsmodels ETSModel."""

    def __init__(self, results, spec, random_state):
        self.results, self.spec, self.random_state = results, spec, random_state

    # simulated paths per forecast for the models without a closed-form variance
    repetitions = 1000

    def forecast(self, h, exog, quantiles):
        mean = np.asarray(self.results.forecast(h), dtype=np.float64)
        if not quantiles:
            return mean, None
        n = self.results.model.nobs
        with _quiet_statsmodels():
            if self.spec["error"] == "add" and self.spec["seasonal"] != "mul":
                # Linear model: exact Gaussian forecast variance.
                prediction = self.results.get_prediction(start=n, end=n + h - 1, method="exact")
                return mean, _normal_quantiles(mean, np.asarray(prediction.var_pred_mean), quantiles)
            # Otherwise quantiles of simulated paths, as statsmodels' own intervals. The
            # Gaussian errors are drawn here (the seed argument of simulate() changed
            # name across statsmodels versions).
            rng = check_random_state(self.random_state)
            errors = rng.standard_normal((h, self.repetitions)) * np.sqrt(self.results.scale)
            paths = self.results.simulate(h, anchor="end", repetitions=self.repetitions, random_errors=errors)
        return mean, np.quantile(np.asarray(paths, dtype=np.float64), quantiles, axis=1).T

    def apply(self, y, exog):
        model = _ets_model(y, self.spec)
        with _quiet_statsmodels():
            return _EtsFit(model.smooth(self.results.params), self.spec, self.random_state)


def _ets_model(y, spec):
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    # A pandas endog: statsmodels 0.15's ETS prediction intervals fail on plain arrays.
    return ETSModel(
        pd.Series(y),
        error=spec["error"],
        trend=None if spec["trend"] is None else "add",
        damped_trend=spec["trend"] == "add_damped",
        seasonal=spec["seasonal"],
        seasonal_periods=spec["season_length"] if spec["seasonal"] else None,
        initialization_method=spec["initialization"],
    )


def _heuristic_min_length(m):
    """Fewest observations statsmodels' heuristic initialisation accepts with season m."""
    return max(10, 2 * m, 10 + 2 * (m // 2))


class ETS(_PerSeriesForecaster):
    """Exponential smoothing state space model (statsmodels ``ETSModel``).

    Parameters
    ----------
    season_length : int, default=1
        Season length ``m``; seasonal components need ``m >= 2``.
    error : {'add', 'mul'}, default='add'
        Error type when ``auto=False``.
    trend : {None, 'add', 'add_damped'}, default=None
        Trend component when ``auto=False``.
    seasonal : {None, 'add', 'mul'}, default=None
        Seasonal component when ``auto=False``.
    auto : bool, default=True
        Choose error, trend and seasonal components per series by AICc among
        ``error`` in {add, mul}, ``trend`` in {None, add, add_damped}, ``seasonal`` in
        {None, add, mul}, skipping additive error with multiplicative season (unstable,
        as R's ``ets(restrict=TRUE)``), multiplicative parts for series that are not
        strictly positive, and seasonal models for series shorter than ``2 * m + 2`` or
        too short for their number of parameters. With ``auto=True``, ``error``,
        ``trend`` and ``seasonal`` must keep their defaults.
    quantiles : list of float, default=None
        Probabilities in (0, 1): Gaussian quantiles for the additive models, empirical
        quantiles of 1000 simulated paths for the others.
    random_state : int, default=0
        Seed of the simulated paths, so quantiles are reproducible.
    alias : str, default=None
        Name of the forecast column; None means the class name.

    Attributes
    ----------
    models_ : list
        One fitted model per series (``models_[i].results`` is the statsmodels results).
    components_ : list of dict
        Chosen ``error``, ``trend`` and ``seasonal`` per series.
    panel_ : Panel

    Notes
    -----
    Covariates are ignored.
    """

    _parameter_constraints = {
        "season_length": [Interval(Integral, 1, None, closed="left")],
        "error": [StrOptions({"add", "mul"})],
        "trend": [StrOptions({"add", "add_damped"}), NONE],
        "seasonal": [StrOptions({"add", "mul"}), NONE],
        "auto": [BOOLEAN],
        "quantiles": [QUANTILES, NONE],
        "random_state": [RANDOM_STATE],
        "alias": [ALIAS, NONE],
    }

    def __init__(
        self,
        season_length=1,
        error="add",
        trend=None,
        seasonal=None,
        auto=True,
        quantiles=None,
        random_state=0,
        alias=None,
    ):
        self.season_length = season_length
        self.error = error
        self.trend = trend
        self.seasonal = seasonal
        self.auto = auto
        self.quantiles = quantiles
        self.random_state = random_state
        self.alias = alias

    def _min_length(self):
        if self.auto or self.seasonal is None:
            return 4
        return 2 * self.season_length + 2

    @property
    def components_(self):
        return [{k: model.spec[k] for k in ("error", "trend", "seasonal")} for model in self.models_]

    def _fit_panel(self, panel):
        if self.auto and (self.error, self.trend, self.seasonal) != ("add", None, None):
            raise ValueError(
                "ETS(auto=True) chooses error, trend and seasonal itself; set auto=False to fix "
                f"them (got error={self.error!r}, trend={self.trend!r}, seasonal={self.seasonal!r})."
            )
        if not self.auto and self.seasonal is not None and self.season_length < 2:
            raise ValueError(f"seasonal={self.seasonal!r} needs season_length >= 2; got {self.season_length}.")
        super()._fit_panel(panel)

    def _candidates(self, y):
        m = self.season_length
        if not self.auto:
            return [{"error": self.error, "trend": self.trend, "seasonal": self.seasonal}]
        positive = bool(np.all(y > 0))
        seasonals = [None]
        if m > 1 and len(y) >= _heuristic_min_length(m):
            seasonals += ["add", "mul"] if positive else ["add"]
        errors = ["add", "mul"] if positive else ["add"]
        candidates = []
        for error in errors:
            for trend in (None, "add", "add_damped"):
                for seasonal in seasonals:
                    if error == "add" and seasonal == "mul":
                        continue
                    # smoothing + initial states; R's ets needs n > n_params + 4
                    n_params = 2 + 2 * (trend is not None) + (trend == "add_damped") + (
                        m if seasonal else 0
                    )
                    if len(y) > n_params + 4:
                        candidates.append({"error": error, "trend": trend, "seasonal": seasonal})
        return candidates or [{"error": "add", "trend": None, "seasonal": None}]

    def _initialization(self, y):
        """Heuristic initial states when the series allows them, else estimated ones.

        The heuristic (Hyndman et al. 2008, section 2.6) leaves only the smoothing
        parameters to the optimiser: on AirPassengers the 15-model search takes ~1 s
        instead of ~5-10 s. All candidates of a series share the method, so their
        AICc values stay comparable.
        """
        seasonal = self.auto or self.seasonal is not None
        needed = _heuristic_min_length(self.season_length) if seasonal and self.season_length > 1 else 10
        return "heuristic" if len(y) >= needed else "estimated"

    def _fit_one(self, y, exog):
        if not self.auto and "mul" in (self.error, self.seasonal) and not np.all(y > 0):
            raise ValueError("Multiplicative ETS components need a strictly positive series.")
        best, best_score = None, np.inf
        initialization = self._initialization(y)
        for components in self._candidates(y):
            spec = dict(components, season_length=self.season_length, initialization=initialization)
            try:
                with _quiet_statsmodels():
                    results = _ets_model(y, spec).fit(disp=False)
            except (np.linalg.LinAlgError, ValueError):
                if not self.auto:
                    raise
                continue  # an unfit candidate drops out of the search
            score = results.aicc
            if best is None or (np.isfinite(score) and score < best_score):
                best, best_score = _EtsFit(results, spec, self.random_state), score
        if best is None:
            raise RuntimeError("ETS could not fit any candidate model to the series.")
        return best
