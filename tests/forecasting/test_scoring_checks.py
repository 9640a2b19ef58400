"""evaluate() refuses inputs it would otherwise score silently and wrongly.

The actuals of the forecasts frame must be those of ``y`` and finite, interval bounds must
not cross, a NaN bound makes every interval score of that window NaN (coverage included,
as the module's rule for non-finite forecasts says), and ``metrics`` is a name or a
non-empty list of names.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning

import tsrnn
from tsrnn.evaluation import backtest, compare, evaluate
from tsrnn.forecasting import Naive, SeasonalNaive


@pytest.fixture(scope="module")
def y():
    return tsrnn.load_dataset("airpassengers")


@pytest.fixture(scope="module")
def cv(y):
    return backtest(SeasonalNaive(12), y, horizon=6, n_windows=3, level=[80])


def test_actuals_that_differ_from_y_are_refused(cv, y):
    first = cv.iloc[0]
    with pytest.raises(ValueError, match=r"forecasts\['y'\] does not match y") as error:
        evaluate(cv, y * 2)
    message = str(error.value)
    assert f"series {first['unique_id']!r} at {first['ds']}" in message
    assert f"forecasts has {first['y']:g}, y has {2 * first['y']:g}" in message


def test_one_changed_actual_is_located(cv, y):
    changed = cv.copy()
    changed.loc[changed.index[4], "y"] += 1.0
    row = changed.iloc[4]
    with pytest.raises(ValueError, match=r"1 row\(s\) differ") as error:
        evaluate(changed, y)
    assert f"at {row['ds']}" in str(error.value)


def test_actuals_equal_to_y_up_to_rounding_are_accepted(cv, y):
    # a CSV round trip may move a value by an ulp; that is not a different series
    nudged = cv.copy()
    nudged["y"] = np.nextafter(nudged["y"].to_numpy(), np.inf)
    pd.testing.assert_frame_equal(evaluate(nudged, y), evaluate(cv, y))


def test_a_forecast_row_outside_y_is_refused(cv, y):
    # every cutoff is in y, but not the last forecast step
    last = cv.iloc[-1]
    with pytest.raises(ValueError, match=r"1 row\(s\) not in y") as error:
        evaluate(cv, y.iloc[:-1])
    assert f"series {last['unique_id']!r} at {last['ds']}" in str(error.value)


def test_non_finite_actuals_are_refused_with_their_location(cv, y):
    for bad in (np.nan, np.inf):
        broken = cv.copy()
        broken.loc[broken.index[0], "y"] = bad
        first = broken.iloc[0]
        with pytest.raises(ValueError, match=r"actuals\) contain 1 NaN or infinite value") as error:
            evaluate(broken, y)
        assert f"series {first['unique_id']!r} at {first['ds']}" in str(error.value)


def test_a_nan_bound_makes_coverage_nan_like_the_interval_score(cv, y):
    broken = cv.copy()
    broken.loc[broken.index[0], "SeasonalNaive-lo-80"] = np.nan
    with pytest.warns(UndefinedMetricWarning, match="SeasonalNaive has non-finite scores"):
        scores = evaluate(broken, y, level=[80])
    assert np.isnan(scores.loc["SeasonalNaive", "interval_score-80"])
    assert np.isnan(scores.loc["SeasonalNaive", "coverage-80"])
    assert scores.attrs["non_finite_windows"]["coverage-80"] == {"SeasonalNaive": 1}
    # only the window holding the NaN bound: the others keep their coverage
    with pytest.warns(UndefinedMetricWarning):
        per_window = evaluate(broken, y, metrics="coverage", level=[80], aggregate=False)
    assert per_window["coverage-80"].isna().tolist() == [True, False, False]


def test_crossed_bounds_are_refused(cv, y):
    crossed = cv.copy()
    lo, hi = crossed["SeasonalNaive-lo-80"].copy(), crossed["SeasonalNaive-hi-80"].copy()
    crossed.loc[crossed.index[7], "SeasonalNaive-lo-80"] = hi.iloc[7]
    crossed.loc[crossed.index[7], "SeasonalNaive-hi-80"] = lo.iloc[7]
    row = crossed.iloc[7]
    with pytest.raises(ValueError, match=r"SeasonalNaive's 80 % interval has its lower bound above") as error:
        evaluate(crossed, y, level=[80])
    assert f"series {row['unique_id']!r} at {row['ds']} (cutoff {row['cutoff']})" in str(error.value)
    # the bounds are not used by the point metrics, so those are still scored
    assert np.isfinite(evaluate(crossed, y, metrics=["mae"])["mae"]).all()


def test_crossed_quantiles_are_refused_as_an_interval(y):
    frame = backtest(Naive(quantiles=[0.1, 0.9]), y, horizon=2, n_windows=1)
    q10, q90 = frame["Naive-q0.1"].copy(), frame["Naive-q0.9"].copy()
    frame["Naive-q0.1"], frame["Naive-q0.9"] = q90, q10
    with pytest.raises(ValueError, match=r"Naive's 80 % interval .*Naive-q0.1"):
        evaluate(frame, y, metrics=["coverage"])


def test_a_single_metric_name_is_one_metric(cv, y):
    scores = evaluate(cv, y, metrics="mae")
    assert list(scores.columns) == ["mae"]
    pd.testing.assert_frame_equal(scores, evaluate(cv, y, metrics=["mae"]))


def test_an_empty_metric_list_is_refused(cv, y):
    with pytest.raises(ValueError, match="metrics must name at least one metric"):
        evaluate(cv, y, metrics=[])


def test_compare_and_its_leaderboard_still_score(y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        leaderboard, forecasts = compare([Naive(), SeasonalNaive(12)], y, horizon=3, n_windows=2, level=[80])
    assert set(leaderboard.index) == {"Naive", "SeasonalNaive"}
    assert np.isfinite(leaderboard[["mase", "coverage-80", "interval_score-80"]].to_numpy()).all()
    pd.testing.assert_series_equal(
        leaderboard["mase"].sort_index(), evaluate(forecasts, y, metrics="mase")["mase"].sort_index()
    )
