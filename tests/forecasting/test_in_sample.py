"""predict_in_sample(): one-step-ahead in-sample fitted values (and so residuals) of every forecaster."""

import numpy as np
import pandas as pd
import pytest

from tsrnn.forecasting import ARIMA, ETS, AutoARIMA, Naive, RNNForecaster, SeasonalNaive
from tsrnn.forecasting.per_series import scaled_series

TINY = dict(hidden_size=8, max_epochs=3, random_state=0, early_stopping=False)


def monthly(n=48, name="s", shift=0.0):
    t = np.arange(n)
    return pd.Series(
        50 + shift + 0.1 * t + 10 * np.sin(2 * np.pi * t / 12) + np.cos(1.7 * t),
        index=pd.date_range("2000-01-01", periods=n, freq="MS", name="month"),
        name=name,
    )


def long_frame():
    a, b = monthly(40), monthly(30, shift=5.0)
    return pd.DataFrame(
        {
            "shop": ["a"] * 40 + ["b"] * 30,
            "when": np.concatenate([a.index, b.index]),
            "sales": np.concatenate([a.to_numpy(), b.to_numpy()]),
        }
    )


# ---------------------------------------------------------------- naive models


def test_seasonal_naive_series_is_the_lagged_value_with_leading_nans():
    y = monthly()
    fitted = SeasonalNaive(season_length=12, alias="snaive").fit(y).predict_in_sample()
    assert isinstance(fitted, pd.Series) and fitted.name == "snaive"
    assert fitted.index.equals(y.index) and fitted.index.name == "month"
    assert fitted.iloc[:12].isna().all()
    np.testing.assert_array_equal(fitted.iloc[12:].to_numpy(), y.iloc[:-12].to_numpy())
    residuals = y - fitted
    np.testing.assert_allclose(residuals.iloc[12:].to_numpy(), y.to_numpy()[12:] - y.to_numpy()[:-12])


def test_naive_wide_frame_keeps_columns_and_index():
    wide = pd.concat([monthly(name="a"), monthly(name="b", shift=3.0)], axis=1)
    fitted = Naive().fit(wide).predict_in_sample()
    assert isinstance(fitted, pd.DataFrame) and list(fitted.columns) == ["a", "b"]
    assert fitted.index.equals(wide.index)
    assert fitted.iloc[0].isna().all()
    np.testing.assert_array_equal(fitted.iloc[1:].to_numpy(), wide.iloc[:-1].to_numpy())


def test_long_frame_own_columns_never_lags_across_series():
    df = long_frame()
    out = SeasonalNaive(season_length=3).fit(df, id_col="shop", time_col="when", target_col="sales").predict_in_sample()
    assert list(out.columns) == ["shop", "when", "sales", "SeasonalNaive"]
    pd.testing.assert_frame_equal(out[["shop", "when", "sales"]], df)
    for shop, rows in out.groupby("shop", sort=False):
        y = rows["sales"].to_numpy()
        fitted = rows["SeasonalNaive"].to_numpy()
        assert np.isnan(fitted[:3]).all(), shop  # series b's first steps do not read series a's end
        np.testing.assert_array_equal(fitted[3:], y[:-3])


def test_period_index_comes_back_as_periods():
    y = monthly()
    y.index = y.index.to_period("M")
    fitted = Naive().fit(y).predict_in_sample()
    assert isinstance(fitted.index, pd.PeriodIndex) and fitted.index.equals(y.index)


def test_in_sample_follows_update():
    y = monthly()
    model = Naive().fit(y.iloc[:30]).update(y)
    np.testing.assert_array_equal(model.predict_in_sample().iloc[1:].to_numpy(), y.iloc[:-1].to_numpy())


# ---------------------------------------------------------------- statsmodels models


def test_arima_matches_statsmodels_fittedvalues():
    from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

    y = monthly()
    model = ARIMA(order=(1, 0, 1), trend="c").fit(y)
    fitted = model.predict_in_sample()
    assert fitted.index.equals(y.index)
    # exactly the Kalman filter's one-step predictions with the estimated parameters (the
    # model is fitted on y / scale, on scaled_series' grid, so the predictions are scaled back) ...
    scale = model.scales_[0]
    sm = StatsmodelsARIMA(scaled_series(y.to_numpy(), scale), order=(1, 0, 1), trend="c")
    exact = sm.filter(model.models_[0].results.params).fittedvalues * scale
    np.testing.assert_allclose(fitted.to_numpy(), exact, rtol=1e-10)
    # ... and close to those of statsmodels' own fit on the raw series (optimiser tolerance apart)
    independent = StatsmodelsARIMA(y.to_numpy(), order=(1, 0, 1), trend="c").fit().fittedvalues
    np.testing.assert_allclose(fitted.to_numpy(), independent, rtol=1e-2)


def test_autoarima_and_ets_long_frames_are_finite_one_step_predictions():
    df = long_frame()
    columns = dict(id_col="shop", time_col="when", target_col="sales")
    for model in (AutoARIMA(season_length=1), ETS(season_length=1, auto=False, trend="add")):
        out = model.fit(df, **columns).predict_in_sample()
        assert list(out.columns) == ["shop", "when", "sales", model.alias]
        assert np.isfinite(out[model.alias]).all()
        for i in range(2):
            expected = np.asarray(model.models_[i].results.fittedvalues) * model.scales_[i]
            np.testing.assert_allclose(out[model.alias].to_numpy()[df["shop"].to_numpy() == "ab"[i]], expected)
        # a one-step prediction beats a flat line on this smooth series
        residuals = out["sales"] - out[model.alias]
        assert residuals.abs().mean() < (out["sales"] - out["sales"].mean()).abs().mean()


def test_constant_series_fits_its_constant():
    y = pd.Series(np.full(20, 3.0), index=pd.RangeIndex(20))
    fitted = AutoARIMA(season_length=1).fit(y).predict_in_sample()
    np.testing.assert_array_equal(fitted.to_numpy(), np.full(20, 3.0))


# ---------------------------------------------------------------- RNNForecaster


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_rnn_fitted_value_is_the_forecast_from_the_data_before_it(strategy):
    y = monthly()
    model = RNNForecaster(horizon=3, input_size=12, strategy=strategy, **TINY).fit(y)
    fitted = model.predict_in_sample()
    assert isinstance(fitted, pd.Series) and fitted.index.equals(y.index)
    assert fitted.iloc[:12].isna().all() and np.isfinite(fitted.iloc[12:]).all()
    # step t's fitted value is the 1-step forecast of the model conditioned on y[:t] only
    for t in (12, 20, 47):
        expected = model.update(y.iloc[:t]).predict(1).iloc[0]
        assert fitted.iloc[t] == pytest.approx(expected, rel=1e-6)
    # nothing at or after t reaches step t: changing the future leaves it as it was
    model.update(y)
    changed = y.copy()
    changed.iloc[30:] += 100.0
    model.update(changed)
    np.testing.assert_allclose(model.predict_in_sample().iloc[:31].to_numpy(), fitted.iloc[:31].to_numpy())


def test_rnn_long_frame_with_calendar_features_leaves_unreadable_tail_nan():
    df = long_frame()
    model = RNNForecaster(horizon=4, input_size=12, calendar_features=True, season_length=12, **TINY)
    out = model.fit(df, id_col="shop", time_col="when", target_col="sales").predict_in_sample()
    assert list(out.columns) == ["shop", "when", "sales", model.alias]
    for _, rows in out.groupby("shop", sort=False):
        fitted = rows[model.alias].to_numpy()
        # the first 12 steps lack an input window; the last 3 would read calendar inputs past the end
        assert np.isnan(fitted[:12]).all() and np.isnan(fitted[-3:]).all()
        assert np.isfinite(fitted[12:-3]).all()


def test_forecaster_without_fitted_values_says_so():
    from tsrnn.forecasting.base import BaseForecaster

    class Flat(BaseForecaster):
        def __init__(self, alias=None):
            self.alias = alias

        def _fit_panel(self, panel):
            pass

        def _predict_panel(self, h, panel_future_exog):
            return np.zeros((self.panel_.n_series, h))

    with pytest.raises(NotImplementedError, match="Flat has no in-sample fitted values"):
        Flat().fit(monthly()).predict_in_sample()
