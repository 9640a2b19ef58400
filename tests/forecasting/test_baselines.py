"""Baselines against hand-computed values and direct statsmodels fits."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from tsrnn.datasets import load_airpassengers, load_nile
from tsrnn.evaluation import mase
from tsrnn.forecasting import ARIMA, ETS, AutoARIMA, Naive, SeasonalNaive
from tsrnn.forecasting.per_series import scaled_series

QUANTILES = [0.1, 0.5, 0.9]


@pytest.fixture(scope="module")
def air():
    return load_airpassengers()


@pytest.fixture(scope="module")
def air_auto(air):
    """AutoARIMA fitted on the first 132 months (shared: the search takes ~0.5-1 s)."""
    return AutoARIMA(season_length=12, quantiles=QUANTILES).fit(air[:132])


@pytest.fixture(scope="module")
def air_ets(air):
    return ETS(season_length=12, quantiles=QUANTILES).fit(air[:132])


def test_seasonal_naive_is_exact():
    y = pd.Series([1.0, 5, 2, 8, 3, 9, 4], index=pd.date_range("2001-01-01", periods=7, freq="QS"))
    forecast = SeasonalNaive(season_length=3).fit(y).predict(7)
    # last season: 3, 9, 4 (positions 4..6), repeated
    np.testing.assert_array_equal(forecast.to_numpy(), [3, 9, 4, 3, 9, 4, 3])
    np.testing.assert_array_equal(Naive().fit(y).predict(3).to_numpy(), [4, 4, 4])


def test_seasonal_naive_intervals_follow_the_fpp_formula():
    y = pd.Series([1.0, 5, 2, 8, 3, 9, 4], index=pd.date_range("2001-01-01", periods=7, freq="QS"))
    model = SeasonalNaive(season_length=3, quantiles=[0.1, 0.9]).fit(y)
    residuals = np.array([8 - 1, 3 - 5, 9 - 2, 4 - 8])
    sigma = np.sqrt(np.mean(residuals**2))
    np.testing.assert_allclose(model.sigma_, [sigma])
    out = model.predict(4)
    spread = sigma * np.sqrt([1, 1, 1, 2]) * norm.ppf(0.9)
    np.testing.assert_allclose(out["SeasonalNaive-q0.9"] - out["SeasonalNaive"], spread)
    np.testing.assert_allclose(out["SeasonalNaive"] - out["SeasonalNaive-q0.1"], spread)


def test_arima_matches_statsmodels(air):
    train = air[:132]
    model = ARIMA(order=(0, 1, 1), seasonal_order=(0, 1, 1), season_length=12, quantiles=[0.1, 0.9])
    out = model.fit(train).predict(12)
    # statsmodels on the values the model sees (the series divided by its scale, on the grid of
    # scaled_series: scale equivariance), forecasts scaled back
    scale = model.scales_[0]
    reference = StatsmodelsARIMA(
        scaled_series(train.to_numpy(), scale), order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)
    ).fit()
    prediction = reference.get_forecast(12)
    np.testing.assert_allclose(out["ARIMA"], prediction.predicted_mean * scale, rtol=1e-10)
    bounds = prediction.conf_int(alpha=0.2) * scale
    np.testing.assert_allclose(out["ARIMA-q0.1"], bounds[:, 0], rtol=1e-10)
    np.testing.assert_allclose(out["ARIMA-q0.9"], bounds[:, 1], rtol=1e-10)


def test_arima_seasonal_order_and_season_length_must_agree():
    y = pd.Series(np.arange(40.0), index=pd.RangeIndex(40))
    with pytest.raises(ValueError, match="period 4 but season_length=12"):
        ARIMA(seasonal_order=(1, 0, 0, 4), season_length=12).fit(y)
    with pytest.raises(ValueError, match="seasonal terms but the season length is 0"):
        ARIMA(seasonal_order=(1, 0, 0)).fit(y)
    with pytest.raises(ValueError, match=r"'order' parameter of ARIMA must be a tuple of 3 non-negative ints"):
        ARIMA(order=(1, 0)).fit(y)


def test_arima_with_covariates_matches_statsmodels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(60)
    index = pd.date_range("2000-01-01", periods=60, freq="D")
    y = pd.Series(2 * x + np.cumsum(rng.standard_normal(60)) * 0.1 + 5, index=index)
    X = pd.DataFrame({"x": x}, index=index)
    X_future = pd.DataFrame({"x": [1.0, -1.0, 0.5]}, index=pd.date_range("2000-03-01", periods=3, freq="D"))
    model = ARIMA(order=(1, 0, 0)).fit(y, X)
    out = model.predict(3, X_future)
    scale = model.scales_[0]
    reference = StatsmodelsARIMA(scaled_series(y.to_numpy(), scale), exog=x[:, None], order=(1, 0, 0)).fit()
    np.testing.assert_allclose(out, reference.forecast(3, exog=X_future.to_numpy()) * scale, rtol=1e-10)


def test_auto_arima_on_airpassengers(air, air_auto):
    spec = air_auto.orders_[0]
    # yearly seasonality and trend: one seasonal and one regular difference
    assert spec["seasonal_order"][1] == 1 and spec["seasonal_order"][3] == 12
    assert spec["order"][1] == 1
    out = air_auto.predict(12)
    # the chosen model is exactly statsmodels' ARIMA with those orders
    scale = air_auto.scales_[0]
    reference = StatsmodelsARIMA(scaled_series(air[:132].to_numpy(), scale), **spec).fit()
    np.testing.assert_allclose(out["AutoARIMA"], reference.forecast(12) * scale, rtol=1e-8)
    naive = SeasonalNaive(12).fit(air[:132]).predict(12)
    assert mase(air[132:], out["AutoARIMA"], air[:132], 12) < mase(air[132:], naive, air[:132], 12)


def test_the_order_search_is_a_standalone_function(air, air_auto):
    from tsrnn.forecasting.arima_search import ndiffs, nsdiffs, search_arima

    # AutoARIMA fits exactly the orders the search chooses on the values it sees (the scaled
    # series); the search needs no forecaster
    scaled = scaled_series(air[:132].to_numpy(), air_auto.scales_[0])
    assert search_arima(scaled, season_length=12) == air_auto.orders_[0]
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(120)
    assert ndiffs(noise)[0] == 0 and ndiffs(np.cumsum(noise))[0] == 1
    assert nsdiffs(np.tile([0.0, 5, 2, 9], 30) + 0.1 * noise, 4) == 1 and nsdiffs(noise, 4) == 0


def test_auto_arima_nonseasonal_and_constant_series():
    nile = load_nile()
    model = AutoARIMA(max_p=2, max_q=2).fit(nile)
    assert model.orders_[0]["seasonal_order"] == (0, 0, 0, 0)
    assert np.isfinite(model.predict(5).to_numpy()).all()
    flat = pd.Series(3.0, index=pd.date_range("2000-01-01", periods=20, freq="D"))
    out = AutoARIMA(quantiles=[0.1, 0.9]).fit(flat).predict(2)
    np.testing.assert_array_equal(out.to_numpy(), np.full((2, 3), 3.0))


def test_ets_matches_statsmodels(air):
    train = air[:132].to_numpy()
    model = ETS(season_length=12, error="mul", trend="add_damped", seasonal="mul", auto=False).fit(air[:132])
    scale = model.scales_[0]
    reference = ETSModel(
        pd.Series(scaled_series(train, scale)),
        error="mul",
        trend="add",
        damped_trend=True,
        seasonal="mul",
        seasonal_periods=12,
        initialization_method="heuristic",
    ).fit(disp=False)
    np.testing.assert_allclose(model.predict(12), reference.forecast(12) * scale, rtol=1e-8)


def test_ets_additive_quantiles_are_the_exact_gaussian_ones(air):
    model = ETS(trend="add", auto=False, quantiles=[0.1, 0.9]).fit(air[:60])
    scale = model.scales_[0]
    series = pd.Series(scaled_series(air[:60].to_numpy(), scale))
    reference = ETSModel(series, trend="add", initialization_method="heuristic").fit(disp=False)
    bounds = reference.get_prediction(start=60, end=65).pred_int(alpha=0.2) * scale
    out = model.predict(6)
    np.testing.assert_allclose(out["ETS-q0.1"], bounds.iloc[:, 0], rtol=1e-8)
    np.testing.assert_allclose(out["ETS-q0.9"], bounds.iloc[:, 1], rtol=1e-8)


def test_ets_auto_finds_multiplicative_seasonality(air, air_ets):
    assert air_ets.components_[0]["seasonal"] == "mul"
    out = air_ets.predict(12)
    naive = SeasonalNaive(12).fit(air[:132]).predict(12)
    assert mase(air[132:], out["ETS"], air[:132], 12) < mase(air[132:], naive, air[:132], 12)


def test_ets_parameter_combinations_are_checked():
    y = pd.Series(np.arange(1.0, 31.0), index=pd.RangeIndex(30))
    with pytest.raises(ValueError, match="set auto=False"):
        ETS(trend="add").fit(y)
    with pytest.raises(ValueError, match="needs season_length >= 2"):
        ETS(seasonal="add", auto=False).fit(y)
    with pytest.raises(ValueError, match="strictly positive"):
        ETS(error="mul", auto=False).fit(y - 10)


def test_simulated_quantiles_are_reproducible(air, air_ets):
    first = air_ets.predict(6)
    np.testing.assert_array_equal(first.to_numpy(), air_ets.predict(6).to_numpy())


@pytest.mark.parametrize("name", ["SeasonalNaive", "ARIMA", "AutoARIMA", "ETS"])
def test_quantiles_are_ordered(air, air_auto, air_ets, name):
    fitted = {
        "SeasonalNaive": lambda: SeasonalNaive(12, quantiles=QUANTILES).fit(air[:132]),
        "ARIMA": lambda: ARIMA((1, 1, 0), (0, 1, 0), 12, quantiles=QUANTILES).fit(air[:132]),
        "AutoARIMA": lambda: air_auto,
        "ETS": lambda: air_ets,
    }[name]()
    out = fitted.predict(12).to_numpy()
    point, q10, q50, q90 = out.T
    assert (q10 < q50).all() and (q50 < q90).all()
    assert (q10 < point).all() and (point < q90).all()


def test_fits_leak_no_statsmodels_warnings(air):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoARIMA(season_length=12, max_p=1, max_q=1).fit(air[:48])
        ETS(season_length=12).fit(air[:48])


def test_per_series_models_on_a_panel(air):
    wide = pd.DataFrame({"air": air[:60], "double": 2 * air[:60]})
    out = ARIMA(order=(1, 1, 0)).fit(wide).predict(3)
    single = ARIMA(order=(1, 1, 0)).fit(2 * air[:60]).predict(3)
    np.testing.assert_allclose(out["double"], single, rtol=1e-8)


def test_ets_update_keeps_parameters(air):
    model = ETS(season_length=12, error="mul", trend="add", seasonal="mul", auto=False).fit(air[:120])
    model_before = copy.deepcopy(model)
    params = np.asarray(model.models_[0].results.params).copy()
    updated = model.update(air[:132])
    np.testing.assert_array_equal(np.asarray(updated.models_[0].results.params), params)
    assert updated.predict(1).index[0] == pd.Timestamp("1960-01-01")
    # same parameters and states over the shared 120 months: the same one-step fits there
    np.testing.assert_allclose(
        np.asarray(updated.models_[0].results.fittedvalues)[:120],
        np.asarray(model_before.models_[0].results.fittedvalues),
        rtol=1e-10,
    )
