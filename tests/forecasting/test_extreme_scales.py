"""Data near float64's limits (1e300, 1e-300, subnormal 1e-310) and constant series: the
network forecaster and the naive baselines scale exactly with the data (issue 14)."""

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster
from tsrnn.datasets import load_airpassengers
from tsrnn.forecasting import Naive, SeasonalNaive
from tsrnn.forecasting.rnn import mean_std

FACTORS = [1e300, 1e-300, 1e-310]

MODELS = {
    "rnn": lambda: RNNForecaster(horizon=6, hidden_size=8, max_epochs=3, random_state=0),
    "rnn_robust": lambda: RNNForecaster(horizon=6, hidden_size=8, max_epochs=3, scaler="robust", random_state=0),
    "seasonal_naive": lambda: SeasonalNaive(season_length=12, quantiles=[0.1, 0.9]),
    "naive": lambda: Naive(quantiles=[0.1, 0.9]),
}


@pytest.fixture(scope="module")
def air():
    return load_airpassengers()


@pytest.fixture(scope="module")
def reference(air):
    return {name: make().fit(air).predict(6, level=80) for name, make in MODELS.items()}


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_forecasts_scale_exactly_near_the_float64_limits(air, reference, name, factor):
    # no overflow or invalid operation on the way (results below 1e-308 are subnormal: underflow is their nature)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = MODELS[name]().fit(air * factor).predict(6, level=80)
    assert np.isfinite(out.to_numpy()).all()
    np.testing.assert_allclose(out.to_numpy() / factor, reference[name].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("level", [0.01, 5.0, -3.0, 0.0, 1e-305, 1e300])
@pytest.mark.parametrize("transform", [None, "auto"])
def test_a_constant_series_is_forecast_as_its_constant(level, transform):
    """A zero scale stays 0 (it was 1, so the network's noise was in absolute units: a
    constant 0.01 series was forecast between -0.05 and +0.04)."""
    y = pd.Series(level, index=pd.date_range("2000-01-01", periods=120, freq="MS"), name="c")
    model = RNNForecaster(horizon=6, hidden_size=8, max_epochs=2, transform=transform, random_state=0).fit(y)
    out = model.predict(level=80)
    np.testing.assert_allclose(out.to_numpy(), level, rtol=1e-12)


def test_a_constant_series_in_a_panel_keeps_its_constant():
    y = load_airpassengers().to_frame("air").assign(flat=0.25)
    forecast = RNNForecaster(horizon=6, hidden_size=8, max_epochs=2, random_state=0).fit(y).predict()
    np.testing.assert_array_equal(forecast["flat"], 0.25)
    assert forecast["air"].std() > 0


def test_mean_std_never_overflows_or_vanishes():
    for values in ([1e308, -1.7e308, 1.5e308], [1e-310, 3e-310, 2e-310], [0.0, 0.0], [1.0, 2.0, 4.0]):
        x = np.array(values)
        mean, std = mean_std(x)
        assert np.isfinite([mean, std]).all()
        peak = np.max(np.abs(x)) or 1.0
        np.testing.assert_allclose([mean / peak, std / peak], [np.mean(x / peak), np.std(x / peak)], rtol=1e-6)
    columns = np.array([[1e308, 1.0], [-1e308, 3.0]])
    mean, std = mean_std(columns, axis=0)
    np.testing.assert_allclose(mean, [0.0, 2.0])
    np.testing.assert_allclose(std, [1e308, 1.0])
