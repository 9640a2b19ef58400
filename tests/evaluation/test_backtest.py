import numpy as np
import pandas as pd
import pytest

from tsrnn.evaluation import Comparison, backtest, compare, evaluate, mae, mase
from tsrnn.forecasting import ARIMA, BaseForecaster, Naive, SeasonalNaive


def ramp(n=30, name="s"):
    """y_t = t on a monthly index: a value reveals the time it belongs to."""
    return pd.Series(np.arange(n, dtype=float), index=pd.date_range("2000-01-01", periods=n, freq="MS"), name=name)


def as_long(series, uid):
    return pd.DataFrame({"unique_id": uid, "ds": series.index, "y": series.to_numpy()})


class Spy(BaseForecaster):
    """Forecasts the last value it saw; logs what reached fit, update and predict."""

    _parameter_constraints = {}
    _uses_exog = True
    log = []

    def __init__(self, alias=None):
        self.alias = alias

    def _fit_panel(self, panel):
        Spy.log.append(("fit", panel.to_long()))

    def _update_panel(self, panel):
        Spy.log.append(("update", panel.to_long()))

    def _predict_panel(self, h, panel_future_exog):
        Spy.log.append(("predict", panel_future_exog))
        last = self.panel_.values[self.panel_.indptr[1:] - 1]
        return np.repeat(last[:, None], h, axis=1)


class UpdatableSpy(Spy):
    _supports_update = True


@pytest.fixture(autouse=True)
def clear_log():
    Spy.log.clear()


def test_cutoffs_and_test_windows():
    y = ramp(30)
    out = backtest(Naive(), y, horizon=4, n_windows=3)
    assert list(out.columns) == ["unique_id", "ds", "cutoff", "y", "Naive"]
    cutoffs = pd.to_datetime(["2001-06-01", "2001-10-01", "2002-02-01"])  # positions 17, 21, 25
    assert list(pd.unique(out["cutoff"])) == list(cutoffs)
    first = out[out["cutoff"] == cutoffs[0]]
    assert first["ds"].tolist() == list(pd.date_range("2001-07-01", periods=4, freq="MS"))
    np.testing.assert_array_equal(first["y"], [18, 19, 20, 21])
    np.testing.assert_array_equal(first["Naive"], [17] * 4)
    assert (out["unique_id"] == "s").all() and out["ds"].max() == y.index[-1]


def test_overlapping_windows_with_step():
    out = backtest(Naive(), ramp(30), horizon=4, n_windows=3, step=2)
    assert out["cutoff"].drop_duplicates().tolist() == list(ramp(30).index[[21, 23, 25]])
    assert len(out) == 12


def test_no_leakage_from_after_the_cutoff():
    y = ramp(40)
    X = pd.DataFrame({"x": 1000 + np.arange(40.0)}, index=y.index)
    out = backtest(Spy(), y, horizon=5, n_windows=4, step=3, X=X)
    # the forecast is the last value the model saw: exactly the value at the cutoff
    at_cutoff = y.loc[out["cutoff"]].to_numpy()
    np.testing.assert_array_equal(out["Spy"], at_cutoff)
    fits = [frame for kind, frame in Spy.log if kind == "fit"]
    futures = [exog for kind, exog in Spy.log if kind == "predict"]
    for cutoff, seen, future in zip(pd.unique(out["cutoff"]), fits, futures):
        assert seen["ds"].max() == cutoff and (seen["y"] <= y[cutoff]).all()
        assert (seen["x"] == 1000 + seen["y"]).all()  # past covariates only up to the cutoff
        position = y.index.get_loc(cutoff)
        # future covariates: exactly the forecast steps, nothing else
        np.testing.assert_array_equal(future[0, :, 0], 1000 + np.arange(position + 1, position + 6))


def test_sliding_windows_see_only_window_size_observations():
    out = backtest(Spy(), ramp(30), horizon=3, n_windows=3, strategy="sliding", window_size=10)
    fits = [frame for kind, frame in Spy.log if kind == "fit"]
    assert [len(f) for f in fits] == [10, 10, 10]
    assert [f["ds"].max() for f in fits] == list(pd.unique(out["cutoff"]))
    Spy.log.clear()
    backtest(Spy(), ramp(30), horizon=3, n_windows=3, strategy="sliding")
    assert [len(f) for kind, f in Spy.log if kind == "fit"] == [21, 21, 21]  # 30 - 3 - 2 * 3


def test_panel_with_different_lengths_gets_per_series_cutoffs():
    panel = pd.concat([as_long(ramp(20), "a"), as_long(ramp(15), "b")], ignore_index=True)
    out = backtest(Naive(), panel, horizon=2, n_windows=2)
    cutoffs = out.groupby("unique_id")["cutoff"].unique()
    assert list(cutoffs["a"]) == list(pd.date_range("2000-01-01", periods=20, freq="MS")[[15, 17]])
    assert list(cutoffs["b"]) == list(pd.date_range("2000-01-01", periods=15, freq="MS")[[10, 12]])


def test_refit_false_fits_once_and_updates():
    out = backtest(UpdatableSpy(), ramp(30), horizon=4, n_windows=3, refit=False)
    kinds = [kind for kind, _ in Spy.log]
    assert kinds.count("fit") == 1 and kinds.count("update") == 3
    np.testing.assert_array_equal(out["UpdatableSpy"], ramp(30).loc[out["cutoff"]].to_numpy())
    with pytest.raises(ValueError, match="refit=False needs a model .* Spy cannot"):
        backtest(Spy(), ramp(30), horizon=4, refit=False)


def test_refit_false_keeps_the_first_windows_parameters():
    y = pd.Series(np.sin(np.arange(60) / 4) * 10 + 20, index=pd.date_range("2000-01-01", periods=60, freq="D"))
    out = backtest(ARIMA(order=(2, 0, 0)), y, horizon=5, n_windows=2, refit=False)
    manual = ARIMA(order=(2, 0, 0)).fit(y[:50]).update(y[:55]).predict(5)
    np.testing.assert_allclose(out["ARIMA"].iloc[5:], manual, rtol=1e-10)


def test_parallel_runs_match_sequential_ones():
    y = pd.DataFrame(
        {"a": np.sin(np.arange(40.0)) + 5, "b": np.cos(np.arange(40.0)) + 5},
        index=pd.date_range("2000", periods=40, freq="D"),
    )
    model = SeasonalNaive(season_length=7, quantiles=[0.1, 0.9])
    pd.testing.assert_frame_equal(
        backtest(model, y, horizon=3, n_windows=4, n_jobs=2), backtest(model, y, horizon=3, n_windows=4)
    )


def test_backtest_argument_errors():
    with pytest.raises(
        ValueError, match="'s' has 10 observations; horizon=4, n_windows=3 and step=4 need more than 12"
    ):
        backtest(Naive(), ramp(10), horizon=4, n_windows=3)
    with pytest.raises(ValueError, match="strategy must be"):
        backtest(Naive(), ramp(30), horizon=2, strategy="rolling")
    with pytest.raises(ValueError, match="only used with strategy='sliding'"):
        backtest(Naive(), ramp(30), horizon=2, window_size=5)
    with pytest.raises(ValueError, match="horizon must be an int >= 1"):
        backtest(Naive(), ramp(30), horizon=0)


def test_evaluate_scales_mase_on_each_cutoffs_training_data():
    y = pd.Series([3.0, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], index=pd.date_range("2000", periods=12, freq="D"))
    out = backtest(Naive(), y, horizon=2, n_windows=2)
    scores = evaluate(out, y, metrics=["mase", "mae"], season_length=1, aggregate=False)
    assert list(scores.columns) == ["model", "unique_id", "cutoff", "mase", "mae"]
    values = y.to_numpy()
    expected = [mase(values[8:10], [values[7]] * 2, values[:8]), mase(values[10:12], [values[9]] * 2, values[:10])]
    np.testing.assert_allclose(scores["mase"], expected)
    np.testing.assert_allclose(scores["mae"], [mae(values[8:10], [values[7]] * 2), mae(values[10:12], [values[9]] * 2)])
    board = evaluate(out, y, metrics=["mase"], season_length=1)
    assert board.index.name == "model" and board.loc["Naive", "mase"] == pytest.approx(np.mean(expected))
    sliding = evaluate(out, y, metrics=["mase"], season_length=1, window_size=4, aggregate=False)
    np.testing.assert_allclose(sliding["mase"].iloc[0], mase(values[8:10], [values[7]] * 2, values[4:8]))
    with pytest.raises(ValueError, match="Unknown metric"):
        evaluate(out, y, metrics=["mape"])


def test_compare_leaderboard():
    y = pd.Series(
        10 + np.tile([1.0, 3, 2, 5], 10) + np.arange(40) / 5, index=pd.date_range("2000", periods=40, freq="QS")
    )
    models = [Naive(), SeasonalNaive(season_length=4, quantiles=[0.1, 0.9]), ARIMA(order=(1, 1, 0), alias="AR1")]
    result = compare(models, y, horizon=4, n_windows=2, metrics=("mase", "smape", "mae", "rmse", "coverage", "pinball"))
    assert isinstance(result, Comparison)
    leaderboard, forecasts = result
    assert leaderboard.index.name == "model"
    assert list(leaderboard.columns) == [
        "mase",
        "smape",
        "mae",
        "rmse",
        "coverage-80",
        "pinball",
        "pinball-q0.1",
        "pinball-q0.9",
        "compile_seconds",
        "fit_seconds",
        "predict_seconds",
    ]
    assert set(leaderboard.index) == {"Naive", "SeasonalNaive", "AR1"}
    assert leaderboard["mase"].is_monotonic_increasing
    assert leaderboard.index[0] == "SeasonalNaive"  # exact season + small drift
    assert np.isnan(leaderboard.loc["Naive", "coverage-80"])
    assert (leaderboard[["fit_seconds", "predict_seconds"]] >= 0).all().all()
    assert list(forecasts.columns) == [
        "unique_id",
        "ds",
        "cutoff",
        "y",
        "Naive",
        "SeasonalNaive",
        "SeasonalNaive-q0.1",
        "SeasonalNaive-q0.9",
        "AR1",
    ]
    # MASE defaults to the seasonal scale of the frequency (quarterly: 4)
    default = compare([Naive()], y, horizon=4, n_windows=2).leaderboard.loc["Naive", "mase"]
    seasonal = compare([Naive()], y, horizon=4, n_windows=2, season_length=4).leaderboard.loc["Naive", "mase"]
    assert default == pytest.approx(seasonal)


def test_backtest_models_shares_windows_and_times_each_model():
    from tsrnn.forecasting.backtest import BACKTEST_COLUMNS, backtest_models

    y = ramp(30)
    forecasts, seconds = backtest_models([Naive(), SeasonalNaive(season_length=3)], y, horizon=3, n_windows=2)
    assert list(forecasts.columns) == [*BACKTEST_COLUMNS, "Naive", "SeasonalNaive"]
    pd.testing.assert_frame_equal(forecasts.drop(columns="SeasonalNaive"), backtest(Naive(), y, horizon=3, n_windows=2))
    assert seconds.index.name == "model" and list(seconds.index) == ["Naive", "SeasonalNaive"]
    assert list(seconds.columns) == ["compile_seconds", "fit_seconds", "predict_seconds"] and (seconds >= 0).all().all()
    assert (seconds["compile_seconds"] == 0).all()  # baselines have no kernels to compile


def test_compare_needs_distinct_aliases():
    with pytest.raises(ValueError, match="distinct aliases"):
        compare([Naive(), Naive()], ramp(30), horizon=2)


@pytest.mark.parametrize(
    ("models", "error", "match"),
    [
        ([object()], TypeError, "Models must be tsrnn forecasters"),
        ([Naive(alias="ds")], ValueError, r"Alias\(es\) \['ds'\] would replace a column"),
        ([Naive(alias="cutoff")], ValueError, "would replace a column"),
        ([Naive(alias="N"), Naive(alias="N-lo-80")], ValueError, "reads as a column of model 'N'"),
    ],
)
def test_aliases_that_would_break_the_frame_are_refused(models, error, match):
    with pytest.raises(error, match=match):
        compare(models, ramp(30), horizon=2)


def test_compare_reads_a_long_frame_with_its_own_column_names():
    y = pd.concat([as_long(ramp(30), "a"), as_long(ramp(30) * 2, "b")], ignore_index=True)
    own = y.rename(columns={"unique_id": "store", "ds": "month", "y": "sales"})
    models = [Naive(), SeasonalNaive(season_length=3)]
    expected = compare(models, y, horizon=3, n_windows=2)
    result = compare(models, own, horizon=3, n_windows=2, id_col="store", time_col="month", target_col="sales")
    pd.testing.assert_frame_equal(
        result.leaderboard.drop(columns=["fit_seconds", "predict_seconds", "compile_seconds"]),
        expected.leaderboard.drop(columns=["fit_seconds", "predict_seconds", "compile_seconds"]),
    )
    assert list(result.forecasts.columns[:4]) == ["store", "month", "cutoff", "sales"]
    pd.testing.assert_frame_equal(
        result.forecasts.rename(columns={"store": "unique_id", "month": "ds", "sales": "y"}), expected.forecasts
    )
    with pytest.raises(ValueError, match=r"would replace a column of y"):
        compare([Naive(alias="sales")], own, horizon=3, id_col="store", time_col="month", target_col="sales")
    with pytest.raises(ValueError, match=r"y has no column\(s\) \['shop'\]"):
        compare(models, own, horizon=3, id_col="shop", time_col="month", target_col="sales")


def test_progress_bar(capsys):
    backtest(Naive(), ramp(30), horizon=2, progress=True)
    assert "backtest" in capsys.readouterr().err


def test_dask_backend():
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    y = ramp(30)
    expected = backtest(SeasonalNaive(season_length=3), y, horizon=3, n_windows=3)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster), parallel_config(backend="dask"):
            out = backtest(SeasonalNaive(season_length=3), y, horizon=3, n_windows=3, n_jobs=-1)
    pd.testing.assert_frame_equal(out, expected)


def test_inferred_season_falls_back_to_one_for_short_windows():
    weekly = pd.Series(np.sin(np.arange(40.0)) + 10, index=pd.date_range("2020-01-05", periods=40, freq="W"))
    out = backtest(Naive(), weekly, horizon=4, n_windows=2)
    # 52 weeks would exceed the 32-36 observations before each cutoff
    np.testing.assert_allclose(
        evaluate(out, weekly, metrics=["mase"]).loc["Naive", "mase"],
        evaluate(out, weekly, metrics=["mase"], season_length=1).loc["Naive", "mase"],
    )
    with pytest.raises(ValueError, match="longer than season_length=52"):
        evaluate(out, weekly, metrics=["mase"], season_length=52)
