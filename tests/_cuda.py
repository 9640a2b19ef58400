"""What the CUDA test modules share: skip (or, in CI, fail) without numba-cuda and a device, and
small launch configurations that the simulator runs quickly while still exercising several
blocks, partial tiles and strided loops."""

import os

import pytest


def skip_module(reason):
    """Skip, unless CI asks for these tests (TSRNN_REQUIRE_CUDA_TESTS=1): then a skip is a failure."""
    if os.environ.get("TSRNN_REQUIRE_CUDA_TESTS") == "1":
        raise RuntimeError(f"TSRNN_REQUIRE_CUDA_TESTS=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)


def require_cuda():
    """numba.cuda, after skipping the module unless numba-cuda and a GPU or the simulator are present."""
    try:
        import numba_cuda  # noqa: F401
    except ImportError:
        skip_module("numba-cuda is not installed (the 'cuda' extra)")
    from numba import cuda

    if not (SIMULATOR or cuda.is_available()):
        skip_module("needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1 (set before numba is imported)")
    return cuda


SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def small_launches(monkeypatch):
    """Blocks of 4 rows and 32 threads, GEMM tiles of 4x4, a shared-memory limit of 512 bytes,
    32 threads per elementwise block (at most 3 blocks)."""
    from tsrnn.kernels import cuda as cuda_kernels
    from tsrnn.kernels import cuda_ops, cuda_train

    monkeypatch.setattr(cuda_kernels, "TILE_ROWS", 4)
    monkeypatch.setattr(cuda_kernels, "THREADS", 32)
    monkeypatch.setattr(cuda_kernels, "SHARED_WEIGHT_BYTES", 512)
    monkeypatch.setattr(cuda_ops, "GEMM_TILE", 4)
    monkeypatch.setattr(cuda_train, "THREADS", 32)
    monkeypatch.setattr(cuda_train, "MAX_BLOCKS", 3)
