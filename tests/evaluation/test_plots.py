import sys

import numpy as np
import pandas as pd
import pytest

from tsrnn.evaluation import compare, plot_forecasts, plot_leaderboard
from tsrnn.forecasting import Naive, SeasonalNaive

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def comparison():
    y = pd.DataFrame(
        {
            "a": 10 + np.tile([1.0, 3, 2, 5], 8) + np.sin(np.arange(32)),
            "b": 20 + np.tile([2.0, 1, 4, 3], 8) + np.arange(32) / 4,
        },
        index=pd.date_range("2000", periods=32, freq="QS"),
    )
    models = [Naive(quantiles=[0.1, 0.9]), SeasonalNaive(season_length=4, quantiles=[0.05, 0.1, 0.9, 0.95])]
    return y, compare(models, y, horizon=4, n_windows=2)


def _assert_png(figure, path):
    figure.savefig(path)
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_backtest_forecasts_writes_a_png(tmp_path, comparison):
    y, (leaderboard, forecasts) = comparison
    figure = plot_forecasts(forecasts, y, history=8)
    assert len(figure.axes) == 2
    _assert_png(figure, tmp_path / "forecasts.png")


def test_plot_predict_output_and_one_series(tmp_path, comparison):
    y, _ = comparison
    forecast = SeasonalNaive(season_length=4, quantiles=[0.1, 0.9]).fit(y["a"]).predict(6)
    long = forecast.rename_axis("ds").reset_index().assign(unique_id="a")
    figure = plot_forecasts(long, y["a"].rename("a"), unique_ids=["a"])
    _assert_png(figure, tmp_path / "one.png")
    with pytest.raises(ValueError, match="No forecast columns"):
        plot_forecasts(long, models=["ETS"])


def test_plot_leaderboard_writes_a_png(tmp_path, comparison):
    _, (leaderboard, _) = comparison
    _assert_png(plot_leaderboard(leaderboard), tmp_path / "board.png")
    # non-finite scores (MASE on a perfectly seasonal series) still draw
    _assert_png(plot_leaderboard(leaderboard.assign(mase=[np.inf, np.nan])), tmp_path / "inf.png")
    with pytest.raises(ValueError, match="no column 'nope'"):
        plot_leaderboard(leaderboard, metric="nope")


def test_missing_matplotlib_names_the_extra(monkeypatch, comparison):
    _, (leaderboard, _) = comparison
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"tsrnn\[plot\]"):
        plot_leaderboard(leaderboard)
