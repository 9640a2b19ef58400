"""NaN and inf never reorder a ranking (issue 14, "rankings that lie").

The rule (tsrnn.forecasting.scoring): a scaled metric undefined on a window for every model
(zero naive scale) drops that window for all models alike; any other non-finite score stays
in its model's mean; rankings put non-finite means last and break ties on the next metric.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from tsrnn.evaluation import backtest, compare, evaluate
from tsrnn.evaluation.suite import summarize
from tsrnn.forecasting import ARIMA, Naive, SeasonalNaive
from tsrnn.forecasting.scoring import rank_models
from tsrnn.metrics import mase

INDEX = pd.date_range("2000-01-01", periods=60, freq="MS")


def noisy(seed=0):
    rng = np.random.default_rng(seed)
    return 10 + np.sin(np.arange(60)) + rng.normal(size=60)


@pytest.fixture
def panel():
    """One ordinary series and one constant one."""
    return pd.DataFrame({"a": noisy(), "b": np.full(60, 5.0)}, index=INDEX)


def frame_with(y, **columns):
    """A Naive backtest frame of ``y`` plus hand-made model columns (callables of the frame)."""
    frame = backtest(Naive(), y, horizon=3, n_windows=3)
    for name, make in columns.items():
        frame[name] = make(frame)
    return frame


def test_a_constant_series_is_left_out_of_mase_for_every_model(panel):
    models = [Naive(), SeasonalNaive(season_length=12), ARIMA(order=(1, 0, 0))]
    with pytest.warns(UndefinedMetricWarning, match=r"mase is undefined on 3 of 6 windows \(1 series: 'b'\)"):
        leaderboard, forecasts = compare(models, panel, horizon=3, n_windows=3)
    assert leaderboard.attrs["undefined_windows"] == {"mase": 3}
    assert np.isfinite(leaderboard["mase"]).all()  # no model is inf or NaN because of 'b'
    # each model's MASE is its MASE on series 'a' alone, the same windows for all of them
    only_a = forecasts[forecasts["unique_id"] == "a"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing undefined on 'a'
        alone = evaluate(only_a, panel[["a"]])
    pd.testing.assert_series_equal(leaderboard["mase"].sort_index(), alone["mase"].sort_index())
    assert list(leaderboard.index) == list(alone["mase"].sort_values().index)
    # the metrics defined on 'b' still count it
    assert leaderboard.loc["ARIMA", "mae"] != pytest.approx(alone.loc["ARIMA", "mae"])


def test_per_window_output_marks_the_undefined_windows_nan_for_every_model(panel):
    frame = frame_with(panel, Off=lambda f: f["Naive"] + 0.5)
    with pytest.warns(UndefinedMetricWarning):
        per_window = evaluate(frame, panel, aggregate=False)
    on_b = per_window["unique_id"] == "b"
    assert per_window.loc[on_b, "mase"].isna().all() and per_window.loc[~on_b, "mase"].notna().all()
    assert per_window.loc[on_b, "mae"].notna().all()
    # by hand: Off misses 'b' by 0.5 (mase would be inf), Naive not at all (0/0): both left out
    off_a = per_window[(per_window["model"] == "Off") & ~on_b]
    first = frame[(frame["unique_id"] == "a") & (frame["cutoff"] == frame["cutoff"].min())]
    train = panel["a"][panel.index <= first["cutoff"].iloc[0]].to_numpy()
    assert off_a["mase"].iloc[0] == pytest.approx(mase(first["y"], first["Off"], train, season_length=12))


def test_a_model_producing_inf_ranks_last():
    y = pd.Series(noisy(1), index=INDEX, name="s")

    def blow_up(f):
        values = f["Naive"].to_numpy() + 0.1
        values[0] = np.inf  # one window's forecast overflows
        return values

    frame = frame_with(y, Good=lambda f: f["y"] + 0.01, Overflow=blow_up, Worse=lambda f: f["Naive"] + 5.0)
    with pytest.warns(UndefinedMetricWarning, match=r"Overflow has non-finite scores: mase \(1 of 3 windows\)"):
        scores = evaluate(frame, y)
    assert scores.loc["Overflow", "mase"] == np.inf  # kept in the mean, not skipped
    assert scores.attrs["non_finite_windows"]["mase"] == {"Overflow": 1}
    ranked = rank_models(scores)
    assert list(ranked.index) == ["Good", "Naive", "Worse", "Overflow"]
    assert ranked.attrs == scores.attrs


def test_a_nan_window_is_not_skipped_for_one_model():
    """A model with one NaN window would look better than it is if that window were skipped."""
    y = pd.Series(noisy(2), index=INDEX, name="s")

    def hole(f):
        values = f["Naive"].to_numpy() + 3.0
        values[f["cutoff"].to_numpy() == f["cutoff"].max()] = np.nan  # no forecast in the last window
        return values

    frame = frame_with(y, Holey=hole)
    with pytest.warns(UndefinedMetricWarning, match="Holey"):
        scores = evaluate(frame, y)
    for metric in ("mase", "smape", "mae", "rmse"):
        assert np.isnan(scores.loc["Holey", metric]), metric
    assert list(rank_models(scores).index) == ["Naive", "Holey"]


def test_every_window_undefined_ranks_on_the_next_metric():
    constant = pd.DataFrame({"a": np.full(60, 3.0), "b": np.full(60, -2.0)}, index=INDEX)
    frame = frame_with(constant, Close=lambda f: f["y"] + 0.1, Far=lambda f: f["y"] + 1.0)
    with pytest.warns(UndefinedMetricWarning, match="undefined on every window"):
        scores = evaluate(frame, constant)
    assert scores["mase"].isna().all() and scores.attrs["undefined_windows"] == {"mase": 6}
    # mase ties (NaN for all): smape orders them; Naive is exact on a constant series
    assert list(rank_models(scores).index) == ["Naive", "Close", "Far"]


def test_ties_at_inf_are_broken_by_the_next_metric():
    scores = pd.DataFrame(
        {"mase": [np.inf, 0.9, np.inf, np.nan], "smape": [5.0, 9.0, 4.0, 1.0], "coverage-80": [0.1, 0.9, 0.5, 0.8]},
        index=pd.Index(["A", "B", "C", "D"], name="model"),
    )
    # non-finite mase is worse than any finite one; inf and NaN tie, smape decides; coverage ranks nothing
    assert list(rank_models(scores).index) == ["B", "D", "C", "A"]
    only_coverage = scores[["coverage-80"]]
    assert list(rank_models(only_coverage).index) == ["A", "B", "C", "D"]


def test_a_model_without_the_interval_ranks_after_those_with_one():
    y = pd.Series(noisy(3), index=INDEX, name="s")
    frame = backtest(Naive(), y, horizon=3, n_windows=3, level=80)
    frame["Wide"] = frame["Naive"]
    frame["Wide-lo-80"], frame["Wide-hi-80"] = frame["Naive"] - 50, frame["Naive"] + 50
    frame["Bare"] = frame["Naive"] + 0.5
    scores = evaluate(frame, y, metrics=["interval_score"], level=80)
    assert np.isnan(scores.loc["Bare", "interval_score-80"]) and not scores.attrs["non_finite_windows"]
    assert list(rank_models(scores).index) == ["Naive", "Wide", "Bare"]


def test_summarize_never_averages_a_model_over_fewer_datasets():
    results = pd.DataFrame(
        {
            "dataset": ["d1", "d2", "d1", "d2", "d1"],
            "model": ["A", "A", "B", "B", "C"],  # C did not run on d2
            "seed": np.nan,
            "mase": [0.8, 1.2, 0.9, np.inf, 0.1],
            "smape": [1.0, 2.0, 3.0, 4.0, 0.5],
            "holdout_mase": 1.0,
            "seconds": 1.0,
        }
    )
    summary = summarize(results)
    assert summary.loc["A", "mean_mase"] == pytest.approx(1.0)
    assert summary.loc["B", "mean_mase"] == np.inf and np.isnan(summary.loc["C", "mean_mase"])
    assert list(summary.index) == ["A", "B", "C"]  # inf and NaN tie last; smape (C lacks d2: NaN) orders them


def test_auto_search_never_picks_an_undefined_score():
    from tsrnn.forecasting import RNNForecaster

    constant = pd.Series(np.full(60, 7.0), index=INDEX, name="flat")
    params = dict(horizon=3, input_size=6, season_length=1, hidden_size=4, max_epochs=1, random_state=0)
    space = {"hidden_size": [4, 2]}
    with pytest.warns(UndefinedMetricWarning), pytest.raises(ValueError, match="metric='mae'"):
        RNNForecaster.auto(constant, search_space=space, n_windows=2, metric="mase", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        model = RNNForecaster.auto(constant, search_space=space, n_windows=2, metric="mae", **params)
    assert np.isfinite(model.cv_results_["score"]).all() and model.best_params_ == {"hidden_size": 4}
