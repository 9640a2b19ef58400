"""Every CUDA kernel compiles to PTX for compute capability 9.0, and float32 kernels use no float64.

No GPU or driver is needed: ``numba.cuda.compile_ptx`` needs NVVM and NVRTC
(the ``nvidia-nvvm`` and ``nvidia-cuda-nvrtc`` wheels, in the ``cuda`` extra),
and a fake ``get_current_device`` for the device functions' compilation. The
simulator (NUMBA_ENABLE_CUDASIM=1) replaces the compiler, so this module is
skipped there; CI runs it in the same step without the simulator. This catches
what the simulator cannot: typing errors in device code and accidental float64.
"""

import os
import re
import types

import numba
import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("the CUDA simulator has no compiler (run without NUMBA_ENABLE_CUDASIM)", allow_module_level=True)


def skip_module(reason):
    """Skip, unless CI asks for these tests (TSRNN_REQUIRE_CUDA_TESTS=1): then a skip is a failure."""
    if os.environ.get("TSRNN_REQUIRE_CUDA_TESTS") == "1":
        raise RuntimeError(f"TSRNN_REQUIRE_CUDA_TESTS=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)


try:
    import numba_cuda  # noqa: F401
except ImportError:
    skip_module("numba-cuda is not installed (the 'cuda' extra)")
from numba import cuda  # noqa: E402


def _nvvm_missing():
    try:
        cuda.compile_ptx(lambda a: None, (numba.float32[:],), cc=(9, 0))
    except Exception as exc:  # no NVVM/NVRTC library: the reason is in the message
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


_MISSING = _nvvm_missing()
if _MISSING:
    skip_module(f"NVVM/NVRTC are not available for compile_ptx ({_MISSING})")

from tsrnn.kernels import CELLS, cuda_ops, cuda_train  # noqa: E402
from tsrnn.kernels import cuda as cuda_kernels  # noqa: E402


@pytest.fixture(autouse=True)
def fake_device(monkeypatch):
    """Device-function compilation asks the current device for its compute capability."""
    device = types.SimpleNamespace(compute_capability=(9, 0), name="fake sm_90")
    monkeypatch.setattr(cuda.dispatcher, "get_current_device", lambda: device, raising=False)


def array(dtype, ndim):
    return numba.types.Array(numba.from_dtype(np.dtype(dtype)), ndim, "C")


def signatures(cell, dtype):
    """(name, python function, argument types) of every kernel of ``cell``."""
    a1, a2, a3, a4 = (array(dtype, n) for n in (1, 2, 3, 4))
    i8, b1 = numba.int64, numba.boolean
    forward, backward = cuda_kernels._persistent(cell, dtype)
    return [
        ("forward", forward.py_func, (a3, a3, a1, a1, i8, i8, b1, b1, a4, a3, a3, a3)),
        ("backward", backward.py_func, (a3, a4, a3, a3, a1, i8, i8, b1, a3, a3, a3)),
    ]


def gemm_signatures(dtype):
    a1, a2, a3, a4 = (array(dtype, n) for n in (1, 2, 3, 4))
    b1, i8 = numba.boolean, numba.int64
    rows, tn, colsum = cuda_ops._kernels(dtype, cuda_ops.GEMM_TILE)
    return [
        ("rows_gemm", rows.py_func, (a3, a2, b1, a1, b1, a1, b1, a3)),
        ("rows_gemm_tn", tn.py_func, (a3, a4, i8, a2)),
        ("colsum", colsum.py_func, (a3, a1)),
    ]


F64 = re.compile(r"\.f64\b")


def compile_ptx(fn, sig):
    ptx, _ = cuda.compile_ptx(fn, sig, cc=(9, 0), fastmath=cuda_kernels._config.CUDA_JIT["fastmath"])
    assert ".entry" in ptx
    return ptx


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_cell_kernels_compile_in_float32_without_float64(cell):
    for name, fn, sig in signatures(cell, np.float32):
        ptx = compile_ptx(fn, sig)
        assert not F64.findall(ptx), f"{cell} {name}: float64 instructions in a float32 kernel"


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_cell_kernels_compile_in_float64(cell):
    """The float64 kernels (the tests' dtype) compile too: every scalar function they call has a CUDA
    implementation (``math.exp``, not ``np.exp`` on a scalar), and they do compute in float64."""
    for name, fn, sig in signatures(cell, np.float64):
        assert F64.findall(compile_ptx(fn, sig)), f"{cell} {name}: no float64 instructions in a float64 kernel"


def test_gemm_kernels_compile_in_float64():
    """Also the control of the float32 check: the same pattern finds float64 where there is some."""
    for name, fn, sig in gemm_signatures(np.float64):
        assert F64.findall(compile_ptx(fn, sig)), f"{name}: no float64 instructions in a float64 kernel"


def test_gemm_kernels_compile_in_float32_without_float64():
    for name, fn, sig in gemm_signatures(np.float32):
        ptx = compile_ptx(fn, sig)
        assert not F64.findall(ptx), f"{name}: float64 instructions in a float32 kernel"


def train_signatures(dtype):
    """(name, python function, argument types) of every kernel of a training step (cuda_train)."""
    a1, a2, a3, a4 = (array(dtype, n) for n in (1, 2, 3, 4))
    s, i8, u8 = numba.from_dtype(np.dtype(dtype)), numba.int64, numba.uint64
    idx, status = numba.types.Array(numba.int64, 1, "C"), numba.types.Array(numba.int32, 1, "C")
    ids2 = numba.types.Array(numba.int64, 2, "C")  # token ids (T, N)
    strided3 = numba.types.Array(numba.from_dtype(np.dtype(dtype)), 3, "A")
    k = cuda_train._kernels(dtype, cuda_train.THREADS)
    return [
        ("gather", k.gather.py_func, (a3, idx, a3)),
        ("gather strided", k.gather.py_func, (strided3, idx, a3)),  # device predict's column slices
        ("layer_output", k.layer_output.py_func, (a4, a3, a3)),
        ("dropout", k.dropout.py_func, (u8, s, s, u8, s, a1)),
        ("multiply", k.multiply.py_func, (a1, a1)),
        ("regression_loss", k.regression_loss.py_func, (i8, a3, a3, a1, a3, a3)),
        ("cross_entropy", k.cross_entropy.py_func, (a3, a3, a3, a3)),
        ("sum", k.sum.py_func, (a1, a1, i8)),
        ("grad_norm", k.grad_norm.py_func, (a1, a1, i8, a1, status)),
        ("optimizer", k.optimizer.py_func, (i8, a1, a1, a1, a1, a1, status) + (s,) * 10),
        ("reverse_time", k.reverse_time.py_func, (a3, a3)),
        ("add_reversed", k.add_reversed.py_func, (a3, a3)),
        ("join_directions", k.join_directions.py_func, (a4, a4, i8, a3, a3)),
        ("split_directions", k.split_directions.py_func, (a3, a3, a3)),
        ("embed", k.embed.py_func, (a2, ids2, idx, a3)),
        ("zero", k.zero.py_func, (a1,)),
        ("embedding_grad", k.embedding_grad.py_func, (a3, a3, idx, idx, idx, a2)),
    ]


def test_train_kernels_compile_in_float32_without_float64():
    for name, fn, sig in train_signatures(np.float32):
        ptx = compile_ptx(fn, sig)
        assert not F64.findall(ptx), f"{name}: float64 instructions in a float32 kernel"


# Kernels whose float64 PTX may hold no f64 instruction: storing a constant 0 compiles to an integer store.
NO_FLOAT_INSTRUCTIONS = {"zero"}


def test_train_kernels_compile_in_float64():
    for name, fn, sig in train_signatures(np.float64):
        ptx = compile_ptx(fn, sig)
        assert name in NO_FLOAT_INSTRUCTIONS or F64.findall(ptx), f"{name}: no float64 instructions in a float64 kernel"


def test_train_kernel_signatures_cover_every_kernel():
    """The control of the two tests above: a kernel added to cuda_train gets a signature here."""
    names = {name.split()[0] for name, _, _ in train_signatures(np.float32)}
    assert names == set(cuda_train._kernels(np.float32, cuda_train.THREADS)._fields)


def test_dropout_kernel_draws_integer_bits():
    """The hash stays in uint64 arithmetic (numba types uint64 mixed with int64 as float64): its
    multiplications are 64-bit integer ones, and only the final bits become a float."""
    name, fn, sig = train_signatures(np.float32)[3]
    ptx = compile_ptx(fn, sig)
    assert "mul.lo.s64" in ptx or "mul.lo.u64" in ptx, name
    assert re.search(r"cvt\.rn\.f32\.u64", ptx), name
