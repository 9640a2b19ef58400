"""Forecasts and backtests on a 2-worker dask.distributed LocalCluster equal the serial ones.

One cluster (two worker processes, one thread each, bound to 127.0.0.1) serves the whole
module and is closed at its end. Sizes are small: the cluster's start (~10 s on two
shared cores) dominates.
"""

import os
import sys

import numpy as np
import pandas as pd
import pytest

from tsrnn.datasets import load_dataset
from tsrnn.forecasting import ETS, AutoARIMA, BaseForecaster, Naive, RNNForecaster, SeasonalNaive
from tsrnn.forecasting import distributed as td
from tsrnn.forecasting.backtest import backtest, backtest_models

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def panel_frame():
    """Five quarterly series (US macro), the last 60 quarters: small, real, of different scales."""
    df = load_dataset("macrodata")
    return df.groupby("unique_id", sort=False).tail(60).reset_index(drop=True)


# ---------------------------------------------------------------- test forecasters


class RowCounter(BaseForecaster):
    """Forecasts, for every series, the number of rows its fit received (all series of the call)."""

    _parameter_constraints = {}
    _independent_series = True
    _series_attributes = ("rows_",)

    def __init__(self, alias=None):
        self.alias = alias

    def _fit_panel(self, panel):
        self.rows_ = np.full(panel.n_series, float(len(panel.values)))

    def _predict_panel(self, h, panel_future_exog):
        return np.repeat(self.rows_[:, None], h, axis=1)


class Probe:
    """Appends the process id to ``path`` each time it is unpickled (never when copied shallowly)."""

    def __init__(self, path):
        self.path = path

    def __setstate__(self, state):
        self.__dict__.update(state)
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


class GlobalLast(BaseForecaster):
    """A "global" model (one shared fitted object, the probe) forecasting each series' last value."""

    _parameter_constraints = {}
    _series_attributes = ("last_",)

    def __init__(self, path=None, alias=None):
        self.path = path
        self.alias = alias

    def _fit_panel(self, panel):
        self.probe_ = Probe(self.path)
        self.last_ = panel.values[panel.indptr[1:] - 1]

    def _predict_panel(self, h, panel_future_exog):
        assert len(self.panel_.values) == self.panel_.indptr[-1]
        return np.repeat(self.last_[:, None], h, axis=1)


# ---------------------------------------------------------------- without a cluster


def test_partition_bounds():
    indptr = np.array([0, 10, 20, 30, 40, 100])
    bounds = td.partition_bounds(indptr, 3)
    assert bounds[0] == 0 and bounds[-1] == 5 and np.all(np.diff(bounds) > 0)
    assert td.partition_bounds(indptr, 1).tolist() == [0, 5]
    assert td.partition_bounds(indptr, 50).tolist() == [0, 2, 4, 5]  # balanced by rows: the long one alone
    assert td.partition_bounds(np.arange(6) * 10, 50).tolist() == [0, 1, 2, 3, 4, 5]  # at most one per series


def test_take_series_keeps_only_its_rows(panel_frame):
    panel = Naive().fit(panel_frame).panel_
    part = td.take_series(panel, 1, 3)
    assert list(part.ids) == list(panel.ids[1:3]) and part.indptr.tolist() == [0, 60, 120]
    np.testing.assert_array_equal(part.values, panel.values[60:180])
    assert part.ds.equals(panel.ds[60:180]) and part.freq == panel.freq and part.kind == panel.kind


def test_missing_distributed_names_the_extra(monkeypatch, panel_frame):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r'pip install "tsrnn\[dask\]"'):
        backtest(Naive(), panel_frame, horizon=2, backend="dask")
    with pytest.raises(ImportError, match=r'pip install "tsrnn\[dask\]"'):
        td.forecast(Naive(), panel_frame, h=2)


def test_no_client_is_a_clear_error(monkeypatch, panel_frame):
    def no_client():
        raise ValueError("No global client found and no address provided")

    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(ValueError, match="connected dask.distributed Client"):
        td.predict(Naive().fit(panel_frame))


def test_unknown_backend(panel_frame):
    with pytest.raises(ValueError, match="backend must be None"):
        backtest(Naive(), panel_frame, horizon=2, backend="ray")


# ---------------------------------------------------------------- on the cluster


@pytest.mark.parametrize(
    "model",
    [SeasonalNaive(season_length=4), ETS(season_length=4), AutoARIMA(max_p=1, max_q=1, max_d=1)],
    ids=["SeasonalNaive", "ETS", "AutoARIMA"],
)
def test_per_series_forecast_equals_serial(client, panel_frame, model):
    y = panel_frame.iloc[:180]  # three series: the order searches are the slow part
    expected = model.forecast(y, h=4)
    pd.testing.assert_frame_equal(td.forecast(model, y, h=4, n_partitions=3), expected, check_exact=True)


def test_model_intervals_and_wide_input_equal_serial(client, panel_frame):
    wide = panel_frame.pivot(index="ds", columns="unique_id", values="y")
    wide.index = pd.DatetimeIndex(wide.index, freq="QS")
    model = ETS(trend="add", auto=False)
    expected = model.forecast(wide, h=3, level=[80])
    pd.testing.assert_frame_equal(td.forecast(model, wide, h=3, level=[80]), expected, check_exact=True)
    fitted = ETS(trend="add", auto=False).fit(wide)
    pd.testing.assert_frame_equal(td.predict(fitted, h=3, level=[80]), expected, check_exact=True)


def test_backtest_equals_serial(client, panel_frame):
    models = [SeasonalNaive(season_length=4), ETS(trend="add", auto=False)]
    expected, seconds = backtest_models(models, panel_frame, horizon=4, n_windows=3, step=2)
    out, dask_seconds = backtest_models(models, panel_frame, horizon=4, n_windows=3, step=2, backend="dask", n_jobs=3)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert dask_seconds.index.equals(seconds.index) and list(dask_seconds.columns) == list(seconds.columns)
    # refit=False: one fit per series on the first window, updated at later cutoffs
    ets = ETS(trend="add", auto=False)
    expected = backtest(ets, panel_frame, horizon=4, n_windows=2, refit=False)
    out = backtest(ets, panel_frame, horizon=4, n_windows=2, refit=False, backend="dask")
    pd.testing.assert_frame_equal(out, expected, check_exact=True)


def test_each_task_gets_its_partition_only(client, panel_frame):
    out = td.forecast(RowCounter(), panel_frame, h=1, n_partitions=3)
    rows = out.set_index("unique_id")["RowCounter"]
    total = len(panel_frame)
    assert RowCounter().forecast(panel_frame, h=1)["RowCounter"].eq(total).all()  # serial: everything
    # each partition's fit saw exactly its own series' rows (60 per series)
    sizes = np.diff(td.partition_bounds(np.arange(6) * 60, 3))
    assert sizes.tolist() == [2, 2, 1]
    np.testing.assert_array_equal(rows.to_numpy(), np.repeat(sizes * 60.0, sizes))
    # a backtest: every window's fit saw its partition's training rows only
    cv = backtest(RowCounter(), panel_frame, horizon=2, n_windows=2, backend="dask", n_jobs=2)
    assert (cv["RowCounter"] < len(panel_frame)).all()


def test_global_model_is_shipped_once_per_worker(client, panel_frame, tmp_path):
    path = tmp_path / "unpickled"
    model = GlobalLast(path=str(path)).fit(panel_frame)
    expected = model.predict(h=2)
    out = td.predict(model, h=2, n_partitions=5)  # 5 tasks on 2 workers
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    pids = path.read_text().split()
    assert len(pids) == 2 and len(set(pids)) == 2 and str(os.getpid()) not in pids


def test_rnn_predict_and_backtest_on_partitions(client, panel_frame):
    rnn = RNNForecaster(cell="gru", horizon=4, input_size=8, hidden_size=8, max_epochs=2, random_state=0)
    rnn.fit(panel_frame)
    # The kernels' float32 results depend on the batch's size in the last bit (SIMD
    # remainders, BLAS blocking), and a partition is a smaller batch: equal to float32
    # rounding, not bit for bit (the baselines above are).
    pd.testing.assert_frame_equal(td.predict(rnn, n_partitions=3), rnn.predict(), rtol=1e-6)
    expected = backtest(rnn, panel_frame, horizon=4, n_windows=2, refit=False)
    out = backtest(rnn, panel_frame, horizon=4, n_windows=2, refit=False, backend="dask", n_jobs=3)
    pd.testing.assert_frame_equal(out, expected, rtol=1e-6)


def test_global_models_refuse_what_partitions_cannot_reproduce(client, panel_frame):
    rnn = RNNForecaster(cell="gru", horizon=2, input_size=8, hidden_size=4, max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="refit=False"):
        backtest(rnn, panel_frame, horizon=2, backend="dask")
    with pytest.raises(ValueError, match="distributed.predict"):
        td.forecast(rnn, panel_frame, h=2)
    with pytest.raises(ValueError, match="conformal"):
        td.predict(rnn.fit(panel_frame), level=[80])
