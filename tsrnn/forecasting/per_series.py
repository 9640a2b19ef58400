"""The base of forecasters that fit one statsmodels model per series (ARIMA, AutoARIMA, ETS).

A subclass implements ``_fit_one(y, exog)`` and returns a fitted-model object with
``forecast(h, exog, quantiles) -> (mean, quantile_forecasts)`` and
``apply(y, exog) -> fitted model`` (the same parameters conditioned on new history) and
``fitted_values() -> ndarray`` (the one-step in-sample predictions, one per observation);
:class:`PerSeriesForecaster` loops over the series of the panel and stacks the results.
Its ``predict(level=...)`` intervals are the models' own predictive quantiles unless the
``prediction_intervals`` parameter asks for conformal ones.

Every series is divided by its largest absolute value (:func:`series_scale`) and rounded
to a fixed grid (:func:`scaled_series`) before its model sees it, and forecasts and
quantiles are multiplied back: statsmodels' optimisers and their tolerances work in
absolute units, so without the scale ``y * 1e-12`` got forecasts that, rescaled, were off
by factors of 64-6000; without the grid, by up to 0.25 % (one-ulp differences moved the
optimiser, see :func:`scaled_series`). With both, ``y * c`` is fitted on the same values
as ``y``, so its forecasts are those of ``y`` times ``c``.
"""

import warnings
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from .base import BaseForecaster

__all__ = [
    "FIT_CLASSES",
    "SCALED_GRID_BITS",
    "PerSeriesForecaster",
    "quiet_statsmodels",
    "register_fit",
    "scaled_series",
    "series_scale",
]

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
    differ by a constant factor are scaled to the same values up to about one ulp (which
    :func:`scaled_series` then rounds away). A power of two near it would divide exactly
    but leaves a factor of up to 2 between such series, which no rounding removes and
    which moved the optimiser's answer by 0.2 %. ``max`` cannot overflow where a mean or
    standard deviation of values near 1e308 would. An all-zero series gets 1.

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


#: The scaled values a statsmodels model sees are multiples of ``2**-SCALED_GRID_BITS``
#: (:func:`scaled_series`).
SCALED_GRID_BITS = 36


def scaled_series(y, scale):
    """``y / scale`` rounded to the nearest multiple of ``2**-36``: the values a model is fitted on.

    Why the grid: ``y * c / series_scale(y * c)`` differs from ``y / series_scale(y)`` by
    an ulp or two (``y * c`` and its largest value are each rounded), and some likelihoods
    are flat enough that an ulp moves the optimiser's stopping point: ARIMA(1,1,1)(0,1,1)12
    on AirPassengers, flat along its near-cancelling AR/MA pair, forecast ``air * 1e-12``
    0.25 % away from ``air`` (rescaled), and AutoARIMA's search could pick other orders.
    Rounding both to one grid gives the optimiser bit-identical input, hence the same fit
    and forecasts that scale exactly with the data, whatever the optimiser's tolerances.

    The cost: values are quantised at ``2**-36`` (1.5e-11) of the series' largest absolute
    value, below the precision of measured data (a value below ``2**-37`` of the largest
    becomes 0), and a fit moves as it would for any such perturbation: on AirPassengers the
    ARIMA above forecasts 1.7e-4 away from its fit on the unrounded ``y / scale`` (which
    random 1e-15 perturbations of the data moved by up to 2.4e-3). The grid is that coarse
    because rounding is discontinuous: a value within an ulp or two of a half-step may still
    round to neighbouring steps for ``y`` and ``y * c``. Measured on 100 random walks of 500
    values, each times 51 factors from 1e-300 to 1e300: 63 of the 5100 pairs at ``2**-40``,
    none at ``2**-36`` (each bit fewer halves the rate).

    Parameters
    ----------
    y : ndarray of shape (n,)
        Finite values of one series.
    scale : float
        Its :func:`series_scale` (or, for new history, the scale of the fit).

    Returns
    -------
    scaled : ndarray of shape (n,)
    """
    scaled = np.asarray(y, dtype=np.float64) / scale
    # Multiplying by a power of two is exact, and so is rounding to an integer: only the
    # division above rounds. From 2**(52 - SCALED_GRID_BITS) up (new history far above the
    # fit's scale) a float64 is already on the grid, and multiplying it could overflow.
    off_grid = np.abs(scaled) < 2.0 ** (52 - SCALED_GRID_BITS)
    scaled[off_grid] = np.ldexp(np.round(np.ldexp(scaled[off_grid], SCALED_GRID_BITS)), -SCALED_GRID_BITS)
    return scaled


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
            models = [
                self._fit_one(scaled_series(panel.series(i), scales[i]), panel.exog_of(i))
                for i in range(panel.n_series)
            ]
        self.models_, self.scales_ = models, scales

    def _update_panel(self, panel):
        with threadpool_limits(limits=1, user_api="blas"):
            self.models_ = [
                model.apply(scaled_series(panel.series(i), self.scales_[i]), panel.exog_of(i))
                for i, model in enumerate(self.models_)
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
