"""MSIS per level and pinball loss per quantile in evaluate/compare, against hand computations."""

import numpy as np
import pandas as pd
import pytest

from tsrnn.evaluation import backtest, compare, evaluate
from tsrnn.forecasting import ARIMA, Naive, SeasonalNaive
from tsrnn.metrics import interval_score, pinball


def monthly(values, name="y"):
    return pd.Series(values, index=pd.date_range("2000-01-01", periods=len(values), freq="MS"), name=name)


def noisy(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return 20 + 3 * np.sin(2 * np.pi * np.arange(n) / 12) + np.cumsum(rng.normal(size=n)) * 0.3 + rng.normal(size=n)


def windows(frame):
    """(cutoff, rows of that window) in cutoff order, for one series."""
    return [(cutoff, rows.sort_values("ds")) for cutoff, rows in frame.groupby("cutoff", sort=True)]


def test_msis_per_level_by_hand():
    y = monthly(noisy())
    frame = backtest(SeasonalNaive(season_length=12), y, horizon=4, n_windows=3, level=[80, 95])
    scores = evaluate(frame, y, metrics=["mase"], level=[80, 95])
    assert {"msis-80", "msis-95", "coverage-80", "interval_score-95"} <= set(scores.columns)
    for level in (80, 95):
        by_hand = []
        for cutoff, rows in windows(frame):
            train = y[y.index <= cutoff].to_numpy()
            scale = np.mean(np.abs(train[12:] - train[:-12]))  # the in-sample seasonal naive MAE
            lo, hi = rows[f"SeasonalNaive-lo-{level}"], rows[f"SeasonalNaive-hi-{level}"]
            by_hand.append(interval_score(rows["y"], lo, hi, level) / scale)
        assert scores.loc["SeasonalNaive", f"msis-{level}"] == pytest.approx(np.mean(by_hand))


def test_compare_reports_msis_for_every_model_with_intervals():
    y = monthly(noisy(seed=1))
    leaderboard, _ = compare([Naive(), ARIMA(order=(1, 1, 0))], y, horizon=3, n_windows=3, level=[80, 95])
    for column in ("msis-80", "msis-95"):
        assert np.isfinite(leaderboard[column]).all() and (leaderboard[column] > 0).all()
    # the scale is positive, so MSIS and the interval score are zero or positive together
    assert (leaderboard["interval_score-80"] > 0).all()


def test_pinball_per_quantile_by_hand_and_no_mean_over_fewer_quantiles():
    y = monthly(noisy(seed=2))
    full = backtest(SeasonalNaive(season_length=12, quantiles=[0.1, 0.5, 0.9]), y, horizon=3, n_windows=3)
    tails = backtest(Naive(quantiles=[0.1, 0.9]), y, horizon=3, n_windows=3)
    frame = full.merge(tails, on=["unique_id", "ds", "cutoff", "y"])
    scores = evaluate(frame, y, metrics=["mae"])  # pinball is added: the frame has quantiles
    assert {"pinball", "pinball-q0.1", "pinball-q0.5", "pinball-q0.9"} <= set(scores.columns)
    for q in (0.1, 0.5, 0.9):
        by_hand = np.mean([pinball(r["y"], r[f"SeasonalNaive-q{q:g}"], q) for _, r in windows(frame)])
        assert scores.loc["SeasonalNaive", f"pinball-q{q:g}"] == pytest.approx(by_hand)
    expected_mean = np.mean([scores.loc["SeasonalNaive", f"pinball-q{q:g}"] for q in (0.1, 0.5, 0.9)])
    assert scores.loc["SeasonalNaive", "pinball"] == pytest.approx(expected_mean)
    # Naive has no 0.5 quantile: that column and its mean are NaN (not a mean over two quantiles)
    assert np.isnan(scores.loc["Naive", "pinball-q0.5"]) and np.isnan(scores.loc["Naive", "pinball"])
    by_hand = np.mean([pinball(r["y"], r["Naive-q0.9"], 0.9) for _, r in windows(frame)])
    assert scores.loc["Naive", "pinball-q0.9"] == pytest.approx(by_hand)
    assert not scores.attrs["non_finite_windows"]  # missing quantiles are not failures


def test_models_without_quantiles_get_no_pinball_columns():
    y = monthly(noisy(seed=3))
    scores = evaluate(backtest(Naive(), y, horizon=2, n_windows=2), y)
    assert not any(c.startswith("pinball") for c in scores.columns)


def test_the_suite_reports_coverage_width_and_msis_per_level():
    from tsrnn.evaluation.suite import run_suite, summarize

    results = run_suite(["seasonalnaive"], seeds=(), datasets=["nile"], n_windows=2, log=lambda line: None, level=[80])
    row = results.iloc[0]
    assert {"coverage_80", "width_80", "msis_80"} <= set(results.columns)
    assert 0 <= row["coverage_80"] <= 1 and row["width_80"] > 0 and row["msis_80"] >= row["width_80"]
    summary = summarize(results)
    assert summary.loc["SeasonalNaive", "mean_coverage_80"] == pytest.approx(row["coverage_80"])
    # without level, only the classical models' quantile band is scored (nothing refits)
    plain = run_suite(["seasonalnaive"], seeds=(), datasets=["nile"], n_windows=2, log=lambda line: None)
    assert "coverage_80" in plain.columns and "msis_80" not in plain.columns
