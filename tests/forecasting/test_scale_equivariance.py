"""Scale equivariance of the statsmodels baselines (PerSeriesForecaster's per-series scale)."""

import numpy as np
import pytest

from tsrnn import load_forecaster
from tsrnn.datasets import load_airpassengers
from tsrnn.forecasting import ARIMA, ETS, AutoARIMA
from tsrnn.forecasting.per_series import series_scale

MODELS = {
    "arima": lambda: ARIMA(order=(1, 1, 1), seasonal_order=(0, 1, 1, 12), quantiles=[0.1, 0.9]),
    "auto_arima": lambda: AutoARIMA(season_length=12, max_p=2, max_q=2, max_P=1, max_Q=1, quantiles=[0.1, 0.9]),
    "ets": lambda: ETS(season_length=12, quantiles=[0.1, 0.9]),
}

# Not yet 1e-6: the ARIMA(1,1,1)(0,1,1)12 likelihood on AirPassengers is flat along the
# near-cancelling AR/MA pair, so a one-ulp difference in the scaled inputs moves the
# optimiser's stopping point and the forecasts by up to ~5e-4 (before the per-series scale:
# factors of 64-6000). Tightening this needs a better-conditioned fit (issue 14, item 2).
RTOL = 2e-3


@pytest.fixture(scope="module")
def air():
    return load_airpassengers()


@pytest.fixture(scope="module")
def reference(air):
    """Forecasts (with quantiles and 80 % intervals) of each model on the unscaled series."""
    return {name: make().fit(air).predict(12, level=80) for name, make in MODELS.items()}


_SEARCH_GAP = pytest.mark.xfail(
    strict=True, reason="AutoARIMA's order search still picks another model on air * 1e-12 (issue 14, item 2)"
)


@pytest.mark.parametrize(
    "name, factor",
    [(name, factor) for name in sorted(MODELS) for factor in (1e-12, 1e12) if (name, factor) != ("auto_arima", 1e-12)]
    + [pytest.param("auto_arima", 1e-12, marks=_SEARCH_GAP)],
)
def test_forecasts_scale_with_the_data(air, reference, name, factor):
    out = MODELS[name]().fit(air * factor).predict(12, level=80)
    expected = reference[name]
    assert list(out.columns) == list(expected.columns)
    np.testing.assert_allclose(out.to_numpy() / factor, expected.to_numpy(), rtol=RTOL)


@pytest.mark.parametrize("factor", [1e-12, 1e12])
def test_scaled_fit_survives_save_and_load(air, tmp_path, factor):
    model = MODELS["arima"]().fit(air * factor)
    model.save(tmp_path / "m.npz")
    loaded = load_forecaster(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.scales_, model.scales_)
    np.testing.assert_allclose(loaded.predict(12).to_numpy(), model.predict(12).to_numpy(), rtol=1e-12)


def test_update_keeps_the_fit_scale(air):
    model = MODELS["arima"]().fit(air[:120] * 1e-12)
    reference = MODELS["arima"]().fit(air[:120])
    scale = model.scales_.copy()
    model.update(air * 1e-12)
    reference.update(air)
    np.testing.assert_array_equal(model.scales_, scale)
    np.testing.assert_allclose(model.predict(6).to_numpy() * 1e12, reference.predict(6).to_numpy(), rtol=RTOL)


def test_series_scale_is_the_largest_absolute_value():
    for values in ([3.0, -5.0], [1e-309, 2e-309], [1e308, -1.7e308], [0.5]):
        scale = series_scale(np.array(values))
        assert scale == np.max(np.abs(values))  # finite and positive, even near overflow or subnormal
    assert series_scale(np.zeros(4)) == 1.0
