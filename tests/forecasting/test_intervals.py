"""Prediction intervals: the ``level=`` API, conformal calibration, model-based baselines."""

import warnings

import numpy as np
import pandas as pd
import pytest

from tsrnn.forecasting import ARIMA, ETS, Naive, RNNForecaster, SeasonalNaive
from tsrnn.forecasting.conformal import (
    Calibration,
    ConformalIntervals,
    check_levels,
    conformal_bounds,
    windows_needed,
)
from tsrnn.forecasting.panel import model_columns


def monthly(values, name="y"):
    return pd.Series(
        np.asarray(values, float), index=pd.date_range("2000-01-01", periods=len(values), freq="MS"), name=name
    )


def ar1(n, phi=0.6, sigma=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = phi * y[t - 1] + sigma * rng.standard_normal()
    return y


def tiny(**params):
    defaults = dict(hidden_size=8, max_epochs=5, batch_size=32, random_state=0)
    return RNNForecaster(**{**defaults, **params})


# ---------------------------------------------------------------- levels


@pytest.mark.parametrize(
    "level, error, match",
    [
        (0, ValueError, "strictly between 0 and 100"),
        (100, ValueError, "strictly between 0 and 100"),
        (-5, ValueError, "strictly between 0 and 100"),
        (0.8, ValueError, "levels are percentages"),
        (150, ValueError, "strictly between 0 and 100"),
        (float("nan"), ValueError, "strictly between 0 and 100"),
        ([80, 80], ValueError, "given twice"),
        ([], ValueError, "empty"),
        ("80", TypeError, "a number"),
        ([80, "95"], TypeError, "a number"),
        (True, TypeError, "a number"),
    ],
)
def test_level_validation(level, error, match):
    with pytest.raises(error, match=match):
        check_levels(level)
    model = Naive().fit(monthly(np.arange(30.0)))
    with pytest.raises(error, match=match):
        model.predict(3, level=level)


def test_valid_levels_keep_their_order():
    assert check_levels([95, 80, 99.5]) == [95.0, 80.0, 99.5]
    assert check_levels(np.int64(90)) == [90.0] and check_levels(None) == []


def test_conformal_intervals_validates_its_fields():
    with pytest.raises(ValueError, match="n_windows"):
        ConformalIntervals(n_windows=0)
    with pytest.raises(ValueError, match="pooling"):
        ConformalIntervals(pooling="global")
    with pytest.raises(ValueError, match="prediction_intervals"):
        Naive(prediction_intervals="conformal").fit(monthly(np.arange(10.0)))


# ---------------------------------------------------------------- columns and shapes


def test_columns_in_every_input_format():
    y = monthly(np.arange(48.0) % 12 + np.arange(48.0) / 4, name="sales")
    model = SeasonalNaive(season_length=12, quantiles=[0.1, 0.9])
    expected = ["SeasonalNaive", "SeasonalNaive-q0.1", "SeasonalNaive-q0.9"]
    expected += ["SeasonalNaive-lo-80", "SeasonalNaive-hi-80", "SeasonalNaive-lo-95", "SeasonalNaive-hi-95"]
    series_out = model.fit(y).predict(3, level=[80, 95])
    assert isinstance(series_out, pd.DataFrame) and list(series_out.columns) == expected
    assert len(series_out) == 3 and series_out.index[0] == pd.Timestamp("2004-01-01")

    bare = Naive().fit(y).predict(2, level=80)  # no quantiles: still a frame, point first
    assert list(bare.columns) == ["Naive", "Naive-lo-80", "Naive-hi-80"]

    wide = pd.DataFrame({"a": y, "b": 3 * y})
    wide_out = model.fit(wide).predict(3, level=[80, 95])
    assert wide_out.columns.tolist() == [(s, c) for s in ("a", "b") for c in expected]
    # a series 3x larger has a 3x wider interval (scale-equivariant calibration)
    width = lambda s: wide_out[(s, "SeasonalNaive-hi-80")] - wide_out[(s, "SeasonalNaive-lo-80")]
    np.testing.assert_allclose(width("b"), 3 * width("a"))

    long_in = pd.concat(
        [pd.DataFrame({"unique_id": k, "ds": y.index, "y": f * y.to_numpy()}) for k, f in (("a", 1), ("b", 2))]
    )
    long_out = model.fit(long_in).predict(3, level=[80, 95])
    assert list(long_out.columns) == ["unique_id", "ds", *expected] and len(long_out) == 6

    models, bounds = model_columns(expected, intervals=True)
    assert models == {"SeasonalNaive": {0.1: "SeasonalNaive-q0.1", 0.9: "SeasonalNaive-q0.9"}}
    assert bounds["SeasonalNaive"][95.0] == ("SeasonalNaive-lo-95", "SeasonalNaive-hi-95")
    assert model_columns(expected) == models  # the quantile view ignores the bounds


def test_forecast_takes_level_and_equals_fit_then_predict():
    y = monthly(ar1(80) + 10)
    model = ARIMA(order=(1, 0, 0))
    pd.testing.assert_frame_equal(model.forecast(y, 4, level=[90]), model.fit(y).predict(4, level=[90]))


def test_bounds_are_nested_and_bracket_the_point():
    y = monthly(ar1(200, seed=3))
    out = Naive().fit(y).predict(6, level=[50, 80, 95])
    assert (out["Naive-lo-95"] <= out["Naive-lo-80"]).all() and (out["Naive-lo-80"] <= out["Naive-lo-50"]).all()
    assert (out["Naive-lo-50"] <= out["Naive"]).all() and (out["Naive"] <= out["Naive-hi-50"]).all()
    assert (out["Naive-hi-80"] <= out["Naive-hi-95"]).all()


# ---------------------------------------------------------------- the conformal quantile


def test_finite_sample_rank_and_the_too_few_windows_warning():
    residuals = np.arange(1.0, 10.0)[:, None]  # 9 windows, |r| = 1..9
    calibration = Calibration([residuals], np.ones(1), "test")
    # 80 %: the ceil(10 * 0.8) = 8th smallest |r|
    bounds = conformal_bounds(np.zeros((1, 1)), calibration, [80.0])
    np.testing.assert_array_equal(bounds[0, 0], [-8.0, 8.0])
    with pytest.warns(UserWarning, match="cannot guarantee a 95 % interval"):
        bounds = conformal_bounds(np.zeros((1, 1)), calibration, [95.0])
    np.testing.assert_array_equal(bounds[0, 0], [-9.0, 9.0])
    # signed: each tail misses at most 10 %: the ceil(10 * 0.9) = 9th from each end
    signed = Calibration([np.arange(-4.0, 5.0)[:, None] + 1], np.ones(1), "test")  # -3 .. 5
    np.testing.assert_array_equal(conformal_bounds(np.zeros((1, 1)), signed, [80.0], symmetric=False)[0, 0], [-3, 5])


def test_asking_for_more_steps_than_calibrated_is_an_error():
    calibration = Calibration([np.ones((5, 2))], np.ones(1), "test windows")
    with pytest.raises(ValueError, match="calibrated for 2 forecast steps"):
        conformal_bounds(np.zeros((1, 3)), calibration, [80.0])


def test_naive_conformal_coverage_on_ar1():
    """Many origins of a long AR(1): the 80 % interval covers 80 +/- 3 % of held-out steps."""
    y = ar1(6000, phi=0.6, seed=1)
    fit, test = y[:3000], y[3000:]
    model = Naive().fit(monthly(fit))
    h = 3
    out = model.predict(h, level=80)
    width = (out["Naive-hi-80"] - out["Naive"]).to_numpy()
    # score the same widths on every later origin (the AR(1) is stationary)
    origins = np.arange(0, len(test) - h)
    errors = test[origins[:, None] + np.arange(1, h + 1)] - test[origins][:, None]
    coverage = np.mean(np.abs(errors) <= width)
    assert abs(coverage - 0.80) <= 0.03, coverage


@pytest.mark.slow
def test_rnn_conformal_coverage_on_ar1_panel():
    """The RNN's validation-window calibration covers 80 +/- 3 % on many AR(1) series."""
    n_series, length, h = 40, 120, 4
    wide = pd.DataFrame({f"s{i}": ar1(length + h, seed=100 + i) for i in range(n_series)})
    wide.index = pd.date_range("2000-01-01", periods=length + h, freq="D")
    model = tiny(horizon=h, input_size=8, max_epochs=15, validation_fraction=0.3, season_length=1)
    out = model.fit(wide.iloc[:length]).predict(level=80)
    actual = wide.iloc[length:].to_numpy()
    lo = np.column_stack([out[(s, "LSTM-lo-80")] for s in wide.columns])
    hi = np.column_stack([out[(s, "LSTM-hi-80")] for s in wide.columns])
    coverage = np.mean((actual >= lo) & (actual <= hi))
    assert abs(coverage - 0.80) <= 0.05, coverage  # 160 points: +/- 5 points is ~1.6 sd


# ---------------------------------------------------------------- baselines


def test_arima_model_intervals_are_statsmodels_conf_int():
    y = monthly(ar1(120, seed=2) + 5)
    model = ARIMA(order=(1, 0, 0)).fit(y)
    out = model.predict(5, level=[80, 95])
    for level in (80, 95):
        # statsmodels' interval on the series it was fitted on (divided by its scale), scaled back
        expected = model.models_[0].results.get_forecast(5).conf_int(alpha=1 - level / 100) * model.scales_[0]
        np.testing.assert_allclose(out[[f"ARIMA-lo-{level}", f"ARIMA-hi-{level}"]].to_numpy(), expected)


def test_ets_model_intervals_and_conformal_refits():
    y = monthly(10 + np.cumsum(ar1(90, seed=4)) * 0.1 + ar1(90, seed=5))
    model_based = ETS().fit(y).predict(3, level=80)
    assert (model_based["ETS-lo-80"] < model_based["ETS"]).all() and (
        model_based["ETS"] < model_based["ETS-hi-80"]
    ).all()
    refits = ETS(prediction_intervals=ConformalIntervals(n_windows=6, h=3, step=2)).fit(y)
    assert [r.shape for r in refits.calibration_.residuals] == [(6, 3)]
    out = refits.predict(3, level=80)
    pd.testing.assert_series_equal(out["ETS"], model_based["ETS"])
    half = (out["ETS-hi-80"] - out["ETS"]).to_numpy()
    np.testing.assert_allclose(half, (out["ETS"] - out["ETS-lo-80"]).to_numpy())
    # 6 residuals per step: the 80 % width is the ceil(7 * 0.8) = 6th smallest |r| = the largest
    np.testing.assert_allclose(half, np.abs(refits.calibration_.residuals[0]).max(axis=0))


def test_models_without_held_out_residuals_say_what_to_do():
    y = monthly(ar1(60) + 3)
    with pytest.raises(ValueError, match=r"ConformalIntervals\(n_windows=\.\.\.\)"):
        ARIMA(prediction_intervals=ConformalIntervals(n_windows=None)).fit(y).predict(2, level=80)
    with pytest.raises(ValueError, match="early_stopping=False"):
        tiny(horizon=2, input_size=4, season_length=1, early_stopping=False).fit(y).predict(level=80)
    with pytest.raises(ValueError, match="needs h"):
        Naive(prediction_intervals=ConformalIntervals(n_windows=3)).fit(y)


def test_refit_calibration_that_cannot_run_leaves_the_model_unfitted():
    model = Naive(prediction_intervals=ConformalIntervals(n_windows=50, h=2))
    with pytest.raises(ValueError, match="Cannot calibrate conformal intervals"):
        model.fit(monthly(np.arange(20.0)))
    assert not hasattr(model, "panel_")


# ---------------------------------------------------------------- RNNForecaster


@pytest.fixture(scope="module")
def air():
    from tsrnn.datasets import load_airpassengers

    return load_airpassengers()


def test_rnn_intervals_from_validation_windows(air):
    model = tiny(horizon=6, input_size=12, validation_fraction=0.3).fit(air)
    residuals = model.validation_residuals_.residuals
    assert len(residuals) == 1 and residuals[0].shape[1] == 6 and residuals[0].shape[0] >= 19
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # enough windows for 95 %: no warning
        out = model.predict(level=[80, 95])
    assert list(out.columns) == ["LSTM", "LSTM-lo-80", "LSTM-hi-80", "LSTM-lo-95", "LSTM-hi-95"]
    pd.testing.assert_series_equal(out["LSTM"], model.predict(), check_names=False)
    assert (out["LSTM-lo-95"] <= out["LSTM-lo-80"]).all() and (out["LSTM-hi-80"] <= out["LSTM-hi-95"]).all()
    # the residuals are the model's own errors there: conditioning the model on the data up
    # to the last validation origin and forecasting reproduces the last row
    origin = len(air) - 6
    at_origin = model.update(air.iloc[:origin]).predict()
    np.testing.assert_allclose(residuals[0][-1], air.iloc[origin:].to_numpy() - at_origin.to_numpy(), rtol=1e-6)


def test_recursive_rnn_calibrates_every_horizon_step(air):
    model = tiny(horizon=4, input_size=12, strategy="recursive", validation_fraction=0.3).fit(air)
    assert model.validation_residuals_.horizon == 4
    out = model.predict(level=80)
    assert (out["LSTM-hi-80"] > out["LSTM-lo-80"]).all()


def test_tail_only_quantiles_do_not_move_the_point_forecast(air):
    with_median = tiny(horizon=4, input_size=12, quantiles=[0.1, 0.5, 0.9]).fit(air).predict()
    tails = tiny(horizon=4, input_size=12, quantiles=[0.1, 0.9]).fit(air).predict()
    assert list(tails.columns) == ["LSTM", "LSTM-q0.1", "LSTM-q0.9"]
    # same trained heads (the median is added), so the same point forecast, bit for bit
    pd.testing.assert_series_equal(tails["LSTM"], with_median["LSTM"])
    pd.testing.assert_series_equal(tails["LSTM-q0.1"], with_median["LSTM-q0.1"])
    assert (tails["LSTM"] > tails["LSTM-q0.1"]).any()  # the point is not the 10 % quantile


# ---------------------------------------------------------------- scores


def test_interval_score_by_hand():
    from tsrnn.metrics import interval_score

    # width 2 everywhere; y=4 misses hi=3 by 1: penalty 2 / 0.2 * 1 = 10
    assert interval_score([1.0, 4.0], [0.0, 1.0], [2.0, 3.0], 80) == pytest.approx((2 + 2 + 10) / 2)
    with pytest.raises(ValueError, match="percentage"):
        interval_score([1.0], [0.0], [2.0], 100)


def test_compare_reports_coverage_and_interval_score_per_level():
    from tsrnn.evaluation import compare

    y = monthly(ar1(240, seed=7) + 20)
    models = [Naive(), ARIMA(order=(1, 0, 0)), SeasonalNaive(season_length=12, quantiles=[0.1, 0.9])]
    leaderboard, forecasts = compare(models, y, horizon=3, n_windows=4, level=[80, 95])
    assert {"Naive-lo-80", "ARIMA-hi-95", "SeasonalNaive-lo-95"} <= set(forecasts.columns)
    for column in ("coverage-80", "coverage-95", "interval_score-80", "interval_score-95"):
        assert leaderboard[column].notna().all(), column
    assert (leaderboard["coverage-95"] >= leaderboard["coverage-80"]).all()
    # scored on the level columns: the coverage is the share inside them, by hand
    inside = (forecasts["y"] >= forecasts["ARIMA-lo-80"]) & (forecasts["y"] <= forecasts["ARIMA-hi-80"])
    assert leaderboard.loc["ARIMA", "coverage-80"] == pytest.approx(inside.mean())


def test_evaluate_scores_quantile_pairs_when_a_model_has_no_level_columns():
    from tsrnn.forecasting.backtest import backtest
    from tsrnn.forecasting.scoring import evaluate

    y = monthly(ar1(120, seed=8) + 5)
    frame = backtest(SeasonalNaive(season_length=1, quantiles=[0.1, 0.9]), y, horizon=2, n_windows=5)
    scores = evaluate(frame, y, metrics=["coverage"], level=[80, 95])
    inside = (frame["y"] >= frame["SeasonalNaive-q0.1"]) & (frame["y"] <= frame["SeasonalNaive-q0.9"])
    assert scores.loc["SeasonalNaive", "coverage-80"] == pytest.approx(inside.mean())
    assert np.isnan(scores.loc["SeasonalNaive", "coverage-95"])  # no 95 % interval: NaN, not a guess
    assert "interval_score-80" in scores.columns  # added with level


def test_default_rnn_refits_when_validation_windows_are_too_few_for_95(air):
    """validation_fraction=0.1 leaves < 19 windows: 95 % calibrates on 19 refits, no warning."""
    model = tiny(horizon=3, input_size=12, max_epochs=2).fit(air)
    assert model.validation_residuals_.residuals[0].shape[0] < windows_needed(95)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refits give the 19 windows 95 % needs: no fallback warning
        out = model.predict(level=[80, 95])
    refit = model.refit_calibration_
    assert refit.residuals[0].shape == (windows_needed(95), 3)
    expected = conformal_bounds(model.predict().to_numpy()[None, :], refit, [80.0, 95.0])[0]
    np.testing.assert_allclose(out[["LSTM-lo-80", "LSTM-hi-80", "LSTM-lo-95", "LSTM-hi-95"]].to_numpy(), expected)
    assert windows_needed(95) == 19 and windows_needed(80) == 4 and windows_needed(80, symmetric=False) == 9


def test_default_rnn_warns_when_too_short_to_refit_for_the_level():
    y = monthly(ar1(40, seed=11) + 5)
    model = tiny(horizon=2, input_size=6, max_epochs=2, season_length=1).fit(y)
    with pytest.warns(UserWarning, match="refitting at .* not possible"):
        out = model.predict(level=99)  # 99 % needs 99 windows: far more than 40 observations allow
    assert not hasattr(model, "refit_calibration_")
    assert np.all(out["LSTM-hi-99"] > out["LSTM"])
