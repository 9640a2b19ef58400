"""CUDA fits (tsrnn.nn.device) against CPU fits: same seed, same batches, the same weights.

CI runs this module on the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set before numba is
imported; see .ci/run) with small launches, so several blocks, partial tiles and strided
loops run. A fit without dropout draws the same batch order on both devices, so after a few
epochs the weights agree to float64 rounding (the simulator computes in float64) or float32
tolerance. The kernels themselves are checked against the float64 reference in
tests/kernels/test_cuda_kernels.py and tests/kernels/test_cuda_train_ops.py.
"""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from ._benchmarks import load_benchmark
from ._cuda import require_cuda
from ._cuda import small_launches as _small_launches

cuda = require_cuda()

from tsrnn import RNNClassifier, RNNForecaster, RNNRegressor, load_model  # noqa: E402
from tsrnn.datasets import load_airpassengers  # noqa: E402
from tsrnn.nn import ArrayWindows, RecurrentNetwork, Trainer, seeded_generator  # noqa: E402
from tsrnn.nn import device as device_module  # noqa: E402

TOL = {np.float64: dict(rtol=1e-7, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    _small_launches(monkeypatch)


def problem(rng, dtype, T=3, N=7, D=2, n_targets=2, per_step=False):
    """Time-major inputs ``(T, N, D)`` and targets with a learnable relation to them."""
    X = rng.standard_normal((T, N, D)).astype(dtype)
    if per_step:
        y = np.cumsum(X[:, :, :1], axis=0).transpose(1, 0, 2).repeat(n_targets, axis=2)
    else:
        y = np.stack([X[-1, :, 0], X[:, :, -1].mean(axis=0)], axis=1)[:, :n_targets]
    return X, np.ascontiguousarray(y, dtype=np.float64)


def fit(device, X, y, cell="lstm", hidden=3, layers=1, dtype=np.float64, validation=None, per_step=False, **options):
    rng = seeded_generator(0)
    n_out = y.shape[-1] * (len(options["quantiles"]) if "quantiles" in options else 1)
    network = RecurrentNetwork(cell, X.shape[2], hidden, layers, n_out, dtype=dtype, return_sequences=per_step)
    network.initialize(rng)
    trainer = Trainer(**{"batch_size": 4, "max_epochs": 1, **options}, device=device)
    history = trainer.fit(network, trainer.start(network, rng), ArrayWindows(X, y), validation)
    return network, history


def assert_fits_agree(X, y, dtype=np.float64, **options):
    cpu, h_cpu = fit("cpu", X, y, dtype=dtype, **options)
    gpu, h_gpu = fit("cuda", X, y, dtype=dtype, **options)
    np.testing.assert_allclose(gpu.params, cpu.params, **TOL[dtype])
    np.testing.assert_allclose(h_gpu.loss_curve, h_cpu.loss_curve, **TOL[dtype])
    return (cpu, h_cpu), (gpu, h_gpu)


# The simulator runs a Python thread per CUDA thread (a GEMM launch of these shapes takes ~0.3 s),
# so the problems are tiny: 7 samples in batches of 4 (a partial last batch), one epoch unless a
# test needs more. Hidden 3 keeps W_hh in (the tests' 512 bytes of) shared memory for every cell,
# 12 reads it from global memory.
@pytest.mark.parametrize(
    "cell, layers, hidden", [("rnn", 2, 3), ("lstm", 2, 3), ("gru", 2, 3), ("lstm", 1, 12), ("gru", 1, 12)]
)
def test_fit_matches_cpu(cell, layers, hidden, rng):
    X, y = problem(rng, np.float64)
    assert_fits_agree(X, y, cell=cell, layers=layers, hidden=hidden)


def test_float32_fit_matches_cpu(rng):
    X, y = problem(rng, np.float32)
    assert_fits_agree(X, y, dtype=np.float32, cell="gru")


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_losses_match_cpu(loss, rng):
    X, y = problem(rng, np.float64)
    assert_fits_agree(X, 3 * y, loss=loss, cell="rnn")


def test_quantile_loss_matches_cpu(rng):
    X, y = problem(rng, np.float64)
    assert_fits_agree(X, y, loss="quantile", quantiles=np.array([0.1, 0.5, 0.9]), cell="gru", layers=1)


def test_per_step_head_matches_cpu(rng):
    X, y = problem(rng, np.float64, per_step=True)
    assert_fits_agree(X, y, per_step=True, cell="lstm")


@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer="sgd", learning_rate=0.05, weight_decay=0.01),
        dict(optimizer="momentum", learning_rate=0.02),
        dict(optimizer="adamw", learning_rate=0.01, weight_decay=0.1, clip_norm=0.05),  # clipping on every step
        dict(optimizer="adam", clip_norm=None, lr_schedule="plateau", n_iter_no_change=1, max_epochs=3, batch_size=8),
    ],
    ids=["sgd", "momentum", "adamw-clipped", "adam-unclipped-plateau"],
)
def test_optimizers_match_cpu(options, rng):
    X, y = problem(rng, np.float64)
    assert_fits_agree(X, y, cell="rnn", layers=1, **options)


def test_early_stopping_matches_cpu(rng):
    """Validation curves and the restored best weights agree; patience ends both fits at the same epoch."""
    X, y = problem(rng, np.float64)
    validation = ArrayWindows(*problem(rng, np.float64, N=4))
    (cpu, h_cpu), (gpu, h_gpu) = assert_fits_agree(
        X, y, cell="gru", validation=validation, max_epochs=5, n_iter_no_change=2, learning_rate=0.2, batch_size=8
    )
    np.testing.assert_allclose(h_gpu.validation_loss_curve, h_cpu.validation_loss_curve, **TOL[np.float64])
    np.testing.assert_allclose(h_gpu.validation_scores, h_cpu.validation_scores, **TOL[np.float64])
    assert h_gpu.n_iter == h_cpu.n_iter
    np.testing.assert_allclose(h_gpu.best_params, h_cpu.best_params, **TOL[np.float64])


def test_continued_fit_matches_cpu(rng):
    """A second fit call continues the optimizer state (Adam moments and step count) kept on the host."""
    X, y = problem(rng, np.float64)
    results = {}
    for device in ("cpu", "cuda"):
        network, history = fit(device, X, y, cell="rnn")
        Trainer(batch_size=4, max_epochs=1, device=device).fit(network, history, ArrayWindows(X, y))
        results[device] = network.params, history.optimizer.m, history.optimizer.t
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], **TOL[np.float64])
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], **TOL[np.float64])
    assert results["cuda"][2] == results["cpu"][2] == 4  # 2 batches in each of 2 calls


def test_dropout_is_reproducible(rng):
    X, y = problem(rng, np.float64)
    first, _ = fit("cuda", X, y, layers=2, dropout=0.3, batch_size=8)
    again, _ = fit("cuda", X, y, layers=2, dropout=0.3, batch_size=8)
    without, _ = fit("cuda", X, y, layers=2, batch_size=8)
    np.testing.assert_array_equal(first.params, again.params)
    assert np.all(np.isfinite(first.params))
    assert not np.allclose(first.params, without.params)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the infinite target's NaNs
def test_divergence_fails_as_on_the_cpu(rng):
    """A non-finite loss in the first epoch raises, leaving no NaN weights behind a later, good epoch."""
    X, y = problem(rng, np.float64)
    y_bad = y.copy()
    y_bad[3] = np.inf
    for device in ("cpu", "cuda"):
        with pytest.raises(FloatingPointError, match="Training diverged"):
            fit(device, X, y_bad)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_after_an_epoch_keeps_the_optimizer_state_of_the_cpu(rng):
    """A second fit call that diverges in its third batch: the best weights come back with a warning,
    and the Adam step count and moments are those of the steps that ran, as on the CPU (the device
    launches the remaining steps of the epoch, which change nothing and are not counted)."""
    X, y = problem(rng, np.float64, N=10)  # 3 batches of 4, 4, 2
    y_bad = y.copy()
    results = {}
    for device in ("cpu", "cuda"):
        rng_fit = seeded_generator(0)
        network = RecurrentNetwork("gru", X.shape[2], 3, 1, y.shape[1], dtype=np.float64)
        network.initialize(rng_fit)
        trainer = Trainer(batch_size=4, max_epochs=1, device=device)
        history = trainer.fit(network, trainer.start(network, rng_fit), ArrayWindows(X, y))
        if device == "cpu":  # the sample that the second epoch's third batch starts with, on both devices
            state = history.rng.bit_generator.state
            y_bad[history.rng.permutation(X.shape[1])[8]] = np.inf
            history.rng.bit_generator.state = state
        with pytest.warns(ConvergenceWarning, match="Training diverged"):
            trainer.fit(network, history, ArrayWindows(X, y_bad))
        results[device] = network.params.copy(), history.optimizer
    (p_cpu, opt_cpu), (p_gpu, opt_gpu) = results["cpu"], results["cuda"]
    assert opt_cpu.t == opt_gpu.t == 3 + 2
    np.testing.assert_allclose(p_gpu, p_cpu, **TOL[np.float64])
    np.testing.assert_allclose(opt_gpu.m, opt_cpu.m, **TOL[np.float64])
    np.testing.assert_allclose(opt_gpu.v, opt_cpu.v, **TOL[np.float64])


def test_data_crosses_once_per_fit(rng, monkeypatch):
    """Per epoch only the batch order goes to the device and only the losses and the status flag
    come back: no host round trip per step or per batch."""
    X, y = problem(rng, np.float64, T=2, N=6)  # 3 batches of 2 per epoch
    calls = {"to_device": 0, "copy_to_host": 0}
    to_device = device_module.cuda.to_device
    host_copy = type(cuda.device_array(1)).copy_to_host

    def counting_to_device(*args, **kwargs):
        calls["to_device"] += 1
        return to_device(*args, **kwargs)

    def counting_copy_to_host(self, *args, **kwargs):
        calls["copy_to_host"] += 1
        return host_copy(self, *args, **kwargs)

    monkeypatch.setattr(device_module.cuda, "to_device", counting_to_device)
    monkeypatch.setattr(type(cuda.device_array(1)), "copy_to_host", counting_copy_to_host)
    counts = []
    for epochs in (1, 2):
        calls.update(to_device=0, copy_to_host=0)
        fit("cuda", X, y, cell="rnn", hidden=2, max_epochs=epochs, batch_size=2)
        counts.append(dict(calls))
    per_epoch = {name: counts[1][name] - counts[0][name] for name in calls}
    assert per_epoch == {"to_device": 1, "copy_to_host": 2}  # the order; the losses and the flag


def test_unsupported_networks_say_so(rng):
    """What the device does not train, a custom loss, fails before any step (every architecture trains:
    tests/test_cuda_sequences.py)."""
    X, y = problem(rng, np.float64)
    network = RecurrentNetwork("gru", 2, 3, 1, 2, dtype=np.float64, bidirectional=True)
    before = network.params.copy()
    custom = Trainer(loss=lambda pred, target, q: (0.0, pred * 0), device="cuda")
    with pytest.raises(ValueError, match="device='cuda' trains with the built-in losses"):
        custom.fit(network, custom.start(network, seeded_generator(0)), ArrayWindows(X, y))
    np.testing.assert_array_equal(network.params, before)


def test_network_predicts_on_the_device(rng):
    X, _ = problem(rng, np.float32, N=5)
    for per_step in (False, True):
        network = RecurrentNetwork("lstm", 2, 3, 3, 2, return_sequences=per_step)  # 3 layers: alternating buffers
        network.initialize(seeded_generator(1))
        np.testing.assert_allclose(network.predict(X, device="cuda"), network.predict(X), **TOL[np.float32])


# --- the estimators and the forecaster ------------------------------------------------------------


def estimator_data(rng, n=8, T=3):
    X = rng.standard_normal((n, T, 2))
    return X, X[:, -1, 0] + 0.5 * X[:, :, 1].mean(axis=1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_regressor_on_cuda_predicts_as_on_cpu(cell, rng):
    X, y = estimator_data(rng)
    params = dict(cell=cell, hidden_size=3, max_epochs=2, batch_size=5, random_state=0, dtype="float64")
    cpu = RNNRegressor(**params).fit(X, y)
    gpu = RNNRegressor(**params, device="cuda").fit(X, y)
    assert gpu.device_ == "cuda"
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), **TOL[np.float64])
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, **TOL[np.float64])


def test_classifier_on_cuda_predicts_as_on_cpu(rng):
    X, y = estimator_data(rng, n=9)
    labels = np.array(["low", "mid", "high"])[np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))]
    params = dict(cell="gru", hidden_size=3, max_epochs=2, batch_size=5, random_state=0, class_weight="balanced")
    cpu = RNNClassifier(**params).fit(X, labels)
    gpu = RNNClassifier(**params, device="cuda").fit(X, labels)
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), **TOL[np.float32])


def test_cuda_model_moves_to_a_cpu_only_machine(rng, tmp_path):
    """Fitted on the device, then pickled, saved and loaded: the CPU predictions are the device's."""
    X, y = estimator_data(rng)
    model = RNNRegressor(hidden_size=3, max_epochs=1, random_state=0, device="cuda").fit(X, y)
    on_device = model.predict(X)
    restored = pickle.loads(pickle.dumps(model)).set_params(device="cpu")
    np.testing.assert_allclose(restored.predict(X), on_device, **TOL[np.float32])
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz").set_params(device="cpu")
    np.testing.assert_allclose(loaded.predict(X), on_device, **TOL[np.float32])


class _CustomLossRegressor(RNNRegressor):
    """A subclass training with its own loss: the one thing the device does not train."""

    def _training_loss(self):
        return lambda pred, target, quantiles: (float(np.mean((pred - target) ** 2)), 2 * (pred - target) / pred.size)


def test_estimators_refuse_what_cuda_does_not_train_and_auto_falls_back(rng):
    X, y = estimator_data(rng)
    with pytest.raises(ValueError, match="device='cuda' trains with the built-in losses"):
        _CustomLossRegressor(hidden_size=2, device="cuda", max_epochs=1).fit(X, y)
    assert _CustomLossRegressor(hidden_size=2, device="auto", max_epochs=1).fit(X, y).device_ == "cpu"
    assert RNNRegressor(hidden_size=2, device="auto", max_epochs=1).fit(X, y).device_ == "cuda"
    # bidirectional layers train on the device now (tests/test_cuda_sequences.py checks the results)
    assert RNNRegressor(hidden_size=2, bidirectional=True, device="auto", max_epochs=1).fit(X, y).device_ == "cuda"


def test_forecaster_on_cuda_forecasts_as_on_cpu():
    y = load_airpassengers()[:40]  # 26 windows of 12 inputs and 3 targets: one batch per epoch
    params = dict(cell="gru", horizon=3, input_size=12, hidden_size=3, max_epochs=2, batch_size=64)
    params.update(random_state=0, dtype="float64")
    cpu = RNNForecaster(**params).fit(y).predict()
    gpu = RNNForecaster(**params, device="cuda").fit(y).predict()
    np.testing.assert_allclose(gpu.to_numpy(), cpu.to_numpy(), **TOL[np.float64])


def test_gpu_benchmark_checks_and_times_a_whole_training_step():
    """benchmarks/gpu.py's fit check (CUDA vs CPU) and its training-step timer run (the simulator cannot be
    timed meaningfully: this proves the code path, not a speed)."""
    gpu = load_benchmark("gpu")
    assert gpu.check_fit("gru", workload=(4, 3, 2, 3, 1, 2), n_batches=2) < gpu.CHECK_RTOL
    epochs = []  # the simulator has no event timer: count the timed epochs instead
    gpu.cuda_time = lambda fn, warmup, repeats: (epochs.append(fn()), 1.0)[1]
    assert gpu.time_training_step("rnn", (4, 2, 1, 2, 1, 1), warmup=0, repeats=1, n_batches=2) == 0.5
    assert len(epochs) == 1 and np.isfinite(epochs[0])  # one epoch's mean loss
