import sys

import numpy as np
import pandas as pd
import pytest

from tsrnn.evaluation import compare, plot_comparison, plot_forecasts, plot_leaderboard
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


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_a_series_forecast_with_quantiles_draws_its_history(tmp_path, comparison):
    """predict's own output for a Series input (a frame alias, alias-q...) with the history line."""
    y, _ = comparison
    forecast = SeasonalNaive(season_length=4, quantiles=[0.1, 0.9]).fit(y["a"]).predict(6)
    figure = plot_forecasts(forecast, y["a"], history=8)
    (ax,) = figure.axes
    assert _labels(ax)[:2] == ["actual", "SeasonalNaive"]
    assert len(ax.get_lines()[0].get_xdata()) == 8  # the history option
    assert len(ax.collections) == 1  # the shaded 80 % interval
    _assert_png(figure, tmp_path / "series.png")


def test_prediction_intervals_are_shaded(tmp_path, comparison):
    y, _ = comparison
    forecast = SeasonalNaive(season_length=4).fit(y["a"]).predict(6, level=[80, 95])
    (ax,) = plot_forecasts(forecast, y["a"]).axes
    assert _labels(ax) == ["actual", "SeasonalNaive"]  # the bounds are bands, not lines
    assert len(ax.collections) == 2
    _assert_png(ax.figure, tmp_path / "levels.png")


def test_many_series_draw_a_grid_or_on_given_axes(tmp_path, comparison):
    y, _ = comparison
    wide = y.assign(c=y["a"] * 2, d=y["b"] + 1)
    forecast = SeasonalNaive(season_length=4, quantiles=[0.1, 0.9]).fit(wide).predict(4)
    figure = plot_forecasts(forecast, wide, max_series=3)
    assert [ax.get_title() for ax in figure.axes] == ["a", "b", "c"]  # a 2 x 2 grid, the unused panel removed
    assert all(_labels(ax)[0] == "actual" for ax in figure.axes)
    _assert_png(figure, tmp_path / "grid.png")
    # a plain wide forecast (no quantiles) is recognised by its series columns
    plain = SeasonalNaive(season_length=4).fit(wide).predict(4)
    assert len(plot_forecasts(plain, wide).axes) == 4
    import matplotlib.pyplot as plt

    own, axes = plt.subplots(1, 2)
    assert plot_forecasts(forecast, wide, unique_ids=["d", "a"], ax=axes) is own
    assert [ax.get_title() for ax in axes] == ["d", "a"]
    with pytest.raises(ValueError, match="ax has 1 Axes for 4 series"):
        plot_forecasts(forecast, wide, ax=axes[0])
    with pytest.raises(ValueError, match=r"No forecasts for unique_ids \['z'\]"):
        plot_forecasts(forecast, wide, unique_ids=["z"])


def test_plot_comparison_draws_forecasts_and_leaderboard(tmp_path, comparison):
    y, result = comparison
    figure = plot_comparison(result, y, title="quarterly")
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[:2] == ["a", "b"]
    assert figure.axes[-1].get_xlabel() == "mase"  # the leaderboard
    assert figure.get_suptitle() == "quarterly"
    _assert_png(figure, tmp_path / "comparison.png")


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


@pytest.mark.parametrize("layout", ["series", "long"])
def test_period_index_forecasts_plot_with_their_history(tmp_path, comparison, layout):
    """PeriodIndex inputs (sktime's load_airline) keep their index type and plot on the time axis."""
    y, _ = comparison
    history = y["a"].copy()
    history.index = history.index.to_period("Q")
    if layout == "long":
        history = history.rename_axis("ds").reset_index(name="y").assign(unique_id="a")
    forecast = SeasonalNaive(season_length=4).fit(history).predict(4, level=[80])
    figure = plot_forecasts(forecast, history, history=8)
    (ax,) = figure.axes
    assert _labels(ax)[:2] == ["actual", "SeasonalNaive"]
    x_forecast = ax.get_lines()[1].get_xdata()
    x_actual = ax.get_lines()[0].get_xdata()
    assert len(x_actual) == 8 and len(x_forecast) == 4
    assert np.all(np.asarray(x_forecast, dtype=float) > np.asarray(x_actual, dtype=float).max())  # after it
    _assert_png(figure, tmp_path / f"period-{layout}.png")
