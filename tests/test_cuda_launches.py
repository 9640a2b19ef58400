"""Every CUDA launch of a fit and a prediction has argument types that the PTX test compiles.

A GPU compiles each kernel for the numba types of the arguments it is launched with. The
simulator types nothing (it runs the Python functions), and tests/kernels/test_cuda_compile.py
compiles, assembles and checks the signatures of benchmarks/ptx_resources.py's inventory. So
this module records the types of every kernel launch (on the simulator) in float32 CUDA fits and
predictions that together use every kernel, and checks each against the inventory: an operand
that is not C-contiguous where the inventory says it is, or a Python float passed to a float32
kernel (numba types it float64), would make a GPU compile a kernel that no test compiled.
"""

import numba
import numpy as np
import pytest

from ._benchmarks import load_benchmark
from ._cuda import SIMULATOR, require_cuda
from ._cuda import small_launches as _small_launches

cuda = require_cuda()
if not SIMULATOR:
    pytest.skip("records launches through the CUDA simulator (NUMBA_ENABLE_CUDASIM=1)", allow_module_level=True)

from numba.cuda.simulator import kernel as simulator_kernel  # noqa: E402

from tsrnn.nn import ArrayWindows, RecurrentNetwork, Trainer, seeded_generator, softmax_cross_entropy  # noqa: E402

ptx_resources = load_benchmark("ptx_resources")


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    _small_launches(monkeypatch)


def _key(fn):
    return fn.__module__, fn.__qualname__


def _launch_type(arg):
    """The numba type a GPU launch gives ``arg``. As numba-cuda's ``DeviceNDArray._numba_type_``
    does, and unlike the simulator's arrays, a size-0 array (an unused operand) is not taken for a
    broadcast one ('A' layout): it is 'C'."""
    if getattr(arg, "__cuda_ndarray__", False) and arg.size == 0:
        return numba.types.Array(numba.from_dtype(arg.dtype), arg.ndim, "C")
    return numba.typeof(arg)


@pytest.fixture
def launches(monkeypatch):
    """``(kernel key, argument types)`` of every kernel launch (not device-function calls) while active."""
    recorded = []
    launch = simulator_kernel.FakeCUDAKernel.__call__

    def recording(self, *args):
        if not (self._device or simulator_kernel._kernel_context):
            recorded.append((_key(self.fn), tuple(_launch_type(a) for a in args)))
        return launch(self, *args)

    monkeypatch.setattr(simulator_kernel.FakeCUDAKernel, "__call__", recording)
    return recorded


def _fit_and_predict(network, X, y, X_val, y_val, **options):
    rng = seeded_generator(0)
    network.initialize(rng)
    trainer = Trainer(**{"batch_size": 4, "max_epochs": 1, **options}, device="cuda")
    trainer.fit(network, trainer.start(network, rng), ArrayWindows(X, y), ArrayWindows(X_val, y_val))
    network.predict(X, device="cuda")


def test_every_launch_uses_a_signature_the_ptx_test_compiles(launches, rng):
    T, N, D = 3, 7, 2
    f32 = np.float32
    # a 2-layer LSTM regressor with dropout, clipping, Adam and a validation set (the device
    # prediction of device inputs: the strided gather), then a device predict of host inputs
    X = rng.standard_normal((T, N, D)).astype(f32)
    y = rng.standard_normal((N, 2))
    network = RecurrentNetwork("lstm", D, 3, 2, 2, dtype=f32)
    _fit_and_predict(network, X, y, X[:, :3], y[:3], dropout=0.2, loss="huber")
    # a 2-layer bidirectional GRU on token ids with a per-step softmax head (cross-entropy, the
    # embedding and its gradient, the directions joined and split, the reverse input gradient)
    tokens = rng.integers(0, 5, (T, N))
    labels = np.eye(3)[rng.integers(0, 3, (N, T))]
    network = RecurrentNetwork("gru", 2, 3, 2, 3, dtype=f32, bidirectional=True, return_sequences=True, vocab_size=5)
    _fit_and_predict(network, tokens, labels, tokens[:, :3], labels[:3], loss=softmax_cross_entropy,
                     optimizer="momentum")  # fmt: skip
    # a one-layer rnn with sgd (its own kernels' launches)
    network = RecurrentNetwork("rnn", D, 3, 1, 2, dtype=f32)
    _fit_and_predict(network, X, y, X[:, :3], y[:3], optimizer="sgd")

    compiled = {}
    for _, fn, sig, _, _ in ptx_resources.kernels(f32):
        compiled.setdefault(_key(fn), set()).add(sig)
    untested = sorted({f"{key[1]}{sig}" for key, sig in launches if sig not in compiled.get(key, ())})
    assert not untested, "launches whose argument types the PTX test does not compile:\n" + "\n".join(untested)
    unlaunched = sorted(name for (_, name) in compiled.keys() - {key for key, _ in launches})
    assert not unlaunched, f"inventory kernels that no launch here used (extend the fits): {unlaunched}"
