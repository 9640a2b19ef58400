"""Inputs as the pandas ecosystem hands them over: PeriodIndex data and long frames with their own column names."""

import numpy as np
import pandas as pd
import pytest

from tsrnn.forecasting import ETS, Naive, SeasonalNaive
from tsrnn.forecasting.backtest import backtest
from tsrnn.forecasting.panel import to_panel


def airline_like():
    """sktime's ``load_airline()`` layout: a monthly PeriodIndex Series, 1949-01 .. 1960-12."""
    index = pd.period_range("1949-01", periods=144, freq="M", name="Period")
    t = np.arange(144)
    values = 120 + 2.0 * t + 25 * np.sin(2 * np.pi * t / 12)
    return pd.Series(values, index=index, name="Number of airline passengers")


# ---------------------------------------------------------------- PeriodIndex


def test_period_series_forecast_keeps_periods_and_matches_timestamps():
    y = airline_like()
    forecast = SeasonalNaive(season_length=12).fit(y).predict(3)
    assert isinstance(forecast.index, pd.PeriodIndex)
    assert forecast.index.freq == y.index.freq
    assert list(forecast.index) == list(pd.period_range("1961-01", periods=3, freq="M"))
    assert forecast.index.name == "Period"
    # same numbers as the timestamp version of the same data
    stamped = SeasonalNaive(season_length=12).fit(y.to_timestamp()).predict(3)
    np.testing.assert_allclose(forecast.to_numpy(), stamped.to_numpy())


def test_period_series_intervals_and_ets():
    y = airline_like()
    forecast = ETS(season_length=12).fit(y).predict(4, level=[80])
    assert isinstance(forecast.index, pd.PeriodIndex)
    assert list(forecast.columns) == ["ETS", "ETS-lo-80", "ETS-hi-80"]
    assert np.isfinite(forecast.to_numpy()).all()


@pytest.mark.parametrize("freq, season", [("Q", 4), ("Y", 1), ("W", 52), ("D", 7)])
def test_period_frequencies_round_trip(freq, season):
    index = pd.period_range("2001-01-01", periods=60, freq=freq)
    y = pd.Series(np.arange(60.0), index=index)
    forecast = Naive().fit(y).predict(2)
    assert list(forecast.index) == [index[-1] + 1, index[-1] + 2]
    assert forecast.index.freq == index.freq


def test_period_wide_frame():
    y = airline_like()
    wide = pd.DataFrame({"a": y.to_numpy(), "b": 2 * y.to_numpy()}, index=y.index)
    forecast = SeasonalNaive(season_length=12).fit(wide).predict(2)
    assert isinstance(forecast.index, pd.PeriodIndex)
    assert list(forecast.columns) == ["a", "b"]
    np.testing.assert_allclose(forecast["b"].to_numpy(), 2 * forecast["a"].to_numpy())


def test_period_long_frame_and_covariate_alignment():
    y = airline_like()
    long = pd.DataFrame(
        {
            "unique_id": np.repeat(["a", "b"], 144),
            "ds": np.tile(y.index.to_numpy(), 2),
            "y": np.r_[y.to_numpy(), 3 * y.to_numpy()],
        }
    )
    assert isinstance(long["ds"].dtype, pd.PeriodDtype)
    forecast = Naive().fit(long).predict(2)
    assert isinstance(forecast["ds"].dtype, pd.PeriodDtype)
    assert list(forecast["ds"]) == [pd.Period("1961-01", "M"), pd.Period("1961-02", "M")] * 2
    np.testing.assert_allclose(forecast["Naive"].to_numpy(), np.repeat([y.iloc[-1], 3 * y.iloc[-1]], 2))


def test_period_backtest_cutoffs_are_periods():
    y = airline_like()
    frame = backtest(SeasonalNaive(season_length=12), y, horizon=3, n_windows=2)
    assert isinstance(frame["ds"].dtype, pd.PeriodDtype)
    assert isinstance(frame["cutoff"].dtype, pd.PeriodDtype)
    assert sorted(set(frame["cutoff"])) == [pd.Period("1960-06", "M"), pd.Period("1960-09", "M")]
    # the first forecast step is the period after the cutoff
    first = frame.groupby("cutoff")["ds"].min()
    assert all(first.index + 1 == first.to_numpy())


def test_period_compare_leaderboard():
    from tsrnn.evaluation.compare import compare

    leaderboard, forecasts = compare([SeasonalNaive(season_length=12), Naive()], airline_like(), 3, n_windows=2)
    assert set(leaderboard.index) == {"SeasonalNaive", "Naive"}
    assert isinstance(forecasts["ds"].dtype, pd.PeriodDtype)
    assert np.isfinite(leaderboard["mase"]).all()
    assert leaderboard.loc["SeasonalNaive", "mase"] == pytest.approx(1.0)


def test_period_gap_and_nat_are_refused():
    y = airline_like()
    with pytest.raises(ValueError, match="gap"):
        Naive().fit(y.drop(y.index[10]))
    long = pd.DataFrame({"unique_id": "a", "ds": y.index.delete(5), "y": 1.0})
    with pytest.raises(ValueError, match="gap in its periods"):
        Naive().fit(long)


def test_period_panel_keeps_internal_timestamps():
    # models see the periods' start timestamps, one kind of time axis for every model
    panel = to_panel(airline_like())
    assert isinstance(panel.ds, pd.DatetimeIndex)
    assert panel.ds[0] == pd.Timestamp("1949-01-01")
    assert isinstance(panel.input_ds, pd.PeriodIndex)
    assert isinstance(panel.to_long()["ds"].dtype, pd.PeriodDtype)


# ---------------------------------------------------------------- own column names


def quarterly_sales():
    t = np.arange(24)
    return pd.DataFrame(
        {
            "store": np.repeat(["north", "south"], 12),
            "quarter": np.tile(pd.date_range("2015-01-01", periods=12, freq="QS"), 2),
            "sales": np.r_[10 + t[:12], 50 + 2 * t[:12]].astype(float),
        }
    )


def test_own_column_names_fit_predict_forecast():
    df = quarterly_sales()
    model = Naive().fit(df, id_col="store", time_col="quarter", target_col="sales")
    forecast = model.predict(2)
    assert list(forecast.columns) == ["store", "quarter", "Naive"]
    assert list(forecast["store"]) == ["north", "north", "south", "south"]
    assert forecast["quarter"].iloc[0] == pd.Timestamp("2018-01-01")
    np.testing.assert_allclose(forecast["Naive"].to_numpy(), [21, 21, 72, 72])
    same = Naive().forecast(df, 2, id_col="store", time_col="quarter", target_col="sales")
    pd.testing.assert_frame_equal(forecast, same)
    # the standard names give the same numbers
    renamed = df.rename(columns={"store": "unique_id", "quarter": "ds", "sales": "y"})
    np.testing.assert_allclose(Naive().fit(renamed).predict(2)["Naive"].to_numpy(), forecast["Naive"].to_numpy())


def test_own_column_names_update_keeps_the_layout():
    df = quarterly_sales()
    model = Naive().fit(df.iloc[:20], id_col="store", time_col="quarter", target_col="sales")
    model.update(df)
    forecast = model.predict(1)
    assert list(forecast.columns) == ["store", "quarter", "Naive"]
    np.testing.assert_allclose(forecast["Naive"].to_numpy(), [21, 72])


def test_own_column_names_errors_name_the_columns():
    df = quarterly_sales()
    # without the names the frame reads as wide; the message says how to name the columns
    with pytest.raises(TypeError, match="id_col=, time_col= and\\s+target_col="):
        Naive().fit(df)
    with pytest.raises(ValueError, match=r"needs columns store, period, sales; missing \['period'\]"):
        Naive().fit(df, id_col="store", time_col="period", target_col="sales")
    with pytest.raises(ValueError, match="Column 'sales' contains 1 NaN"):
        Naive().fit(
            df.assign(sales=df["sales"].where(df.index != 3)), id_col="store", time_col="quarter", target_col="sales"
        )
    with pytest.raises(ValueError, match="rows of each store must be contiguous and sorted by quarter"):
        Naive().fit(df.sort_values("quarter", kind="stable"), id_col="store", time_col="quarter", target_col="sales")
    with pytest.raises(TypeError, match="Column 'sales' must be numeric"):
        Naive().fit(df.assign(sales="x"), id_col="store", time_col="quarter", target_col="sales")
    with pytest.raises(ValueError, match="three different columns"):
        Naive().fit(df, id_col="store", time_col="store", target_col="sales")
    with pytest.raises(TypeError, match="y is a Series"):
        Naive().fit(df["sales"], target_col="sales")


def test_own_column_names_extra_columns_are_covariates():
    df = quarterly_sales().assign(promo=np.tile([0.0, 1.0], 12))
    panel = to_panel(df, id_col="store", time_col="quarter", target_col="sales")
    assert panel.exog_names == ("promo",)
    assert panel.columns == ("store", "quarter", "sales")


def test_own_column_names_backtest():
    df = quarterly_sales()
    frame = backtest(Naive(), df, horizon=2, n_windows=2, id_col="store", time_col="quarter", target_col="sales")
    assert list(frame.columns[:4]) == ["store", "quarter", "cutoff", "sales"]
    assert len(frame) == 2 * 2 * 2
    # Naive repeats the value at the cutoff
    north = frame[frame["store"] == "north"]
    cutoffs = north["cutoff"].to_numpy()
    at_cutoff = df[df["store"] == "north"].set_index("quarter")["sales"]
    np.testing.assert_allclose(north["Naive"].to_numpy(), at_cutoff.loc[cutoffs].to_numpy())


# ---------------------------------------------------------------- names and values refused


def test_alias_equal_to_a_column_of_a_long_frame_is_refused():
    y = airline_like().to_timestamp()
    long = y.rename_axis("ds").rename("y").reset_index().assign(unique_id="a")
    for alias in ("unique_id", "ds", "y"):
        with pytest.raises(ValueError, match=f"alias='{alias}' is a column name of y"):
            SeasonalNaive(12, alias=alias).fit(long)
    custom = long.rename(columns={"ds": "month"})
    with pytest.raises(ValueError, match="alias='month'"):
        SeasonalNaive(12, alias="month").fit(custom, time_col="month")


def test_distinct_quantiles_get_distinct_column_names():
    y = airline_like().to_timestamp()
    columns = SeasonalNaive(12, quantiles=[0.1, 0.1000001, 0.9]).fit(y).predict(2).columns.tolist()
    assert columns == ["SeasonalNaive", "SeasonalNaive-q0.1", "SeasonalNaive-q0.1000001", "SeasonalNaive-q0.9"]


def test_complex_values_are_refused():
    y = airline_like().to_timestamp()
    with pytest.raises(TypeError, match="real numbers"):
        SeasonalNaive(12).fit(y.astype(complex) + 5j)


def test_update_refuses_another_kind_of_time_index():
    periods = airline_like()
    model = SeasonalNaive(12).fit(periods)
    with pytest.raises(ValueError, match="update got timestamps where the model was fitted on periods"):
        model.update(periods.to_timestamp())
    assert isinstance(model.predict(2).index, pd.PeriodIndex)  # unchanged
    stamps = SeasonalNaive(12).fit(periods.to_timestamp())
    with pytest.raises(ValueError, match="update got periods"):
        stamps.update(periods)
