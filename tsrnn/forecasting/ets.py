"""Exponential smoothing (ETS) forecaster on statsmodels' ``ETSModel``, with an AICc component search."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._validation import BOOLEAN, NONE, QUANTILES, RANDOM_STATE, Interval, StrOptions
from .base import ALIAS, PREDICTION_INTERVALS
from .intervals import normal_quantiles
from .per_series import PerSeriesForecaster, quiet_statsmodels, register_fit

__all__ = ["ETS"]


@register_fit("ets")
class _EtsFit:
    """One fitted statsmodels ETSModel."""

    def __init__(self, results, spec, random_state):
        self.results, self.spec, self.random_state = results, spec, random_state

    def state(self):
        """The specification, estimated parameters and seed (the forecaster file format)."""
        params = np.asarray(self.results.params, dtype=np.float64)
        return {"spec": self.spec, "params": params, "random_state": self.random_state}

    @classmethod
    def from_state(cls, state, y, exog):
        """The model of ``state`` smoothed on ``y``: the same forecasts as the saved fit, no optimiser run."""
        model = _ets_model(y, state["spec"])
        with quiet_statsmodels():
            results = model.smooth(np.asarray(state["params"], dtype=np.float64))
        return cls(results, state["spec"], state["random_state"])

    # simulated paths per forecast for the models without a closed-form variance
    repetitions = 1000

    def forecast(self, h, exog, quantiles):
        mean = np.asarray(self.results.forecast(h), dtype=np.float64)
        if not quantiles:
            return mean, None
        n = self.results.model.nobs
        with quiet_statsmodels():
            if self.spec["error"] == "add" and self.spec["seasonal"] != "mul":
                # Linear model: exact Gaussian forecast variance.
                prediction = self.results.get_prediction(start=n, end=n + h - 1, method="exact")
                return mean, normal_quantiles(mean, np.asarray(prediction.var_pred_mean), quantiles)
            # Otherwise quantiles of simulated paths, as statsmodels' own intervals. The
            # Gaussian errors are drawn here (the seed argument of simulate() changed
            # name across statsmodels versions).
            rng = check_random_state(self.random_state)
            errors = rng.standard_normal((h, self.repetitions)) * np.sqrt(self.results.scale)
            paths = self.results.simulate(h, anchor="end", repetitions=self.repetitions, random_errors=errors)
        return mean, np.quantile(np.asarray(paths, dtype=np.float64), quantiles, axis=1).T

    def fitted_values(self):
        """statsmodels' one-step-ahead predictions of every observation."""
        return np.asarray(self.results.fittedvalues, dtype=np.float64)

    def apply(self, y, exog):
        model = _ets_model(y, self.spec)
        with quiet_statsmodels():
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


class ETS(PerSeriesForecaster):
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
        "prediction_intervals": [PREDICTION_INTERVALS, NONE],
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
        prediction_intervals=None,
        alias=None,
    ):
        self.season_length = season_length
        self.error = error
        self.trend = trend
        self.seasonal = seasonal
        self.auto = auto
        self.quantiles = quantiles
        self.prediction_intervals = prediction_intervals
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
                    n_params = 2 + 2 * (trend is not None) + (trend == "add_damped") + (m if seasonal else 0)
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
                with quiet_statsmodels():
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
