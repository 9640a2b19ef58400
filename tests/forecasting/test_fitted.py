"""score() on forecasters, and compile time reported apart from fit time in the backtest leaderboards."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from tsrnn.forecasting import Naive, RNNForecaster, SeasonalNaive
from tsrnn.forecasting.backtest import backtest_models
from tsrnn.metrics import mae, mase


def monthly(n=48):
    t = np.arange(n)
    return pd.Series(
        50 + 0.1 * t + 10 * np.sin(2 * np.pi * t / 12),
        index=pd.date_range("2000-01-01", periods=n, freq="MS"),
        name="s",
    )


# ---------------------------------------------------------------- score


def test_score_is_minus_mase_by_default():
    y = monthly()
    train, test = y.iloc[:-6], y.iloc[-6:]
    model = Naive().fit(train)
    expected = mase(test.to_numpy(), np.full(6, train.iloc[-1]), train.to_numpy(), season_length=12)
    assert model.score(test) == pytest.approx(-expected)
    assert model.score(test, metric="mae") == pytest.approx(-mae(test.to_numpy(), np.full(6, train.iloc[-1])))
    # higher is better: the seasonal model beats the naive one on seasonal data
    assert SeasonalNaive(season_length=12).fit(train).score(test) > model.score(test)


def test_score_long_frame_with_own_columns_averages_series():
    y = monthly()
    df = pd.DataFrame(
        {
            "shop": np.repeat(["a", "b"], 48),
            "month": np.tile(y.index, 2),
            "units": np.r_[y.to_numpy(), 2 * y.to_numpy()],
        }
    )
    train = df.groupby("shop").head(42).reset_index(drop=True)
    test = df.groupby("shop").tail(6).reset_index(drop=True)
    model = Naive().fit(train, id_col="shop", time_col="month", target_col="units")
    per_series = [
        mase(
            test.units[test.shop == s].to_numpy(),
            np.full(6, train.units[train.shop == s].iloc[-1]),
            train.units[train.shop == s].to_numpy(),
            season_length=12,
        )
        for s in ("a", "b")
    ]
    assert model.score(test, metric="mase") == pytest.approx(-np.mean(per_series))


def test_score_on_a_constant_series_warns_and_leaves_it_out_of_mase():
    y = monthly()
    flat = pd.Series(7.0, index=y.index, name="s")
    model = Naive().fit(flat.iloc[:-6])
    # the seasonal naive MAE of a constant series is 0: MASE is x / 0 for any forecast
    with pytest.warns(UndefinedMetricWarning, match=r"mase is undefined on 1 of 1 series \('s'\).*score is NaN"):
        assert np.isnan(model.score(flat.iloc[-6:]))
    shifted = flat.iloc[-6:] + 1.0
    with pytest.warns(UndefinedMetricWarning, match="metric='mae'"):
        assert np.isnan(model.score(shifted))  # not -inf: undefined, whatever the error
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a metric defined there: no warning
        assert model.score(shifted, metric="mae") == pytest.approx(-1.0)
    # among other series: left out of the mean, as evaluate() leaves it out for every model
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(["flat", "seasonal"], 48),
            "ds": np.tile(y.index, 2),
            "y": np.r_[flat.to_numpy(), y.to_numpy()],
        }
    )
    train = df.groupby("unique_id").head(42).reset_index(drop=True)
    test = df.groupby("unique_id").tail(6).reset_index(drop=True)
    model = Naive().fit(train)
    seasonal = mase(y.iloc[-6:].to_numpy(), np.full(6, y.iloc[-7]), y.iloc[:-6].to_numpy(), season_length=12)
    with pytest.warns(UndefinedMetricWarning, match=r"1 of 2 series \('flat'\).*left out of the mean"):
        assert model.score(test) == pytest.approx(-seasonal)


def test_score_refuses_wrong_steps_and_metrics():
    y = monthly()
    model = Naive().fit(y.iloc[:-6])
    with pytest.raises(ValueError, match="timestamps that follow the fitted data"):
        model.score(y.iloc[-5:])  # starts one step late
    with pytest.raises(ValueError, match="point or scaled metric"):
        model.score(y.iloc[-6:], metric="coverage")
    with pytest.raises(ValueError, match="same order"):
        model.score(y.iloc[-6:].rename("other"))


# ---------------------------------------------------------------- compile column


def test_backtest_reports_compile_seconds_apart_from_fit():
    y = monthly()
    rnn = RNNForecaster(cell="gru", horizon=3, input_size=12, hidden_size=4, max_epochs=2, random_state=0)
    run = backtest_models([SeasonalNaive(season_length=12), rnn], y, horizon=3, n_windows=2)
    seconds = run.seconds
    assert list(seconds.columns) == ["compile_seconds", "fit_seconds", "predict_seconds"]
    assert seconds.loc["SeasonalNaive", "compile_seconds"] == 0.0
    assert seconds.loc["GRU", "compile_seconds"] > 0.0
    assert (seconds["fit_seconds"] > 0).all()
    assert np.isfinite(run.forecasts["GRU"]).all()
