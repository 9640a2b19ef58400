"""The CUDA driver: the three kernels of every cell on numba.cuda, with the CPU contract.

Same signatures, shapes and results as :mod:`.cpu` (see ARCHITECTURE.md,
"Kernel contract"); arrays are numba.cuda device arrays, or host arrays,
which numba copies to the device and back around every launch (fine for
tests, slow for training). The plan per layer call:

1. The input projection of all steps, ``P[t, b] = x[t, b] @ W_ih.T + bias``,
   as one tiled GEMM (:func:`.cuda_ops.rows_gemm`) into ``work``.
2. One persistent launch runs the whole time loop: a block per tile of
   ``TILE_ROWS`` batch rows, its threads over the tile's ``(row, unit)``
   elements, ``cuda.syncthreads()`` between steps. Blocks never depend on each
   other (the simulator runs them one after another). Per element the
   recurrent product and the cell's own scalar math run in the thread: the
   cells' ``lstm_state``/``lstm_grad``, ``gru_state``/``gru_grad``,
   ``rnn_act``/``rnn_grad`` and the activations, ``@njit`` functions that compile as
   device functions here.
3. Backward stores the gate gradients ``dG`` of every step in ``work``; after
   the loop the weight gradients (``dG^T x``, ``dG^T h_prev``), the bias
   gradients (column sums) and ``dx = dG @ W_ih`` are tiled GEMMs.

Recurrent weights: a block copies ``W_hh`` into shared memory when it fits in
``SHARED_WEIGHT_BYTES`` (48 KB, the most numba-cuda gives a block: fp32 H <= 54
for lstm, 62 for gru, 108 for rnn); above that every block reads it from
global memory, where it stays in L2 (50 MB on an H100/H200) after the first
step: each step then reads ``G*H*H`` weights per tile of rows from L2 instead
of shared memory (about 5-10x less bandwidth per SM), which the benchmark
(benchmarks/GPU.md) measures. Tiling ``W_hh`` through shared memory per step
would keep the reads on chip but costs a syncthreads per weight tile.

Work arrays: ``work_size(cell, kind, B, D, H, device='cuda', T=T)`` elements;
a smaller ``work`` makes the kernel allocate its own on the device.
"""

import math

import numba
import numpy as np
from numba import cuda

from .. import _config
from . import CELLS, cuda_ops
from .activations import sigmoid, tanh
from .gru import gru_grad, gru_state
from .lstm import lstm_grad, lstm_state
from .rnn import rnn_act, rnn_grad

# Launch configuration of the persistent kernels (tests lower them to force several blocks
# and keep the simulator fast): batch rows per block, threads per block, and the most
# shared memory W_hh may take per block.
TILE_ROWS = 16
THREADS = 256
SHARED_WEIGHT_BYTES = 48 * 1024


# --- per-element math of one step, per cell (uniform signatures) ------------------------------


@cuda.jit(device=True, **_config.CUDA_JIT)
def _dot(Wr, row, hp, b, H):
    """``sum_k W_hh[row, k] * h_prev[b, k]`` with ``Wr`` the flat ``W_hh``."""
    acc = hp[b, 0] * Wr[row * H]
    for k in range(1, H):
        acc += Wr[row * H + k] * hp[b, k]
    return acc


@cuda.jit(device=True, **_config.CUDA_JIT)
def _rnn_forward_elem(P, Wr, b_hh, hp, cp, gates, train, t, b, j, H, act, one):
    a = P[t, b, j] + _dot(Wr, j, hp, b, H)
    h = rnn_act(a, act)
    return h, h


@cuda.jit(device=True, **_config.CUDA_JIT)
def _lstm_forward_elem(P, Wr, b_hh, hp, cp, gates, train, t, b, j, H, act, one):
    i = sigmoid(P[t, b, j] + _dot(Wr, j, hp, b, H))
    f = sigmoid(P[t, b, H + j] + _dot(Wr, H + j, hp, b, H))
    g = tanh(P[t, b, 2 * H + j] + _dot(Wr, 2 * H + j, hp, b, H))
    o = sigmoid(P[t, b, 3 * H + j] + _dot(Wr, 3 * H + j, hp, b, H))
    c = lstm_state(i, f, g, cp[b, j])
    tanh_c = tanh(c)
    if train:
        gates[t, b, j] = i
        gates[t, b, H + j] = f
        gates[t, b, 2 * H + j] = g
        gates[t, b, 3 * H + j] = o
        gates[t, b, 4 * H + j] = tanh_c
    return o * tanh_c, c


@cuda.jit(device=True, **_config.CUDA_JIT)
def _gru_forward_elem(P, Wr, b_hh, hp, cp, gates, train, t, b, j, H, act, one):
    # P holds x W_ih^T + b_ih only: r scales the recurrent part of n, b_hh included
    r = sigmoid(P[t, b, j] + _dot(Wr, j, hp, b, H) + b_hh[j])
    z = sigmoid(P[t, b, H + j] + _dot(Wr, H + j, hp, b, H) + b_hh[H + j])
    hn = _dot(Wr, 2 * H + j, hp, b, H) + b_hh[2 * H + j]
    n = tanh(P[t, b, 2 * H + j] + r * hn)
    if train:
        gates[t, b, j] = r
        gates[t, b, H + j] = z
        gates[t, b, 2 * H + j] = n
        gates[t, b, 3 * H + j] = hn
    h = gru_state(z, n, hp[b, j], one)
    return h, h


@cuda.jit(device=True, **_config.CUDA_JIT)
def _rnn_backward_elem(gates, states, dG_ih, dG_hh, dh, dc, dhj, t, b, j, H, act, one, zero):
    dG_ih[t, b, j] = rnn_grad(dhj, states[t + 1, 0, b, j], act, one, zero)
    dh[b, j] = zero


@cuda.jit(device=True, **_config.CUDA_JIT)
def _lstm_backward_elem(gates, states, dG_ih, dG_hh, dh, dc, dhj, t, b, j, H, act, one, zero):
    d_i, d_f, d_g, d_o, dc_prev = lstm_grad(
        gates[t, b, j],
        gates[t, b, H + j],
        gates[t, b, 2 * H + j],
        gates[t, b, 3 * H + j],
        gates[t, b, 4 * H + j],
        states[t, 1, b, j],
        dhj,
        dc[b, j],
        one,
    )
    dG_ih[t, b, j] = d_i
    dG_ih[t, b, H + j] = d_f
    dG_ih[t, b, 2 * H + j] = d_g
    dG_ih[t, b, 3 * H + j] = d_o
    dc[b, j] = dc_prev
    dh[b, j] = zero


@cuda.jit(device=True, **_config.CUDA_JIT)
def _gru_backward_elem(gates, states, dG_ih, dG_hh, dh, dc, dhj, t, b, j, H, act, one, zero):
    r = gates[t, b, j]
    d_r, d_z, d_n, dh_prev = gru_grad(
        r, gates[t, b, H + j], gates[t, b, 2 * H + j], gates[t, b, 3 * H + j], states[t, 0, b, j], dhj, one
    )
    dG_ih[t, b, j] = d_r
    dG_ih[t, b, H + j] = d_z
    dG_ih[t, b, 2 * H + j] = d_n
    dG_hh[t, b, j] = d_r
    dG_hh[t, b, H + j] = d_z
    dG_hh[t, b, 2 * H + j] = d_n * r
    dh[b, j] = dh_prev  # the z*h path; the recurrent product is added after the barrier


_ELEMS = {
    "rnn": (_rnn_forward_elem, _rnn_backward_elem),
    "lstm": (_lstm_forward_elem, _lstm_backward_elem),
    "gru": (_gru_forward_elem, _gru_backward_elem),
}

# --- the persistent kernels --------------------------------------------------------------------

_BUILT = {}


def _persistent(cell, dtype):
    """``(forward_kernel, backward_kernel)`` of ``cell`` for ``dtype`` (built once, compiled on first launch)."""
    key = (cell, np.dtype(dtype))
    if key not in _BUILT:
        _BUILT[key] = _build(cell, key[1])
    return _BUILT[key]


def _build(cell, np_dtype):
    forward_elem, backward_elem = _ELEMS[cell]
    nb_dtype = numba.from_dtype(np_dtype)
    one, zero = np_dtype.type(1.0), np_dtype.type(0.0)
    S = CELLS[cell].n_states

    @cuda.jit(**_config.CUDA_JIT)
    def forward_kernel(P, state0, W_flat, b_hh, act, tile, use_shared, train, st, gates, out, stateT):
        """One block per ``tile`` rows; ``st`` is ``states (T+1, S, B, H)`` when ``train``,
        else two alternating state buffers ``(2, S, B, H)``."""
        T = P.shape[0]
        B, H = state0.shape[1], state0.shape[2]
        tid, nt = cuda.threadIdx.x, cuda.blockDim.x
        b0 = cuda.blockIdx.x * tile
        n = min(tile, B - b0) * H
        shared = cuda.shared.array(0, nb_dtype)
        if use_shared:
            for e in range(tid, W_flat.size, nt):
                shared[e] = W_flat[e]
        Wr = shared if use_shared else W_flat
        for e in range(tid, n, nt):
            b, j = b0 + e // H, e % H
            for s in range(S):
                st[0, s, b, j] = state0[s, b, j]
        cuda.syncthreads()
        keep = out.size > 0
        for t in range(T):
            cur = t if train else t % 2
            nxt = cur + 1 if train else 1 - cur
            hp, cp = st[cur, 0], st[cur, S - 1]
            for e in range(tid, n, nt):
                b, j = b0 + e // H, e % H
                h, c = forward_elem(P, Wr, b_hh, hp, cp, gates, train, t, b, j, H, act, one)
                st[nxt, S - 1, b, j] = c  # for rnn and gru slot S-1 is h: h is written last
                st[nxt, 0, b, j] = h
                if keep:
                    out[t, b, j] = h
            cuda.syncthreads()
        if stateT.size > 0:
            last = T if train else T % 2
            for e in range(tid, n, nt):
                b, j = b0 + e // H, e % H
                for s in range(S):
                    stateT[s, b, j] = st[last, s, b, j]

    @cuda.jit(**_config.CUDA_JIT)
    def backward_kernel(gates, states, dout, dstateT, W_flat, act, tile, use_shared, dG_ih, dG_hh, dstate0):
        """BPTT for one block's rows; ``dstate0`` holds the running state gradients. ``dG_hh`` of
        size 0 means ``dG_ih`` (rnn, lstm): one array, never passed twice, since the simulator
        (and numba's copies of host arrays) would give each argument its own copy."""
        T = dG_ih.shape[0]
        B, H = dstateT.shape[1], dstateT.shape[2]
        GH = dG_ih.shape[2]
        dG_r = dG_ih if dG_hh.size == 0 else dG_hh
        tid, nt = cuda.threadIdx.x, cuda.blockDim.x
        b0 = cuda.blockIdx.x * tile
        n = min(tile, B - b0) * H
        shared = cuda.shared.array(0, nb_dtype)
        if use_shared:
            for e in range(tid, W_flat.size, nt):
                shared[e] = W_flat[e]
        Wr = shared if use_shared else W_flat
        dh, dc = dstate0[0], dstate0[S - 1]
        for e in range(tid, n, nt):
            b, j = b0 + e // H, e % H
            for s in range(S):
                dstate0[s, b, j] = dstateT[s, b, j]
        cuda.syncthreads()
        has_dout = dout.size > 0
        for t in range(T - 1, -1, -1):
            # phase 1: gate gradients and the pointwise paths, per (row, unit)
            for e in range(tid, n, nt):
                b, j = b0 + e // H, e % H
                dhj = dh[b, j] + dout[t, b, j] if has_dout else dh[b, j]
                backward_elem(gates, states, dG_ih, dG_hh, dh, dc, dhj, t, b, j, H, act, one, zero)
            cuda.syncthreads()
            # phase 2: dh_prev += dG_hh[t, b] @ W_hh, needing every unit's dG of the row
            for e in range(tid, n, nt):
                b, k = b0 + e // H, e % H
                acc = dh[b, k]
                for g in range(GH):
                    acc += dG_r[t, b, g] * Wr[g * H + k]
                dh[b, k] = acc
            cuda.syncthreads()

    return forward_kernel, backward_kernel


# --- host side: work layout and launches ---------------------------------------------------------


def work_size(cell, kind, T, B, D, H):
    """Elements of ``work`` the CUDA kernel ``kind`` (0, 1, 2) of ``cell`` needs.

    Forward: the projection ``(T, B, G*H)`` and two state buffers ``(2, S, B, H)``;
    training: the projection; backward: ``dG`` (twice for gru, whose input and
    recurrent gate gradients differ).
    """
    spec = CELLS[cell]
    GH = spec.n_gates * H
    if kind == 0:
        return T * B * GH + 2 * spec.n_states * B * H
    if kind == 1:
        return T * B * GH
    return T * B * GH * (2 if cell == "gru" else 1)


def _work(work, size, dtype):
    """``work``, or a fresh device array when it is too small."""
    return work if work.size >= size else cuda.device_array(max(size, 1), dtype)


def _launch(B, H, GH, dtype):
    """``(blocks, threads, use_shared, shared bytes)`` of a persistent launch."""
    nbytes = GH * H * np.dtype(dtype).itemsize
    use_shared = nbytes <= SHARED_WEIGHT_BYTES
    return math.ceil(B / TILE_ROWS), THREADS, use_shared, nbytes if use_shared else 0


def _project(cell, x, W_ih, b_ih, b_hh, P):
    """``P = x @ W_ih.T + b_ih (+ b_hh except for gru)``."""
    cuda_ops.rows_gemm(x, W_ih, True, P, b_ih, None if cell == "gru" else b_hh)


_empty = cuda_ops.empty


def cell_kernels(cell):
    """The ``(forward, forward_train, backward)`` CUDA kernels of ``cell`` (host-side launchers).

    Documented like the CPU kernels (:func:`tsrnn.kernels.cpu.cell_kernels`),
    whose docstrings they take; ``work`` needs ``work_size(cell, kind, B, D, H,
    device='cuda', T=T)`` elements.
    """
    spec = CELLS[cell]
    S = spec.n_states

    def forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT, work):
        T, B, _ = x.shape
        GH, H = W_hh.shape
        if B == 0:
            return
        w = _work(work, work_size(cell, 0, T, B, x.shape[2], H), x.dtype)
        P = w[: T * B * GH].reshape(T, B, GH)
        st = w[T * B * GH : T * B * GH + 2 * S * B * H].reshape(2, S, B, H)
        _project(cell, x, W_ih, b_ih, b_hh, P)
        blocks, threads, use_shared, nbytes = _launch(B, H, GH, x.dtype)
        kernel = _persistent(cell, x.dtype)[0]
        kernel[blocks, threads, 0, nbytes](
            P, state0, W_hh.reshape(GH * H), b_hh, act, TILE_ROWS, use_shared, False, st, _empty(3, x.dtype), out,
            stateT,
        )  # fmt: skip

    def forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates, work):
        T, B, _ = x.shape
        GH, H = W_hh.shape
        if B == 0:
            return
        w = _work(work, work_size(cell, 1, T, B, x.shape[2], H), x.dtype)
        P = w[: T * B * GH].reshape(T, B, GH)
        _project(cell, x, W_ih, b_ih, b_hh, P)
        blocks, threads, use_shared, nbytes = _launch(B, H, GH, x.dtype)
        kernel = _persistent(cell, x.dtype)[0]
        kernel[blocks, threads, 0, nbytes](
            P, state0, W_hh.reshape(GH * H), b_hh, act, TILE_ROWS, use_shared, True, states, gates,
            _empty(3, x.dtype), _empty(3, x.dtype),
        )  # fmt: skip

    def backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh,
                 work):  # fmt: skip
        T, B, D = x.shape
        GH, H = W_hh.shape
        w = _work(work, work_size(cell, 2, T, B, D, H), x.dtype)
        dG_ih = w[: T * B * GH].reshape(T, B, GH)
        dG_hh = w[T * B * GH : 2 * T * B * GH].reshape(T, B, GH) if cell == "gru" else dG_ih
        if B > 0:
            blocks, threads, use_shared, nbytes = _launch(B, H, GH, x.dtype)
            kernel = _persistent(cell, x.dtype)[1]
            kernel[blocks, threads, 0, nbytes](
                gates, states, dout, dstateT, W_hh.reshape(GH * H), act, TILE_ROWS, use_shared, dG_ih,
                dG_hh if cell == "gru" else _empty(3, x.dtype), dstate0,
            )  # fmt: skip
        cuda_ops.rows_gemm_tn(dG_ih, x.reshape(T, 1, B, D), 0, dW_ih)
        cuda_ops.rows_gemm_tn(dG_hh, states, 0, dW_hh)
        cuda_ops.colsum(dG_ih, db_ih)
        cuda_ops.colsum(dG_hh, db_hh)
        if dx.size > 0:
            cuda_ops.rows_gemm(dG_ih, W_ih, False, dx)

    from .cpu import cell_kernels as cpu_cell_kernels  # the docstrings: one text for both devices

    for kernel, twin in zip((forward, forward_train, backward), cpu_cell_kernels(cell), strict=True):
        kernel.__name__ = kernel.__qualname__ = f"{cell}_cuda_{kernel.__name__}"
        kernel.__doc__ = twin.__doc__.replace(
            "Scratch memory (allocated here when smaller).",
            "Scratch memory, of ``work_size(..., device='cuda', T=T)`` elements on CUDA (allocated when smaller).",
        )
    return forward, forward_train, backward
