"""Thread control (n_threads, per-call thread choice, joblib workers) and step-buffer reuse."""

import numba
import numpy as np
import pytest

from tsrnn import GRURegressor, LSTMRegressor, _config
from tsrnn.nn import LOSSES, RecurrentNetwork

needs_two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2 or not _config.PARALLEL, reason="needs parallel kernels and 2+ threads"
)


def _sine_windows(n=300, window=16, horizon=4):
    t = np.arange(n)
    series = np.sin(0.3 * t) + 0.1 * np.cos(1.1 * t)
    X = np.lib.stride_tricks.sliding_window_view(series, window)[: n - window - horizon + 1]
    y = np.lib.stride_tricks.sliding_window_view(series[window:], horizon)
    return X, y[: len(X)]


@pytest.fixture
def parallel_small_problems(monkeypatch):
    """Let tiny test problems use every thread (the default policy keeps them on one)."""
    monkeypatch.setattr(_config, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(_config, "PARALLEL_MIN_MACS", 1)


@needs_two_threads
@pytest.mark.parametrize("Estimator", [LSTMRegressor, GRURegressor])
def test_n_threads_gives_the_same_model_and_restores_numba(Estimator, parallel_small_problems):
    X, y = _sine_windows()
    kwargs = dict(hidden_size=8, max_epochs=3, batch_size=128, early_stopping=False, random_state=0)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        two = Estimator(n_threads=2, **kwargs).fit(X, y)
        assert numba.get_num_threads() == 1  # restored after fit
        pred_two = two.predict(X)
        assert numba.get_num_threads() == 1  # and after predict
        numba.set_num_threads(2)
        one = Estimator(n_threads=1, **kwargs).fit(X, y)
        assert numba.get_num_threads() == 2
        pred_one = one.predict(X)
    finally:
        numba.set_num_threads(previous)
    # Two shards sum partial gradients in another order than one: equal to rounding.
    np.testing.assert_allclose(pred_two, pred_one, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(two.network_.params, one.network_.params, rtol=1e-3, atol=1e-5)


def test_n_threads_is_validated():
    X, y = _sine_windows(n=60)
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(ValueError, match="The 'n_threads' parameter of LSTMRegressor must be"):
            LSTMRegressor(n_threads=bad, max_epochs=1).fit(X, y)
    for good in (None, -1, 1):
        LSTMRegressor(n_threads=good, hidden_size=4, max_epochs=1).fit(X, y)


def test_numba_threads_restored_when_fit_fails(monkeypatch):
    def fail(*args, **kwargs):
        assert numba.get_num_threads() == 1
        raise RuntimeError("training failed")

    monkeypatch.setattr(RecurrentNetwork, "loss_and_grad", fail)  # inside the trainer's epoch loop
    X, y = _sine_windows(n=60)
    previous = numba.get_num_threads()
    with pytest.raises(RuntimeError, match="training failed"):
        LSTMRegressor(n_threads=1, hidden_size=4, max_epochs=2).fit(X, y)
    assert numba.get_num_threads() == previous


def test_threads_for_policy(monkeypatch):
    monkeypatch.setattr(_config, "PARALLEL_MIN_ROWS", 128)
    monkeypatch.setattr(_config, "PARALLEL_MIN_MACS", 4e6)
    limit = _config.get_num_threads()
    # The forecaster's typical step (batch 64, lstm H=64, T=24) stays on one thread.
    assert _config.threads_for(24 * 64 * 4 * 64 * 65, 64) == 1
    # Too little work per thread: one thread whatever the batch.
    assert _config.threads_for(1e6, 4096) == 1
    # Enough rows and work: every available thread, never more.
    assert _config.threads_for(48 * 256 * 32 * 33, 256) == min(2, limit)
    assert _config.threads_for(1e12, 10**6) == limit


def test_kernel_threads_restores_counts():
    previous = numba.get_num_threads()
    with _config.kernel_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == previous
    with _config.kernel_threads(10**6):  # capped by the current count
        assert numba.get_num_threads() == previous
    with _config.using_threads(None):
        assert numba.get_num_threads() == previous


def test_step_buffers_are_reused_and_released(rng):
    net = RecurrentNetwork("lstm", 3, 8, 2, 2, dtype=np.float32)
    net.initialize(rng)
    X = rng.standard_normal((6, 40, 3)).astype(np.float32)
    y = rng.standard_normal((40, 2))
    first = net.loss_and_grad(X, y, LOSSES["mse"])
    grad = net.grad.copy()
    buffer = net._workspaces["train"].buffer
    # A smaller batch reuses the same memory; the full batch again gives the same result.
    net.loss_and_grad(X[:, :13], y[:13], LOSSES["mse"])
    assert net._workspaces["train"].buffer is buffer
    assert net.loss_and_grad(X, y, LOSSES["mse"]) == first
    np.testing.assert_array_equal(net.grad, grad)
    pred = net.predict(X)
    assert "predict" in net._workspaces
    net.release_workspaces()
    assert not net._workspaces
    np.testing.assert_array_equal(net.predict(X), pred)


def test_fit_releases_step_buffers():
    X, y = _sine_windows(n=80)
    model = LSTMRegressor(hidden_size=4, max_epochs=2).fit(X, y)
    assert not model.network_._workspaces


def test_backtest_task_in_a_worker_pool_runs_numba_single_threaded(monkeypatch):
    import importlib

    bt = importlib.import_module("tsrnn.forecasting.backtest")

    seen = []

    def spy(model, train, X_future, horizon, fitted):
        seen.append(numba.get_num_threads())
        return "ok"

    monkeypatch.setattr(bt, "_fit_predict", spy)
    with _config.using_threads(-1):
        assert bt._fit_predict_one_thread(None, None, None, 1, None) == "ok"
        assert seen == [1]
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
