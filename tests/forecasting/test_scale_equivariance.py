"""Scale equivariance of the statsmodels baselines (PerSeriesForecaster's per-series scale and grid)."""

import numpy as np
import pytest

from tsrnn import load_forecaster
from tsrnn.datasets import load_airpassengers
from tsrnn.forecasting import ARIMA, ETS, AutoARIMA
from tsrnn.forecasting.per_series import SCALED_GRID_BITS, scaled_series, series_scale

MODELS = {
    "arima": lambda: ARIMA(order=(1, 1, 1), seasonal_order=(0, 1, 1, 12), quantiles=[0.1, 0.9]),
    "auto_arima": lambda: AutoARIMA(season_length=12, max_p=2, max_q=2, max_P=1, max_Q=1, quantiles=[0.1, 0.9]),
    "ets": lambda: ETS(season_length=12, quantiles=[0.1, 0.9]),
}

# y * c is fitted on bit-identical values to y (scaled_series), so the forecasts differ only
# by the roundings of multiplying back (measured: at most 2.7e-16). Without the grid the
# ARIMA(1,1,1)(0,1,1)12 likelihood on AirPassengers, flat along the near-cancelling AR/MA
# pair, let a one-ulp difference move the forecasts by 0.25 %; without the scale, by
# factors of 64-6000.
RTOL = 1e-12

# 1e-310: AirPassengers * 1e-310 is partly subnormal
FACTORS = (1e-310, 1e-300, 1e-12, 7.3, 1e12, 1e300)


@pytest.fixture(scope="module")
def air():
    return load_airpassengers()


@pytest.fixture(scope="module")
def reference(air):
    """Each model fitted on the unscaled series, and its forecasts (with quantiles and 80 % intervals)."""
    fitted = {name: make().fit(air) for name, make in MODELS.items()}
    return {name: (model, model.predict(12, level=80)) for name, model in fitted.items()}


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_forecasts_scale_with_the_data(air, reference, name, factor):
    # no overflow or invalid operation on the way, even with data near 1e300 or 1e-300
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        model = MODELS[name]().fit(air * factor)
        out = model.predict(12, level=80)
    reference_model, expected = reference[name]
    assert list(out.columns) == list(expected.columns)
    np.testing.assert_allclose(out.to_numpy() / factor, expected.to_numpy(), rtol=RTOL)
    if name == "auto_arima":
        # the order search saw the same values, so it chose the same model
        assert model.orders_ == reference_model.orders_


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


def test_scaled_series_is_the_same_for_every_scale_of_the_data():
    """The optimiser gets bit-identical input for y and y * c (so the same fit), on a fixed grid."""
    rng = np.random.default_rng(0)
    step = 2.0**-SCALED_GRID_BITS
    for y in (load_airpassengers().to_numpy(), np.cumsum(rng.standard_normal(500)) * 3.1 + 40):
        expected = scaled_series(y, series_scale(y))
        assert np.max(np.abs(expected)) == 1.0
        np.testing.assert_array_equal(expected / step, np.round(expected / step))  # on the grid
        assert np.max(np.abs(expected - y / series_scale(y))) <= step / 2  # rounded to the nearest step
        for factor in (1e-300, 1e-200, 1e-12, 0.37, 7.3, 1e12, 1e200, 1e300, -2.5):
            scaled = y * factor
            np.testing.assert_array_equal(scaled_series(scaled, series_scale(scaled)), np.sign(factor) * expected)


def test_scaled_series_keeps_values_far_above_the_scale():
    # new history (update) can lie far above the fit's scale: such values are already on the
    # grid and are kept as they are, without overflow on the way
    y = np.array([0.25, -3.0, 2.0**20 + 0.5, 1e300, -1.7e308])
    with np.errstate(over="raise", invalid="raise"):
        scaled = scaled_series(y, 1.0)
    np.testing.assert_array_equal(scaled, y)
    np.testing.assert_array_equal(scaled_series(np.array([1e-13, 0.1]), 1.0), [0.0, np.round(0.1 * 2.0**36) / 2.0**36])
