"""The numba.cuda kernels against the float64 NumPy reference, on the CUDA simulator or a GPU.

CI runs this module with ``NUMBA_ENABLE_CUDASIM=1`` (set before numba is
imported). The simulator runs one Python thread per CUDA thread and the
blocks one after another, so shapes are tiny and the tiles small enough to
force several blocks and a partial last tile; it proves indexing and the
algorithm, not the absence of races (the kernels keep every cross-block
dependency between launches). The PTX compile test is in test_cuda_compile.py.
"""

import numpy as np
import pytest

from .._benchmarks import load_benchmark  # noqa: E402
from .._cuda import require_cuda  # noqa: E402

cuda = require_cuda()

from tsrnn.kernels import ACTIVATIONS, cuda_ops, get_cell, get_kernels, work_size  # noqa: E402
from tsrnn.kernels import cuda as cuda_kernels  # noqa: E402

from .test_cpu_kernels import CASES, OUTPUTS, layer_problem, reference_layer  # noqa: E402

# The simulator computes in float64 whatever the dtype; on a GPU float32 is float32.
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=1e-4, atol=1e-5)}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    """Blocks of 4 rows and 32 threads, GEMM tiles of 4x4, and a shared-memory limit of 512 bytes."""
    monkeypatch.setattr(cuda_kernels, "TILE_ROWS", 4)
    monkeypatch.setattr(cuda_kernels, "THREADS", 32)
    monkeypatch.setattr(cuda_kernels, "SHARED_WEIGHT_BYTES", 512)
    monkeypatch.setattr(cuda_ops, "GEMM_TILE", 4)


def cuda_layer(cell, activation, x, state0, weights, dout, dstateT, with_out=True, with_dx=True):
    """All outputs of the three CUDA kernels of one layer (NaN-filled buffers: unwritten memory shows)."""
    spec = get_cell(cell)
    kernels = get_kernels(cell, device="cuda")
    T, B, D = x.shape
    S, _, H = state0.shape
    act = ACTIVATIONS[activation]
    full = lambda shape: np.full(shape, np.nan, x.dtype)
    work = lambda kind: full(work_size(cell, kind, B, D, H, device="cuda", T=T))
    out = full((T, B, H)) if with_out else np.empty((0, 0, 0), x.dtype)
    stateT = full((S, B, H))
    kernels.forward(x, state0, *weights, act, out, stateT, work("forward"))
    states, gates = full((T + 1, S, B, H)), full((T, B, spec.cache_factor * H))
    kernels.forward_train(x, state0, *weights, act, states, gates, work("forward_train"))
    dx = full(x.shape) if with_dx else np.empty((0, 0, 0), x.dtype)
    dstate0, grads = full(dstateT.shape), [full(w.shape) for w in weights]
    kernels.backward(x, *weights, act, states, gates, dout, dstateT, dx, dstate0, *grads, work("backward"))
    return dict(zip(OUTPUTS, (out, stateT, states, gates, dx, dstate0, *grads)))


def assert_layers_close(ours, ref, tol, names=OUTPUTS):
    for name in names:
        np.testing.assert_allclose(ours[name], ref[name], err_msg=name, **tol)


# (B, T, D, H): B = 6 leaves a partial second tile of 4 rows and B = 9 three blocks;
# with the 512-byte limit, H = 3 keeps W_hh in shared memory for every cell (lstm 4*3*3*8 bytes
# in float64) and H = 12 reads it from global memory for every cell.
SHAPES = [(6, 5, 3, 3), (9, 4, 2, 12), (1, 1, 1, 2)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "B{}-T{}-D{}-H{}".format(*s))
@pytest.mark.parametrize("cell,activation", CASES)
def test_layer_matches_reference(cell, activation, shape, dtype, rng):
    p = layer_problem(cell, *shape, dtype, rng)
    assert_layers_close(cuda_layer(cell, activation, **p), reference_layer(cell, activation, **p), TOL[dtype])


def test_shapes_cover_both_weight_placements():
    """The control for SHAPES: H = 3 keeps W_hh in shared memory and H = 12 does not, for every cell."""
    for cell in ("rnn", "lstm", "gru"):
        G = get_cell(cell).n_gates
        for dtype in (np.float32, np.float64):
            assert cuda_kernels._launch(6, 3, G * 3, dtype)[2]
            assert not cuda_kernels._launch(6, 12, G * 12, dtype)[2]


@pytest.mark.parametrize("cell,activation", CASES)
def test_optional_outputs_and_zero_dout(cell, activation, rng):
    """``out`` and ``dx`` of size 0 are skipped; ``dout`` of size 0 means zero."""
    p = layer_problem(cell, 5, 4, 2, 3, np.float64, rng)
    p["dout"] = np.empty((0, 0, 0), np.float64)
    ours = cuda_layer(cell, activation, **p, with_out=False, with_dx=False)
    assert ours["out"].size == 0 and ours["dx"].size == 0
    p["dout"] = np.zeros((4, 5, 3))
    ref = reference_layer(cell, activation, **p)
    assert_layers_close(ours, ref, TOL[np.float64], names=OUTPUTS[1:4] + OUTPUTS[5:])


@pytest.mark.parametrize("cell,activation", CASES[1:3])
def test_empty_sequence(cell, activation, rng):
    p = layer_problem(cell, 5, 3, 2, 3, np.float64, rng)
    p["x"], p["dout"] = p["x"][:0], p["dout"][:0]
    ours = cuda_layer(cell, activation, **p)
    np.testing.assert_array_equal(ours["stateT"], p["state0"])
    np.testing.assert_array_equal(ours["states"], p["state0"][None])
    np.testing.assert_array_equal(ours["dstate0"], p["dstateT"])
    for name in ("dW_ih", "dW_hh", "db_ih", "db_hh"):
        np.testing.assert_array_equal(ours[name], 0.0)


def test_small_work_is_allocated(rng):
    p = layer_problem("gru", 6, 3, 2, 3, np.float64, rng)
    kernels = get_kernels("gru", device="cuda")
    T, B, _ = p["x"].shape
    out, stateT = np.full((T, B, 3), np.nan), np.full((1, B, 3), np.nan)
    kernels.forward(p["x"], p["state0"], *p["weights"], 0, out, stateT, np.empty(0))
    ref = reference_layer("gru", "tanh", **p)
    np.testing.assert_allclose(out, ref["out"], **TOL[np.float64])


def test_reference_comparison_can_fail(rng):
    """Control: a wrong recurrent weight gives a visible mismatch."""
    p = layer_problem("lstm", 6, 4, 2, 3, np.float64, rng)
    ref = reference_layer("lstm", "tanh", **p)
    W_ih, W_hh, b_ih, b_hh = p["weights"]
    p["weights"] = (W_ih, W_hh * 1.01, b_ih, b_hh)
    with pytest.raises(AssertionError):
        assert_layers_close(cuda_layer("lstm", "tanh", **p), ref, TOL[np.float64])


def test_gpu_benchmark_check_against_the_cpu_kernels():
    """benchmarks/gpu.py's first stage (CUDA vs CPU kernels, float32, device round trips) on a tiny shape."""
    gpu = load_benchmark("gpu")
    for cell in ("lstm", "gru"):
        errors = gpu.check_layer(cell, 6, 4, 2, 5, seed=1)
        assert set(errors) == set(OUTPUTS)
        assert max(errors.values()) < gpu.CHECK_RTOL, errors
