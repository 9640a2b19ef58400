"""CPU kernels of the GRU cell (gates r, z, n; state h).

``n = tanh(W_in x + b_in + r*(W_hn h + b_hn))``, ``h' = (1-z)*n + z*h``. Same
kernels, signatures and plan as :mod:`.rnn`; ``act`` is accepted for a uniform
signature and ignored. The BPTT cache per step is
``gates[t] = [r, z, n, W_hn h + b_hn]`` (B, 4H). The input and recurrent
products go to two per-shard scratch blocks, since ``r`` scales only the
recurrent part of ``n``.
"""

import numpy as np
from numba import njit, prange

from .. import _config
from .activations import sigmoid, tanh
from .blas import gemm
from .rnn import (
    _copy,
    _copy2d,
    _empties,
    _empty_sequence,
    _get_work,
    _n_shards,
    _parts_size,
    _project,
    _shard,
    _sum_parts,
    _transpose,
    _weight_grads_step,
)


@njit(inline="always", **_config.JIT)
def gru_work_size(kind, B, D, H, n_shards):
    """Elements of ``work`` the gru kernels use (kind 0 forward, 1 forward_train, 2 backward).

    Plain arithmetic (no calls), so :func:`tsrnn.kernels.work_size` can run it uncompiled.
    """
    GH = 3 * H
    if kind == 0:
        return 12 * B * H + D * GH
    if kind == 1:
        return 6 * B * H + D * GH
    return 7 * B * H + n_shards * (GH * D + GH * H + 2 * GH)


@njit(**_config.JIT)
def _gru_cell(ax, ah, b_ih, b_hh, h_prev, h_new, cache):
    """Pointwise part of one step for a block of rows.

    ``ax = x_t @ W_ih.T`` and ``ah = h_prev @ W_hh.T`` (rows, 3H, without
    biases); writes ``h_new`` (rows, H; may be ``h_prev``) and ``cache`` (rows, 4H).
    Gates are views indexed from 0, one loop per activation (see ``lstm._lstm_cell``).
    """
    rows, H = h_new.shape
    one = h_new.dtype.type(1.0)
    bi_rz, bh_rz = b_ih[: 2 * H], b_hh[: 2 * H]
    bi_n, bh_n = b_ih[2 * H :], b_hh[2 * H :]
    for b in range(rows):
        ax_rz, ah_rz, ax_n, ah_n = ax[b, : 2 * H], ah[b, : 2 * H], ax[b, 2 * H :], ah[b, 2 * H :]
        c_rz, c_r, c_z = cache[b, : 2 * H], cache[b, :H], cache[b, H : 2 * H]
        c_n, c_hn = cache[b, 2 * H : 3 * H], cache[b, 3 * H : 4 * H]
        hp, hn_ = h_prev[b], h_new[b]
        for k in range(2 * H):  # r, z
            c_rz[k] = sigmoid(ax_rz[k] + ah_rz[k] + bi_rz[k] + bh_rz[k])
        for j in range(H):  # n and the new state in one loop (measured 15-25 % faster than three)
            hn = ah_n[j] + bh_n[j]
            c_hn[j] = hn
            n = tanh(ax_n[j] + bi_n[j] + c_r[j] * hn)
            c_n[j] = n
            z = c_z[j]
            hn_[j] = (one - z) * n + z * hp[j]


@njit(**_config.JIT)
def _gru_forward_shard(x, state0, W_ih, W_ihT, W_hh, b_ih, b_hh, out, stateT, ax, ah, cache, h0, h1, b0, b1):
    """Inference time loop for rows ``b0:b1``; scratch ``ax``, ``ah (B, 3H)``, ``cache (B, 4H)``,
    ``h0``, ``h1 (B, H)``. Without ``out``, ``h`` alternates between ``h0`` and ``h1``
    (an in-place update would defeat vectorisation)."""
    T = x.shape[0]
    H = W_hh.shape[1]
    rows = b1 - b0
    keep = out.size > 0
    ax, ah, cache, h0, h1 = ax[b0:b1], ah[b0:b1], cache[b0:b1], h0[b0:b1], h1[b0:b1]
    h_prev = state0[0, b0:b1]
    for t in range(T):
        _project(x[t, b0:b1], W_ihT, W_ih, ax, 0.0)
        gemm(0, 1, rows, 3 * H, H, 1.0, h_prev, H, W_hh, H, 0.0, ah, 3 * H)
        h_new = out[t, b0:b1] if keep else (h0 if t % 2 == 0 else h1)
        _gru_cell(ax, ah, b_ih, b_hh, h_prev, h_new, cache)
        h_prev = h_new
    _copy2d(stateT[0, b0:b1], h_prev)


@njit(**_config.JIT)
def _gru_train_shard(x, W_ih, W_ihT, W_hh, b_ih, b_hh, states, gates, ax, ah, b0, b1):
    T = x.shape[0]
    H = W_hh.shape[1]
    rows = b1 - b0
    ax, ah = ax[b0:b1], ah[b0:b1]
    for t in range(T):
        h_prev = states[t, 0, b0:b1]
        _project(x[t, b0:b1], W_ihT, W_ih, ax, 0.0)
        gemm(0, 1, rows, 3 * H, H, 1.0, h_prev, H, W_hh, H, 0.0, ah, 3 * H)
        _gru_cell(ax, ah, b_ih, b_hh, h_prev, states[t + 1, 0, b0:b1], gates[t, b0:b1])


@njit(**_config.JIT)
def _gru_cell_backward(dh, dout, t, b0, h_prev, cache, dg_ih, dg_hh, db_ih, db_hh):
    """Pointwise part of one backward step for a block of rows.

    Writes ``dg_ih``, ``dg_hh`` (rows, 3H), the gradients w.r.t. the input and
    recurrent pre-activations, adds their column sums to ``db_ih``, ``db_hh``,
    and replaces ``dh`` (plus ``dout`` rows ``b0:`` of step ``t`` unless empty)
    by its ``z*h`` path to ``h_prev``.
    """
    rows, H = dh.shape
    one = dh.dtype.type(1.0)
    has_dout = dout.size > 0
    for b in range(rows):
        dh_b, hp = dh[b], h_prev[b]
        r_, z_, n_, hn_ = cache[b, :H], cache[b, H : 2 * H], cache[b, 2 * H : 3 * H], cache[b, 3 * H : 4 * H]
        di_r, di_z, di_n = dg_ih[b, :H], dg_ih[b, H : 2 * H], dg_ih[b, 2 * H :]
        dh_r, dh_z, dh_n = dg_hh[b, :H], dg_hh[b, H : 2 * H], dg_hh[b, 2 * H :]
        if has_dout:
            dout_b = dout[t, b0 + b]
            for j in range(H):
                dh_b[j] += dout_b[j]
        for j in range(H):
            r = r_[j]
            z = z_[j]
            n = n_[j]
            dh_t = dh_b[j]
            dan = dh_t * (one - z) * (one - n * n)
            dar = dan * hn_[j] * r * (one - r)
            daz = dh_t * (hp[j] - n) * z * (one - z)
            di_r[j] = dar
            di_z[j] = daz
            di_n[j] = dan
            dh_r[j] = dar
            dh_z[j] = daz
            dh_n[j] = dan * r
            dh_b[j] = dh_t * z
        gi, gh = dg_ih[b], dg_hh[b]
        for k in range(3 * H):
            db_ih[k] += gi[k]
            db_hh[k] += gh[k]


@njit(**_config.JIT)
def _gru_backward_shard(x, W_ih, W_hh, states, gates, dout, dstateT, dx, dstate0, dg_ih, dg_hh, dh, parts, s, b0, b1):
    """BPTT for rows ``b0:b1`` into ``parts[s]``; scratch ``dg_ih``, ``dg_hh (B, 3H)``, ``dh (B, H)``."""
    T, D = x.shape[0], x.shape[2]
    H = W_hh.shape[1]
    GH = 3 * H
    rows = b1 - b0
    dg_ih, dg_hh, dh, part = dg_ih[b0:b1], dg_hh[b0:b1], dh[b0:b1], parts[s]
    part[:] = 0.0
    off = GH * D + GH * H
    db_ih = part[off : off + GH]
    db_hh = part[off + GH : off + 2 * GH]
    _copy2d(dh, dstateT[0, b0:b1])
    for t in range(T - 1, -1, -1):
        h_prev = states[t, 0, b0:b1]
        _gru_cell_backward(dh, dout, t, b0, h_prev, gates[t, b0:b1], dg_ih, dg_hh, db_ih, db_hh)
        gemm(0, 0, rows, H, GH, 1.0, dg_hh, GH, W_hh, H, 1.0, dh, H)
        _weight_grads_step(dg_ih, dg_hh, x[t, b0:b1], h_prev, part, GH, D, H)
        if dx.size > 0:
            gemm(0, 0, rows, D, GH, 1.0, dg_ih, GH, W_ih, D, 0.0, dx[t, b0:b1], D)
    _copy2d(dstate0[0, b0:b1], dh)


@njit(inline="always", **_config.JIT)
def _gru_shard(kind, x, state0, W_ih, W_ihT, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0, s1, s2, s3, s4, s5, parts, s, b0, b1):
    if kind == 0:
        _gru_forward_shard(x, state0, W_ih, W_ihT, W_hh, b_ih, b_hh, out, stateT, s1, s2, s3, s4, s5, b0, b1)
    elif kind == 1:
        _gru_train_shard(x, W_ih, W_ihT, W_hh, b_ih, b_hh, states, gates, s1, s2, b0, b1)
    else:
        _gru_backward_shard(x, W_ih, W_hh, states, gates, dout, dstateT, dx, dstate0, s1, s2, s3, parts, s, b0, b1)


@njit(**_config.JIT_PARALLEL)
def _gru(kind, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    """The three gru kernels in one compiled function: ``kind`` 0 forward, 1 forward_train, 2 backward.

    Slots a kind does not use hold empty arrays (see the public wrappers below).
    One function, not three, because every compiled function re-optimises all
    the code it calls and numba's parallel passes cost seconds per function:
    this cut the cold compile of a cell by ~40 %.
    """
    T, B, D = x.shape
    H = W_hh.shape[1]
    if kind == 1:
        _copy(states[0], state0)
    if T == 0 or B == 0:
        _empty_sequence(kind, state0, stateT, dstateT, dstate0, dW_ih, dW_hh, db_ih, db_hh)
        return
    n = _n_shards(B)
    w = _get_work(work, gru_work_size(kind, B, D, H, n))
    e2 = w[:0].reshape(0, 0)
    s1, s2, s3, s4, s5, W_ihT, parts = e2, e2, e2, e2, e2, e2, e2
    if kind == 0:
        s1 = w[: 3 * B * H].reshape(B, 3 * H)  # ax
        s2 = w[3 * B * H : 6 * B * H].reshape(B, 3 * H)  # ah
        s3 = w[6 * B * H : 10 * B * H].reshape(B, 4 * H)  # cache
        s4 = w[10 * B * H : 11 * B * H].reshape(B, H)  # h0
        s5 = w[11 * B * H : 12 * B * H].reshape(B, H)  # h1
        W_ihT = w[12 * B * H : 12 * B * H + 3 * D * H].reshape(D, 3 * H)
    elif kind == 1:
        s1 = w[: 3 * B * H].reshape(B, 3 * H)  # ax
        s2 = w[3 * B * H : 6 * B * H].reshape(B, 3 * H)  # ah
        W_ihT = w[6 * B * H : 6 * B * H + 3 * D * H].reshape(D, 3 * H)
    else:
        s1 = w[: 3 * B * H].reshape(B, 3 * H)  # dg_ih
        s2 = w[3 * B * H : 6 * B * H].reshape(B, 3 * H)  # dg_hh
        s3 = w[6 * B * H : 7 * B * H].reshape(B, H)  # dh
        P = _parts_size(3 * H, D, H, 2)
        parts = w[7 * B * H : 7 * B * H + n * P].reshape(n, P)
    if kind != 2:
        _transpose(W_ih, W_ihT)
    if n == 1:  # in the calling thread: the pool is not woken
        _gru_shard(kind, x, state0, W_ih, W_ihT, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0,
                   s1, s2, s3, s4, s5, parts, 0 * B, 0 * B, B)
    else:
        for s in prange(n):
            b0, b1 = _shard(B, n, s)
            _gru_shard(kind, x, state0, W_ih, W_ihT, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0,
                       s1, s2, s3, s4, s5, parts, np.int64(s), b0, b1)
    if kind == 2:
        _sum_parts(parts, n, dW_ih, dW_hh, db_ih, db_hh)


def gru_forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT, work):
    """Inference pass of one GRU layer (no BPTT cache).

    Parameters
    ----------
    x : ndarray of shape (T, B, D)
    state0 : ndarray of shape (1, B, H)
    W_ih, W_hh, b_ih, b_hh : ndarray of shapes (3H, D), (3H, H), (3H,), (3H,)
        Gate order r, z, n.
    act : int
        Ignored (the rnn cell's activation code).
    out : ndarray of shape (T, B, H), or of size 0
        Written: ``h`` after every step; skipped when ``out.size == 0``.
    stateT : ndarray of shape (1, B, H)
        Written: the final ``h``.
    work : ndarray of shape (>= gru_work_size(0, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _gru(0, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, e4, e3, e3, e3, e3, e3, e2, e2, e1, e1, work)


def gru_forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates, work):
    """Training pass of one GRU layer: states and gate cache for :func:`gru_backward`.

    Parameters
    ----------
    x, state0, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`gru_forward`.
    states : ndarray of shape (T+1, 1, B, H)
        Written: ``states[0] = state0``, ``states[t+1]`` the state after step ``t``.
    gates : ndarray of shape (T, B, 4H)
        Written: ``r, z, n`` activations and ``W_hn h + b_hn`` of every step.
    work : ndarray of shape (>= gru_work_size(1, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _gru(1, x, state0, W_ih, W_hh, b_ih, b_hh, e3, e3, states, gates, e3, e3, e3, e3, e2, e2, e1, e1, work)


def gru_backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    """Backpropagation through time for one GRU layer.

    All gradient outputs are overwritten, not accumulated into.

    Parameters
    ----------
    x, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`gru_forward`.
    states, gates : ndarray
        The cache written by :func:`gru_forward_train`.
    dout : ndarray of shape (T, B, H), or of size 0
        Gradient with respect to the outputs ``states[1:, 0]``; size 0 means zero.
    dstateT : ndarray of shape (1, B, H)
        Gradient with respect to the final state.
    dx : ndarray of shape (T, B, D), or of size 0
        Written: gradient with respect to ``x``; skipped when ``dx.size == 0``.
    dstate0 : ndarray of shape (1, B, H)
        Written: gradient with respect to ``state0``.
    dW_ih, dW_hh, db_ih, db_hh : ndarray
        Written: gradients with the shapes of the weights.
    work : ndarray of shape (>= gru_work_size(2, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _gru(2, x, e3, W_ih, W_hh, b_ih, b_hh, e3, e3, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)
