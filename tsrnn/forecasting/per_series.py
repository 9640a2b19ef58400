"""The base of forecasters that fit one statsmodels model per series (ARIMA, AutoARIMA, ETS).

A subclass implements ``_fit_one(y, exog)`` and returns a fitted-model object with
``forecast(h, exog, quantiles) -> (mean, quantile_forecasts)`` and
``apply(y, exog) -> fitted model`` (the same parameters conditioned on new history) and
``fitted_values() -> ndarray`` (the one-step in-sample predictions, one per observation);
:class:`PerSeriesForecaster` loops over the series of the panel and stacks the results.
Its ``predict(level=...)`` intervals are the models' own predictive quantiles unless the
``prediction_intervals`` parameter asks for conformal ones.

Every series is divided by its largest absolute value
(:func:`series_scale`) before its model sees it, and forecasts and quantiles are
multiplied back: statsmodels' optimisers and their tolerances work in absolute units, so
without it ``y * 1e-12`` got forecasts that, rescaled, were off by factors of 64-6000.
"""

import warnings
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from .base import BaseForecaster

__all__ = ["FIT_CLASSES", "PerSeriesForecaster", "quiet_statsmodels", "register_fit", "series_scale"]

# name -> per-series fitted-model class, for the forecaster file format (tsrnn.forecasting.persistence)
FIT_CLASSES = {}


def register_fit(name):
    """Class decorator: save the per-series fitted models of this class under ``name``.

    The class implements ``state()`` (a dict of plain values and arrays: the model's
    specification and estimated parameters, never the statsmodels objects) and the
    classmethod ``from_state(state, y, exog)``, which rebuilds the fitted model on the
    series ``y`` and covariates ``exog`` deterministically (no optimiser run), so that
    its forecasts equal the saved model's.

    Parameters
    ----------
    name : str

    Returns
    -------
    decorator : callable
    """

    def decorator(cls):
        FIT_CLASSES[name] = cls
        cls._persistence_name = name
        return cls

    return decorator


def series_scale(y):
    """The positive scale a series is divided by before its statsmodels model is fitted.

    The largest absolute value, so the scaled values lie in [-1, 1] and two series that
    differ by a constant factor are scaled to the same values (up to one rounding):
    their fits then match. A power of two near it would be exact but leaves a factor of
    up to 2 between such series, which moved the optimiser's answer by 0.2 %. ``max``
    cannot overflow where a mean or standard deviation of values near 1e308 would. An
    all-zero series gets 1.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Finite values of one series.

    Returns
    -------
    scale : float
    """
    largest = float(np.max(np.abs(y))) if len(y) else 0.0
    if not np.isfinite(largest) or largest == 0.0:
        return 1.0
    return largest


@contextmanager
def quiet_statsmodels():
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


class PerSeriesForecaster(BaseForecaster):
    """One statsmodels model per series; subclasses implement ``_fit_one``.

    statsmodels' state-space matrices are tiny (at most a few dozen states): a second
    BLAS thread gains nothing and its spin-waiting fights any other busy thread for the
    cores (one AirPassengers SARIMA fit went from 0.3 s to 3-7 s beside a busy
    process), so every fit and forecast runs with one BLAS thread.
    """

    _supports_update = True
    _independent_series = True
    _series_attributes = ("models_", "scales_")

    def _fit_panel(self, panel):
        scales = np.array([series_scale(panel.series(i)) for i in range(panel.n_series)])
        with threadpool_limits(limits=1, user_api="blas"):
            models = [self._fit_one(panel.series(i) / scales[i], panel.exog_of(i)) for i in range(panel.n_series)]
        self.models_, self.scales_ = models, scales

    def _update_panel(self, panel):
        with threadpool_limits(limits=1, user_api="blas"):
            self.models_ = [
                model.apply(panel.series(i) / self.scales_[i], panel.exog_of(i)) for i, model in enumerate(self.models_)
            ]

    def _predict_panel(self, h, panel_future_exog):
        quantiles = self._quantiles()
        with threadpool_limits(limits=1, user_api="blas"):
            outputs = [
                model.forecast(h, None if panel_future_exog is None else panel_future_exog[i], quantiles)
                for i, model in enumerate(self.models_)
            ]
        point = np.stack([mean for mean, _ in outputs]) * self.scales_[:, None]
        if not quantiles:
            return point
        return point, np.stack([q for _, q in outputs]) * self.scales_[:, None, None]

    def _fitted_panel(self):
        # each fitted-model class gives its one-step in-sample predictions (fitted_values()),
        # in the scaled units its model saw: multiplied back as the forecasts are
        return np.concatenate([model.fitted_values() * self.scales_[i] for i, model in enumerate(self.models_)])

    # model-based intervals by default: each model's predictive distribution (Gaussian for
    # ARIMA and linear ETS, simulated otherwise) at the central probabilities of each level
    _model_intervals = True

    def _model_bounds(self, h, panel_future_exog, levels):
        probabilities = [p for level in levels for p in ((1 - level / 100) / 2, (1 + level / 100) / 2)]
        with threadpool_limits(limits=1, user_api="blas"):
            outputs = [
                model.forecast(h, None if panel_future_exog is None else panel_future_exog[i], probabilities)[1]
                for i, model in enumerate(self.models_)
            ]
        return np.stack(outputs) * self.scales_[:, None, None]
