"""Every CUDA kernel compiles to PTX for compute capability 9.0, float32 kernels use no float64,
and, assembled by ``ptxas``, every kernel fits the block tsrnn launches it with.

No GPU or driver is needed: ``numba.cuda.compile_ptx`` needs NVVM and NVRTC
(the ``nvidia-nvvm`` and ``nvidia-cuda-nvrtc`` wheels, in the ``cuda`` extra),
and a fake ``get_current_device`` for the device functions' compilation; ``ptxas``
comes with the ``cuda-check`` extra (or a CUDA toolkit). The simulator
(NUMBA_ENABLE_CUDASIM=1) replaces the compiler, so this module is skipped there;
CI runs it in its own step without the simulator. This catches what the simulator
cannot: typing errors in device code, accidental float64, and kernels whose
registers or shared memory would make their launch fail on a real GPU.

The inventory of kernels and their launch configurations is
``benchmarks/ptx_resources.py``'s, which also writes the registers-and-spills table
of benchmarks/GPU.md.
"""

import functools
import os
import re

import numba
import numpy as np
import pytest

from .._benchmarks import load_benchmark
from .._cuda import skip_module

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("the CUDA simulator has no compiler (run without NUMBA_ENABLE_CUDASIM)", allow_module_level=True)

try:
    import numba_cuda  # noqa: F401
except ImportError:
    skip_module("numba-cuda is not installed (the 'cuda' extra)")
from numba import cuda  # noqa: E402

ptx_resources = load_benchmark("ptx_resources")


def _nvvm_missing():
    try:
        cuda.compile_ptx(lambda a: None, (numba.float32[:],), cc=ptx_resources.CC)
    except Exception as exc:  # no NVVM/NVRTC library: the reason is in the message
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


_MISSING = _nvvm_missing()
if _MISSING:
    skip_module(f"NVVM/NVRTC are not available for compile_ptx ({_MISSING})")

from tsrnn.kernels import cuda_train  # noqa: E402

F64 = re.compile(r"\.f64\b")
# Kernels whose float64 PTX may hold no f64 instruction: storing a constant 0 compiles to an integer store.
NO_FLOAT_INSTRUCTIONS = {"zero"}
KERNELS = {np.dtype(d).name: {k[0]: k for k in ptx_resources.kernels(d)} for d in (np.float32, np.float64)}
NAMES = list(KERNELS["float32"])


@functools.cache
def ptx(dtype, name):
    """The sm_90 PTX of one kernel (each compiled once for the whole module)."""
    _, fn, sig, _, _ = KERNELS[dtype][name]
    with ptx_resources.fake_sm90():
        text = ptx_resources.compile_ptx(fn, sig)
    assert ".entry" in text
    return text


def test_the_inventory_covers_every_kernel():
    """The control of the tests below: a kernel added to cuda, cuda_ops or cuda_train gets an entry."""
    from tsrnn.kernels import CELLS, cuda_ops

    names = {name.split()[0] for name in NAMES}
    assert set(cuda_train._kernels(np.float32, cuda_train.THREADS)._fields) <= names
    assert {"rows_gemm", "rows_gemm_tn", "colsum"} <= names
    assert len(cuda_ops._kernels(np.float32, cuda_ops.GEMM_TILE)) == 3
    assert {f"{cell} {kind}" for cell in CELLS for kind in ("forward", "backward")} <= set(NAMES)
    assert KERNELS["float64"].keys() == KERNELS["float32"].keys()


@pytest.mark.parametrize("name", NAMES)
def test_float32_kernel_has_no_float64(name):
    assert not F64.findall(ptx("float32", name)), f"{name}: float64 instructions in a float32 kernel"


@pytest.mark.parametrize("name", NAMES)
def test_float64_kernel_computes_in_float64(name):
    """The float64 kernels (the tests' dtype) compile too: every scalar function they call has a
    CUDA implementation (``math.exp``, not ``np.exp`` on a scalar), and they do compute in float64.
    Also the control of the float32 test: the same pattern finds float64 where there is some."""
    if name in NO_FLOAT_INSTRUCTIONS:
        return
    assert F64.findall(ptx("float64", name)), f"{name}: no float64 instructions in a float64 kernel"


def test_dropout_kernel_draws_integer_bits():
    """The hash stays in uint64 arithmetic (numba types uint64 mixed with int64 as float64): its
    multiplications are 64-bit integer ones, and only the final bits become a float."""
    text = ptx("float32", "dropout")
    assert "mul.lo.s64" in text or "mul.lo.u64" in text
    assert re.search(r"cvt\.rn\.f32\.u64", text)


@pytest.fixture(scope="module")
def ptxas():
    path = ptx_resources.ptxas_path()
    if path is None:
        skip_module("ptxas is not installed (the 'cuda-check' extra, or a CUDA toolkit on the PATH)")
    return path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_kernel_fits_its_block_on_sm90(name, dtype, ptxas):
    """What a real launch needs: registers x threads within the block's 65,536, static plus the
    most dynamic shared memory within the 48 KB a block gets, no spills to local memory, and at
    least two resident blocks per SM (so the SM can overlap one block's barrier with another's
    work)."""
    _, _, _, threads, dynamic = KERNELS[dtype][name]
    info = ptx_resources.assemble(ptx(dtype, name), ptxas)
    assert 0 < info["registers"] <= ptx_resources.MAX_REGISTERS_PER_THREAD
    assert info["registers"] * threads <= ptx_resources.REGISTERS_PER_BLOCK, info
    assert info["static_shared"] + dynamic <= ptx_resources.SHARED_PER_BLOCK, info
    assert info["spill_stores"] == info["spill_loads"] == 0, info
    assert ptx_resources.blocks_per_sm(info["registers"], threads) >= 2, info


def test_resource_table_reads_ptxas_output(ptxas):
    """The table's parser against ptxas's own words, on a kernel with known shared memory."""

    def kernel(out):
        tile = cuda.shared.array(64, numba.float32)
        tile[cuda.threadIdx.x] = 1.0
        cuda.syncthreads()
        out[cuda.threadIdx.x] = tile[63 - cuda.threadIdx.x]

    with ptx_resources.fake_sm90():
        info = ptx_resources.assemble(ptx_resources.compile_ptx(kernel, (numba.float32[::1],)), ptxas)
    assert info["static_shared"] == 64 * 4 and info["registers"] > 0 and info["spill_stores"] == 0
    assert ptx_resources.blocks_per_sm(32, 256) == 8  # 2,048 threads per SM bound it
    assert ptx_resources.blocks_per_sm(128, 256) == 2  # 65,536 registers per SM bound it
    assert ptx_resources.blocks_per_sm(255, 256) == 1  # 256 registers per thread (allocation unit)


def test_gemm_grids_stay_within_cuda_limits():
    """A launch grid has at most 65,535 blocks along y: the GEMMs put the T*B rows of a long
    sequence on x (a 1024 x 1024 batch is 65,536 tiles of 16 rows), and say so clearly where even
    that cannot cover a shape."""
    from tsrnn.kernels import cuda_ops

    grid, block = cuda_ops._grid2(1024 * 1024 * 64, 512, 16, "rows_gemm")
    assert grid == (4194304, 32) and block == (16, 16)
    assert grid[0] <= cuda_ops.MAX_GRID_X and grid[1] <= cuda_ops.MAX_GRID_Y
    with pytest.raises(ValueError, match="exceeds CUDA's limits"):
        cuda_ops._grid2(16, 16 * 65536, 16, "rows_gemm")
