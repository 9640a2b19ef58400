import numpy as np
import pytest

from tsrnn.evaluation import METRICS, coverage, mae, mase, pinball, rmse, smape

Y = [1.0, 2.0, 4.0]
F = [2.0, 2.0, 1.0]


def test_point_metrics_by_hand():
    assert mae(Y, F) == pytest.approx((1 + 0 + 3) / 3)
    assert rmse(Y, F) == pytest.approx(np.sqrt((1 + 0 + 9) / 3))
    # 200 * |y - f| / (|y| + |f|): 200/3, 0, 120
    assert smape(Y, F) == pytest.approx((200 / 3 + 0 + 120) / 3)


def test_smape_bounds_and_zero_over_zero():
    assert smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)
    assert smape([0.0], [5.0]) == pytest.approx(200.0)


def test_mase_by_hand():
    train = [1.0, 3.0, 2.0, 6.0]
    # naive (m=1) in-sample MAE: (2 + 1 + 4) / 3; seasonal m=2: (|2-1| + |6-3|) / 2 = 2
    assert mase(Y, F, train) == pytest.approx((4 / 3) / (7 / 3))
    assert mase(Y, F, train, season_length=2) == pytest.approx((4 / 3) / 2)
    with pytest.raises(ValueError, match="longer than season_length=4"):
        mase(Y, F, train, season_length=4)


def test_mase_per_row_training_series():
    scores = mase([Y, Y], [F, F], [[1.0, 3.0, 2.0, 6.0], [0.0, 1.0]])
    np.testing.assert_allclose(scores, [(4 / 3) / (7 / 3), (4 / 3) / 1])


def test_coverage_and_pinball_by_hand():
    assert coverage([1.0, 2.0, 3.0, 4.0], [0.0, 2.5, 3.0, 0.0], [2.0, 3.0, 3.0, 3.9]) == pytest.approx(0.5)
    # q=0.9: under-forecast by 2 costs 0.9*2, over-forecast by 1 costs 0.1*1
    assert pinball([3.0, 1.0], [1.0, 2.0], 0.9) == pytest.approx((1.8 + 0.1) / 2)
    assert pinball([3.0, 1.0], [1.0, 2.0], 0.5) == pytest.approx(mae([3.0, 1.0], [1.0, 2.0]) / 2)
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        pinball(Y, F, 1.0)


def test_msis_by_hand():
    from tsrnn.metrics import interval_score, msis, seasonal_naive_scale

    y, lo, hi = [1.0, 4.0, 0.0], [0.0, 1.0, 1.0], [2.0, 3.0, 2.0]
    train = [1.0, 3.0, 2.0, 6.0, 4.0]
    # interval score at 80 % (a = 0.2): widths 2, 2, 1; y=4 above hi=3 by 1 and y=0 below
    # lo=1 by 1 cost 2 / 0.2 * 1 = 10 each: (2 + 12 + 11) / 3
    assert interval_score(y, lo, hi, 80) == pytest.approx(25 / 3)
    # naive scale m=1: (2 + 1 + 4 + 2) / 4; m=2: (|2-1| + |6-3| + |4-2|) / 3 = 2
    assert seasonal_naive_scale(train) == pytest.approx(9 / 4)
    assert msis(y, lo, hi, 80, train) == pytest.approx((25 / 3) / (9 / 4))
    assert msis(y, lo, hi, 80, train, season_length=2) == pytest.approx((25 / 3) / 2)
    # per-row training series, as a backtest scores its windows
    rows = msis([y, y], [lo, lo], [hi, hi], 80, [train, [0.0, 1.0, 3.0]])
    np.testing.assert_allclose(rows, [(25 / 3) / (9 / 4), (25 / 3) / 1.5])
    with np.errstate(divide="ignore"):
        assert msis(y, lo, hi, 80, [5.0, 5.0, 5.0]) == np.inf  # constant training series: undefined


def test_scaled_width_by_hand():
    from tsrnn.metrics import scaled_width

    # widths 2, 2, 1 over the naive scale 9 / 4 (as in test_msis_by_hand)
    assert scaled_width([1.0, 4.0, 0.0], [0.0, 1.0, 1.0], [2.0, 3.0, 2.0], 80, [1.0, 3.0, 2.0, 6.0, 4.0]) == (
        pytest.approx((5 / 3) / (9 / 4))
    )


@pytest.mark.parametrize(
    "season_length, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_season_length_is_checked_with_a_clear_error(season_length, error):
    from tsrnn.metrics import msis

    with pytest.raises(error, match="season_length must be an int >= 1"):
        mase(Y, F, [1.0, 2.0, 3.0, 4.0], season_length=season_length)
    with pytest.raises(error, match="season_length must be an int >= 1"):
        msis(Y, F, F, 80, [1.0, 2.0, 3.0, 4.0], season_length=season_length)


def test_smape_of_a_missing_forecast_is_nan_not_zero():
    assert np.isnan(smape([1.0, 2.0], [np.nan, 2.0]))


def test_two_dimensional_inputs_score_each_row():
    scores = mae([[1.0, 2.0], [3.0, 5.0]], [[1.0, 1.0], [0.0, 5.0]])
    np.testing.assert_allclose(scores, [0.5, 1.5])


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        mae([1.0, 2.0], [1.0])


def test_registry():
    assert set(METRICS) == {
        "mae",
        "rmse",
        "smape",
        "mase",
        "coverage",
        "interval_score",
        "msis",
        "scaled_width",
        "pinball",
    }
    assert METRICS["mae"] is mae


def test_one_registry_says_what_each_metric_scores():
    from tsrnn.metrics import ERROR_METRICS, KINDS

    kinds = {name: function.kind for name, function in METRICS.items()}
    assert kinds == {
        "mae": "point",
        "rmse": "point",
        "smape": "point",
        "mase": "scaled",
        "coverage": "interval",
        "interval_score": "interval",
        "msis": "scaled_interval",
        "scaled_width": "scaled_interval",
        "pinball": "quantile",
    }
    assert set(kinds.values()) == set(KINDS)
    # the errors of the point forecast are what RNNForecaster.auto may minimise
    assert set(ERROR_METRICS) == {"mae", "rmse", "smape", "mase"}
    # every metric ranks lower-is-better except coverage (it should be near its level)
    # (scaled_width neither: a narrow interval that misses is not better)
    assert [name for name, function in METRICS.items() if not function.lower_is_better] == ["coverage", "scaled_width"]


def test_a_registered_metric_is_scored_by_evaluate():
    import pandas as pd

    from tsrnn.evaluation import backtest, evaluate
    from tsrnn.forecasting import Naive
    from tsrnn.metrics import metric

    y = pd.Series(np.arange(20.0) ** 2, index=pd.date_range("2000-01-01", periods=20, freq="MS"))
    saved = dict(METRICS)
    try:

        @metric("point")
        def max_error(y_true, y_pred):
            return np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred)), axis=-1)

        scores = evaluate(backtest(Naive(), y, horizon=2, n_windows=2), y, metrics=["max_error"], aggregate=False)
    finally:
        METRICS.clear()
        METRICS.update(saved)
    # windows end at 15 and 17: forecasts 15^2 and 17^2, worst steps 17 and 19
    np.testing.assert_allclose(scores["max_error"], [17**2 - 15**2, 19**2 - 17**2])
    with pytest.raises(ValueError, match="kind must be one of"):
        metric("ranked")
