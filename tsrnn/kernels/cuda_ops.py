"""numba.cuda building blocks the CUDA driver (:mod:`.cuda`) shares between cells: tiled GEMMs.

The large matrix products of a layer are taken out of the time loop and run
as whole-sequence GEMMs of the project's own (cuBLAS is not a dependency):

- :func:`rows_gemm` ``C[t, b] = A[t, b] @ op(W) (+ biases)``: the input
  projection of every step before the recurrent loop (``op(W) = W_ih.T``) and
  the input gradient after it (``op(W) = W_ih``);
- :func:`rows_gemm_tn` ``C = sum over (t, b) of A[t, b]^T Bm[t, s, b]``: the
  weight gradients ``dW_ih = dG^T x`` and ``dW_hh = dG^T h_prev``;
- :func:`colsum` ``c[n] = sum over (t, b) of A[t, b, n]``: the bias gradients.

Each output element is summed by one thread in a fixed order (no atomics), so
results are bit-identical from call to call. The operands stay time-major 3-D
(or 4-D for the states, indexed at one state slot), so no reshaped copies of
strided views are needed. The kernels are built per (dtype, tile) by
factories: shared-memory tiles need their shape and dtype as compile-time
constants, and the tile is small in the simulator tests (one simulated thread
per CUDA thread) and 16 on a GPU.
"""

import math

import numba
import numpy as np
from numba import cuda

from .. import _config

# Edge of the square GEMM tiles (threads per block = GEMM_TILE**2); tests lower it.
GEMM_TILE = 16

_FACTORIES = {}


def _kernels(dtype, tile):
    """The three kernels for ``dtype`` and ``tile``, compiled lazily on first launch."""
    key = (np.dtype(dtype), int(tile))
    if key not in _FACTORIES:
        _FACTORIES[key] = _build(*key)
    return _FACTORIES[key]


def _build(np_dtype, TL):
    nb_dtype = numba.from_dtype(np_dtype)
    zero = np_dtype.type(0.0)

    @cuda.jit(**_config.CUDA_JIT)
    def rows_gemm_kernel(A, W, trans_w, b1, use_b1, b2, use_b2, C):
        # C (T, B, N) = A (T, B, K) @ (W.T if trans_w else W) + b1 + b2
        B, K = A.shape[1], A.shape[2]
        R = A.shape[0] * B
        N = C.shape[2]
        sa = cuda.shared.array((TL, TL), nb_dtype)
        sb = cuda.shared.array((TL, TL), nb_dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        row = cuda.blockIdx.x * TL + ty  # rows on the grid's x: up to 2**31 - 1 blocks (y and z: 65,535)
        col = cuda.blockIdx.y * TL + tx
        acc = zero
        for k0 in range(0, K, TL):
            ka = k0 + tx
            sa[ty, tx] = A[row // B, row % B, ka] if row < R and ka < K else zero
            kb = k0 + ty
            if col < N and kb < K:
                sb[ty, tx] = W[col, kb] if trans_w else W[kb, col]
            else:
                sb[ty, tx] = zero
            cuda.syncthreads()
            for kk in range(TL):
                acc += sa[ty, kk] * sb[kk, tx]
            cuda.syncthreads()
        if row < R and col < N:
            if use_b1:
                acc += b1[col]
            if use_b2:
                acc += b2[col]
            C[row // B, row % B, col] = acc

    @cuda.jit(**_config.CUDA_JIT)
    def rows_gemm_tn_kernel(A, Bm, s, C):
        # C (M, N) = sum_r A[r]^T Bm[r] over the T*B rows r = (t, b) of A (T, B, M), Bm (T', S, B, N)
        B = A.shape[1]
        R = A.shape[0] * B
        M, N = C.shape
        sa = cuda.shared.array((TL, TL), nb_dtype)
        sb = cuda.shared.array((TL, TL), nb_dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        m = cuda.blockIdx.y * TL + ty
        n = cuda.blockIdx.x * TL + tx
        acc = zero
        for r0 in range(0, R, TL):
            ra = r0 + tx
            sa[ty, tx] = A[ra // B, ra % B, m] if m < M and ra < R else zero
            rb = r0 + ty
            sb[ty, tx] = Bm[rb // B, s, rb % B, n] if n < N and rb < R else zero
            cuda.syncthreads()
            for kk in range(TL):
                acc += sa[ty, kk] * sb[kk, tx]
            cuda.syncthreads()
        if m < M and n < N:
            C[m, n] = acc

    @cuda.jit(**_config.CUDA_JIT)
    def colsum_kernel(A, c):
        n = cuda.grid(1)
        B = A.shape[1]
        if n < c.shape[0]:
            acc = zero
            for r in range(A.shape[0] * B):
                acc += A[r // B, r % B, n]
            c[n] = acc

    return rows_gemm_kernel, rows_gemm_tn_kernel, colsum_kernel


def empty(ndim, dtype):
    """A size-0 device array: an operand a kernel does not use.

    A device array, not a host one: numba copies a host array to the device before a
    launch and back after it, which synchronises the stream (and, in the simulator,
    would copy it back over an argument it aliases). Size 0 allocates nothing.
    """
    return cuda.device_array((0,) * ndim, dtype)


# CUDA's grid limits: 2**31 - 1 blocks along x, 65,535 along y (and z)
MAX_GRID_X, MAX_GRID_Y = 2**31 - 1, 65535


def _grid2(x, y, tile, what):
    """``((blocks along x, blocks along y), (tile, tile))`` covering ``x`` by ``y`` elements with
    square tiles; a clear error where CUDA could not launch it (rather than a launch failure)."""
    grid = (math.ceil(x / tile), math.ceil(y / tile))
    if grid[0] > MAX_GRID_X or grid[1] > MAX_GRID_Y:
        raise ValueError(
            f"{what}: a grid of {grid[0]} x {grid[1]} blocks of {tile}x{tile} exceeds CUDA's limits "
            f"({MAX_GRID_X} x {MAX_GRID_Y}); split the batch or the time steps"
        )
    return grid, (tile, tile)


def rows_gemm(A, W, trans_w, C, b1=None, b2=None):
    """``C[t, b] = A[t, b] @ (W.T if trans_w else W) + b1 + b2`` (each bias optional).

    Parameters
    ----------
    A : array of shape (T, B, K)
    W : array of shape (N, K) if ``trans_w`` else (K, N)
    trans_w : bool
    C : array of shape (T, B, N)
        Written.
    b1, b2 : array of shape (N,), default=None
    """
    T, B, _ = A.shape
    if T * B == 0 or C.shape[2] == 0:
        return
    kernel = _kernels(C.dtype, GEMM_TILE)[0]
    grid, block = _grid2(T * B, C.shape[2], GEMM_TILE, "rows_gemm over T*B rows and N columns")
    use_b1, use_b2 = b1 is not None, b2 is not None
    none = empty(1, C.dtype)  # an unused bias: never read
    b1 = b1 if use_b1 else none
    b2 = b2 if use_b2 else none
    kernel[grid, block](A, W, bool(trans_w), b1, use_b1, b2, use_b2, C)


def rows_gemm_tn(A, Bm, s, C):
    """``C = sum over t, b of outer(A[t, b], Bm[t, s, b])``.

    Parameters
    ----------
    A : array of shape (T, B, M)
    Bm : array of shape (T', S, B, N), T' >= T
        Only the rows ``Bm[:T, s]`` are read.
    s : int
    C : array of shape (M, N)
        Written (zeros when ``T*B == 0``).
    """
    if C.size == 0:
        return
    kernel = _kernels(C.dtype, GEMM_TILE)[1]
    grid, block = _grid2(C.shape[1], C.shape[0], GEMM_TILE, "rows_gemm_tn over the N columns and M rows of C")
    kernel[grid, block](A, Bm, s, C)


def colsum(A, c):
    """``c[n] = A[:, :, n].sum()`` in a fixed order.

    Parameters
    ----------
    A : array of shape (T, B, N)
    c : array of shape (N,)
        Written.
    """
    if c.size == 0:
        return
    kernel = _kernels(c.dtype, GEMM_TILE)[2]
    threads = GEMM_TILE * GEMM_TILE
    kernel[math.ceil(c.size / threads), threads](A, c)
