"""Thread control (n_threads, per-call thread choice, joblib workers) and step-buffer reuse."""

import threading

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

    def spy(model, train, X_future, horizon, fitted, level=None):
        seen.append(numba.get_num_threads())
        return "ok"

    monkeypatch.setattr(bt, "_fit_predict", spy)
    with _config.using_threads(-1):
        assert bt._fit_predict_one_thread(None, None, None, 1, None) == "ok"
        assert seen == [1]
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS


# -- concurrency: several Python threads on one model, or on different models ---------------


def _run_in_threads(*tasks):
    """Run each callable in its own thread, started together; return their results in order."""
    barrier = threading.Barrier(len(tasks))
    results, errors = [None] * len(tasks), []

    def run(k):
        try:
            barrier.wait()
            results[k] = tasks[k]()
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_concurrent_predict_on_one_regressor_matches_serial(rng):
    X, y = _sine_windows(n=400, window=24)
    model = LSTMRegressor(hidden_size=16, num_layers=2, max_epochs=2, random_state=0).fit(X, y)
    inputs = [np.tile(X, (4, 1)) * scale for scale in (1.0, -0.5)]  # different inputs per thread
    expected = [model.predict(x) for x in inputs]

    def predict_repeatedly(k):
        return [model.predict(inputs[k]) for _ in range(15)]

    results = _run_in_threads(lambda: predict_repeatedly(0), lambda: predict_repeatedly(1))
    for k, outputs in enumerate(results):
        for out in outputs:
            np.testing.assert_array_equal(out, expected[k])


def test_concurrent_forecaster_predict_matches_serial():
    import pandas as pd

    from tsrnn import RNNForecaster

    t = np.arange(240)
    y = pd.DataFrame(
        {f"s{k}": 10 + np.sin(0.5 * t + k) + 0.01 * k * t for k in range(60)},
        index=pd.date_range("2000-01-01", periods=240, freq="D"),
    )
    model = RNNForecaster(horizon=4, input_size=48, hidden_size=16, num_layers=2, max_epochs=1, random_state=0)
    model.fit(y)
    expected = model.predict(4)
    results = _run_in_threads(*[lambda: [model.predict(4) for _ in range(10)]] * 2)
    for outputs in results:
        for out in outputs:
            pd.testing.assert_frame_equal(out, expected)


def test_blas_limit_holds_while_any_thread_runs_kernels():
    from threadpoolctl import threadpool_info, threadpool_limits

    if not any(info["user_api"] == "blas" and info["num_threads"] > 1 for info in threadpool_info()):
        pytest.skip("BLAS runs single-threaded here")
    with _config.single_threaded_blas():
        pass  # loads the BLAS controllers
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def blas_threads():
        return max(c.get_num_threads() for c in _config._blas_controller)

    def first():
        with _config.single_threaded_blas():
            a_inside.set()
            b_inside.wait()
        a_left.set()

    def second():
        a_inside.wait()
        with _config.single_threaded_blas():
            b_inside.set()
            a_left.wait()
            seen["after the first left"] = blas_threads()
        seen["after both left"] = blas_threads()

    with threadpool_limits(2, user_api="blas"):
        _run_in_threads(first, second)
    assert seen == {"after the first left": 1, "after both left": 2}


def test_blas_limit_applies_in_a_worker_thread():
    from threadpoolctl import threadpool_info, threadpool_limits

    if not any(info["user_api"] == "blas" for info in threadpool_info()):
        pytest.skip("no BLAS found")

    def inside():
        with _config.single_threaded_blas():
            return max(c.get_num_threads() for c in _config._blas_controller)

    with threadpool_limits(2, user_api="blas"):  # makes the main thread threadpoolctl's controlling one
        assert _run_in_threads(inside) == [1]


@pytest.mark.parametrize("cells", [("lstm", "gru"), ("lstm", "lstm")])
def test_concurrent_fits_are_bit_identical_to_fits_alone(cells):
    from tsrnn import RNNRegressor

    X, y = _sine_windows(n=500, window=24)
    configs = [dict(cell=cell, hidden_size=24, max_epochs=3, random_state=k) for k, cell in enumerate(cells)]
    alone = [RNNRegressor(**c).fit(X, y) for c in configs]
    together = _run_in_threads(*[lambda c=c: RNNRegressor(**c).fit(X, y) for c in configs])
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a.network_.params, b.network_.params)
        np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_predict_while_another_model_trains_is_unaffected():
    X, y = _sine_windows(n=400, window=24)
    fitted = LSTMRegressor(hidden_size=16, max_epochs=2, random_state=0).fit(X, y)
    expected = fitted.predict(X)
    results = _run_in_threads(
        lambda: [fitted.predict(X) for _ in range(20)],
        lambda: LSTMRegressor(hidden_size=16, max_epochs=3, random_state=1).fit(X, y),
    )
    for out in results[0]:
        np.testing.assert_array_equal(out, expected)
