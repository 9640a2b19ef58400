"""The forecaster contract: input formats, output shapes and indexes, validation."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from tsrnn.forecasting import ARIMA, BaseForecaster, Naive, SeasonalNaive, quantile_column
from tsrnn.forecasting.panel import to_panel


def monthly(values, start="2000-01-01", name="sales"):
    index = pd.date_range(start, periods=len(values), freq="MS", name="ds")
    return pd.Series(np.asarray(values, dtype=float), index=index, name=name)


def long_frame():
    """Two series with different lengths and ends, plus one covariate column."""
    a = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2000-01-01", periods=6, freq="MS"), "y": np.arange(6.0)})
    b = pd.DataFrame(
        {"unique_id": "b", "ds": pd.date_range("2000-03-01", periods=5, freq="MS"), "y": 10 + np.arange(5.0)}
    )
    return pd.concat([a, b], ignore_index=True)


# ---------------------------------------------------------------- outputs per input format


def test_series_in_series_out():
    y = monthly([1, 2, 3, 4, 5, 6, 7, 8])
    forecast = SeasonalNaive(season_length=4).fit(y).predict(6)
    assert isinstance(forecast, pd.Series) and forecast.name == "SeasonalNaive"
    expected_index = pd.date_range("2000-09-01", periods=6, freq="MS", name="ds")
    pd.testing.assert_index_equal(forecast.index, expected_index)
    assert forecast.index.freq == expected_index.freq
    np.testing.assert_array_equal(forecast.to_numpy(), [5, 6, 7, 8, 5, 6])


def test_wide_in_wide_out():
    index = pd.date_range("2020-01-06", periods=5, freq="W-MON")
    y = pd.DataFrame({"x": [1.0, 2, 3, 4, 5], "z": [5.0, 4, 3, 2, 1]}, index=index)
    y.columns.name = "store"
    forecast = Naive().fit(y).predict(3)
    assert list(forecast.columns) == ["x", "z"] and forecast.columns.name == "store"
    pd.testing.assert_index_equal(forecast.index, pd.date_range("2020-02-10", periods=3, freq="W-MON"))
    np.testing.assert_array_equal(forecast.to_numpy(), [[5, 1]] * 3)


def test_long_in_long_out_uses_each_series_end():
    forecast = Naive().fit(long_frame()).predict(2)
    assert list(forecast.columns) == ["unique_id", "ds", "Naive"]
    assert forecast["unique_id"].tolist() == ["a", "a", "b", "b"]
    assert forecast["ds"].tolist() == [
        pd.Timestamp("2000-07-01"),
        pd.Timestamp("2000-08-01"),
        pd.Timestamp("2000-08-01"),
        pd.Timestamp("2000-09-01"),
    ]
    np.testing.assert_array_equal(forecast["Naive"], [5, 5, 14, 14])


def test_integer_index_series_and_wide():
    y = pd.Series([1.0, 2, 3, 4], index=pd.RangeIndex(10, 18, 2))
    forecast = Naive().fit(y).predict(3)
    pd.testing.assert_index_equal(forecast.index, pd.RangeIndex(18, 24, 2))
    wide = pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 2, 1]})
    pd.testing.assert_index_equal(Naive().fit(wide).predict(2).index, pd.RangeIndex(3, 5))


def test_long_with_integer_time():
    y = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 2, "ds": [1, 2, 3, 5, 6], "y": [1.0, 2, 3, 4, 5]})
    forecast = Naive().fit(y).predict(2)
    assert forecast["ds"].tolist() == [4, 5, 7, 8]


def test_quantile_columns_per_format():
    y = monthly(np.arange(24.0) % 12 + np.arange(24.0))
    model = SeasonalNaive(season_length=12, quantiles=[0.1, 0.5, 0.9])
    series_out = model.fit(y).predict(3)
    assert list(series_out.columns) == [
        "SeasonalNaive",
        "SeasonalNaive-q0.1",
        "SeasonalNaive-q0.5",
        "SeasonalNaive-q0.9",
    ]
    wide_out = model.fit(pd.DataFrame({"a": y, "b": 2 * y})).predict(3)
    assert wide_out.columns.tolist()[:2] == [("a", "SeasonalNaive"), ("a", "SeasonalNaive-q0.1")]
    assert wide_out[("b", "SeasonalNaive")].tolist() == (2 * y.iloc[12:15]).tolist()
    long_in = pd.DataFrame({"unique_id": "s", "ds": y.index, "y": y.to_numpy()})
    long_out = model.fit(long_in).predict(3)
    assert list(long_out.columns) == [
        "unique_id",
        "ds",
        "SeasonalNaive",
        "SeasonalNaive-q0.1",
        "SeasonalNaive-q0.5",
        "SeasonalNaive-q0.9",
    ]
    assert quantile_column("ETS", 0.05) == "ETS-q0.05"


def test_forecast_equals_fit_then_predict():
    y = monthly(np.sin(np.arange(30.0)))
    model = ARIMA(order=(1, 0, 0), quantiles=[0.2, 0.8])
    pd.testing.assert_frame_equal(model.forecast(y, 5), clone(model).fit(y).predict(5))


def test_alias_names_the_column_and_survives_clone():
    model = SeasonalNaive(season_length=2, alias="snaive2")
    assert model.alias == "snaive2" and SeasonalNaive().alias == "SeasonalNaive"
    assert clone(model).get_params()["alias"] == "snaive2"
    assert SeasonalNaive().get_params()["alias"] is None
    assert "alias" not in repr(SeasonalNaive())
    assert model.fit(monthly([1, 2, 3])).predict(1).name == "snaive2"


def test_pickle_round_trip_gives_identical_forecasts():
    y = monthly(np.cos(np.arange(40.0)) + np.arange(40.0) / 10)
    model = ARIMA(order=(1, 1, 0), quantiles=[0.1, 0.9]).fit(y)
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(model.predict(4), restored.predict(4))


def test_update_conditions_on_new_history_without_refitting():
    y = monthly(np.sin(np.arange(48.0) / 3) * 10 + 50)
    model = ARIMA(order=(2, 0, 0)).fit(y[:40])
    params = model.models_[0].results.params.copy()
    model.update(y)
    np.testing.assert_array_equal(model.models_[0].results.params, params)
    assert model.predict(1).index[0] == pd.Timestamp("2004-01-01")
    with pytest.raises(ValueError, match="same order"):
        model.update(y.rename("other"))


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "bad, message",
    [
        (monthly([1, np.nan, 3, 4]), r"1 NaN or infinite value\(s\) \(first: 2000-02-01"),
        (monthly([1, np.inf, 3, 4]), "NaN or infinite"),
        (pd.Series([1.0, 2, 3], index=pd.DatetimeIndex(["2000-01-01", "2000-03-01", "2000-02-01"])), "not sorted"),
        (
            pd.Series([1.0, 2, 3], index=pd.DatetimeIndex(["2000-01-01", "2000-01-01", "2000-02-01"])),
            "duplicate timestamps",
        ),
        (
            pd.Series([1.0, 2, 3, 4], index=pd.DatetimeIndex(["2000-01-01", "2000-02-01", "2000-04-01", "2000-05-01"])),
            "Cannot determine the frequency",
        ),
        (pd.Series([1.0, 2, 3], index=[0, 1, 3]), "irregular spacing"),
        (monthly([1, 2])[:0], "empty"),
    ],
)
def test_bad_series_raise_value_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        Naive().fit(bad)


def test_non_numeric_and_wrong_types_raise_type_errors():
    with pytest.raises(TypeError, match="numeric"):
        Naive().fit(pd.Series(["a", "b", "c"], index=pd.date_range("2000", periods=3, freq="D")))
    with pytest.raises(TypeError, match="pd.Series"):
        Naive().fit(np.arange(5.0))
    # a PeriodIndex is accepted (tests/forecasting/test_inputs.py); a string index is not
    with pytest.raises(TypeError, match="DatetimeIndex, a PeriodIndex or an integer index"):
        Naive().fit(pd.Series([1.0, 2, 3], index=["a", "b", "c"]))
    with pytest.raises(TypeError, match="Column 'ds' must hold timestamps"):
        Naive().fit(pd.DataFrame({"unique_id": "a", "ds": ["x", "y", "z"], "y": [1.0, 2, 3]}))


def test_long_frame_validation():
    good = long_frame()
    with pytest.raises(ValueError, match=r"missing \['y'\]"):
        Naive().fit(good.rename(columns={"y": "value"}))
    with pytest.raises(ValueError, match="contiguous"):
        Naive().fit(good.sort_values("ds", kind="stable"))
    unsorted = good.copy()
    unsorted.loc[[0, 1], "ds"] = unsorted.loc[[1, 0], "ds"].to_numpy()
    with pytest.raises(ValueError, match="not sorted.*series 'a'"):
        Naive().fit(unsorted)
    duplicated = good.copy()
    duplicated.loc[7, "ds"] = duplicated.loc[6, "ds"]
    with pytest.raises(ValueError, match="duplicate timestamps.*series 'b'"):
        Naive().fit(duplicated)
    gap = good.drop(index=8).reset_index(drop=True)
    with pytest.raises(ValueError, match="irregular spacing or a gap.*series 'b'"):
        Naive().fit(gap)
    nan = good.copy()
    nan.loc[9, "y"] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite.*series 'b' at 2000-06-01"):
        Naive().fit(nan)
    with pytest.raises(TypeError, match="extra columns"):
        Naive().fit(good, X=pd.DataFrame({"x": range(len(good))}))


def test_series_too_short_names_the_minimum():
    with pytest.raises(ValueError, match=r"'b' has 5 observations; SeasonalNaive\(season_length=6\) needs at least 6"):
        SeasonalNaive(season_length=6).fit(long_frame())


def test_parameter_errors_use_sklearn_wording():
    with pytest.raises(
        ValueError,
        match=r"The 'season_length' parameter of SeasonalNaive must be an int in the range \[1, inf\). Got 0 instead.",
    ):
        SeasonalNaive(season_length=0).fit(monthly([1, 2, 3]))
    with pytest.raises(ValueError, match="'quantiles' parameter"):
        Naive(quantiles=[0.5, 1.5]).fit(monthly([1, 2, 3]))
    with pytest.raises(ValueError, match="horizon h must be an int >= 1"):
        Naive().fit(monthly([1, 2, 3])).predict(0)
    with pytest.raises(ValueError, match="needs the horizon h"):
        Naive().fit(monthly([1, 2, 3])).predict()


# ---------------------------------------------------------------- covariates


class Recorder(BaseForecaster):
    """Forecasts the last value plus the first covariate of each step; records inputs."""

    _parameter_constraints = {}
    _uses_exog = True

    def __init__(self, alias=None):
        self.alias = alias

    def _fit_panel(self, panel):
        self.fit_exog_ = panel.exog.copy()

    def _predict_panel(self, h, panel_future_exog):
        self.future_exog_ = panel_future_exog
        last = self.panel_.values[self.panel_.indptr[1:] - 1]
        return last[:, None] + panel_future_exog[:, :, 0]


def test_series_covariates_and_x_future():
    y = monthly([1.0, 2, 3, 4])
    X = pd.DataFrame({"promo": [0.0, 1, 0, 1], "price": [9.0, 8, 7, 6]}, index=y.index)
    future_index = pd.date_range("2000-05-01", periods=3, freq="MS")
    X_future = pd.DataFrame(
        {"price": [5.0, 4, 3, 2], "promo": [1.0, 0, 1, 0]}, index=future_index.append(pd.DatetimeIndex(["2000-08-01"]))
    )
    model = Recorder().fit(y, X)
    np.testing.assert_array_equal(model.fit_exog_, X.to_numpy())
    forecast = model.predict(3, X_future)
    np.testing.assert_array_equal(forecast.to_numpy(), [5, 4, 5])  # columns matched by name
    with pytest.raises(ValueError, match="predict needs X_future"):
        model.predict(3)
    with pytest.raises(ValueError, match=r"lacks 1 of the 3 forecast timestamps \(first missing: 2000-07-01"):
        model.predict(3, X_future.iloc[:2])
    with pytest.raises(ValueError, match="same index as y"):
        Recorder().fit(y, X.iloc[:3])


def test_wide_per_series_covariates():
    index = pd.date_range("2000-01-01", periods=3, freq="D")
    y = pd.DataFrame({"a": [1.0, 2, 3], "b": [4.0, 5, 6]}, index=index)
    X = pd.DataFrame({("a", "x"): [0.0, 0, 0], ("b", "x"): [1.0, 1, 1]}, index=index)
    future = pd.date_range("2000-01-04", periods=2, freq="D")
    X_future = pd.DataFrame({("a", "x"): [10.0, 20], ("b", "x"): [30.0, 40]}, index=future)
    forecast = Recorder().fit(y, X).predict(2, X_future)
    np.testing.assert_array_equal(forecast.to_numpy(), [[13, 36], [23, 46]])


def test_long_covariates_and_long_x_future():
    y = long_frame().assign(temp=lambda d: np.arange(len(d), dtype=float))
    model = Recorder().fit(y)
    assert model.panel_.exog_names == ("temp",)
    X_future = pd.DataFrame(
        {
            "unique_id": ["b", "b", "a", "a"],
            "ds": pd.to_datetime(["2000-08-01", "2000-09-01", "2000-07-01", "2000-08-01"]),
            "temp": [3.0, 4, 1, 2],
        }
    )
    forecast = model.predict(2, X_future)  # rows matched on (unique_id, ds), any order
    np.testing.assert_array_equal(forecast["Recorder"], [6, 7, 17, 18])
    with pytest.raises(ValueError, match="lacks 1 of the 4 required rows.*unique_id='a', ds=2000-08-01"):
        model.predict(2, X_future.iloc[:3])


def test_models_without_covariates_ignore_them():
    y = long_frame().assign(temp=1.0)
    assert Naive().fit(y).panel_.exog is None
    assert list(Naive().fit(y).predict(1).columns) == ["unique_id", "ds", "Naive"]


def test_panel_buffers_match_the_grouped_array_layout():
    panel = to_panel(long_frame())
    np.testing.assert_array_equal(panel.indptr, [0, 6, 11])
    np.testing.assert_array_equal(panel.series(1), 10 + np.arange(5.0))
    assert panel.kind == "long" and list(panel.ids) == ["a", "b"]
    assert panel.freq == pd.offsets.MonthBegin()
