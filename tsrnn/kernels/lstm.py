"""CPU kernels of the LSTM cell (gates i, f, g, o; states h, c).

``c' = f*c + i*g``, ``h' = o*tanh(c')``. Same kernels, signatures and plan as
:mod:`.rnn`; ``act`` is accepted for a uniform signature and ignored. The BPTT
cache per step is ``gates[t] = [i, f, g, o, tanh(c')]`` (B, 5H): the forward
pass accumulates the gate pre-activations straight into its first 4H columns
and turns them into activations in place.
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
    _gates_preact,
    _get_work,
    _n_shards,
    _parts_size,
    _prepare_weights,
    _shard,
    _sum_parts,
    _weight_grads_step,
)


@njit(inline="always", **_config.JIT)
def lstm_work_size(kind, B, D, H, n_shards):
    """Elements of ``work`` the lstm kernels use (kind 0 forward, 1 forward_train, 2 backward).

    Plain arithmetic (no calls), so :func:`tsrnn.kernels.work_size` can run it uncompiled.
    """
    GH = 4 * H
    K = H + D
    if kind == 0:
        return 8 * B * H + B * K + GH * K + D * GH + GH
    if kind == 1:
        return B * K + GH * K + D * GH + GH
    return 6 * B * H + n_shards * (GH * D + GH * H + GH)


@njit(inline="always", **_config.JIT)
def _lstm_input_gates(g_if, b_if, g_g, b_g):
    """i, f and g of one row in place (views indexed from 0, one loop per activation)."""
    for k in range(g_if.size):
        g_if[k] = sigmoid(g_if[k] + b_if[k])
    for j in range(g_g.size):
        g_g[j] = tanh(g_g[j] + b_g[j])


@njit(**_config.JIT)
def _lstm_cell(g, bias, c_prev, h_new, c_new):
    """Pointwise part of one step for a block of rows.

    ``g (rows, 5H)`` holds the pre-activations (without ``bias = b_ih + b_hh``)
    in its first 4H columns; they are replaced by ``i, f, g, o`` and
    ``tanh(c')`` goes to the last H. Writes ``h_new`` and ``c_new`` (which
    must not overlap ``c_prev``: see ``rnn._rnn_act_inplace``).
    """
    rows, H = h_new.shape
    b_if, b_g, b_o = bias[: 2 * H], bias[2 * H : 3 * H], bias[3 * H :]
    for b in range(rows):
        # Each gate is a view indexed from 0 and each gate activation has its
        # own short loop: offset indices (``g[b, 2*H + j]``) get numba's
        # negative-index check, which stops LLVM vectorising, and one loop
        # holding all five activations vectorises badly (measured 2-3x slower
        # either way); the state update with tanh(c') is one loop (4 % faster).
        g_if, g_i, g_f = g[b, : 2 * H], g[b, :H], g[b, H : 2 * H]
        g_g, g_o, g_c = g[b, 2 * H : 3 * H], g[b, 3 * H : 4 * H], g[b, 4 * H : 5 * H]
        cp, cn, hn = c_prev[b], c_new[b], h_new[b]
        _lstm_input_gates(g_if, b_if, g_g, b_g)
        for j in range(H):
            g_o[j] = sigmoid(g_o[j] + b_o[j])
        for j in range(H):
            c = g_f[j] * cp[j] + g_i[j] * g_g[j]
            cn[j] = c
            tanh_c = tanh(c)
            g_c[j] = tanh_c
            hn[j] = g_o[j] * tanh_c


@njit(**_config.JIT)
def _lstm_cell_inference(g, bias, c_prev, h_new, c_new):
    """:func:`_lstm_cell` without the backward cache: the output gate and tanh(c')
    are used where they are computed, never stored."""
    rows, H = h_new.shape
    b_if, b_g, b_o = bias[: 2 * H], bias[2 * H : 3 * H], bias[3 * H :]
    for b in range(rows):
        g_if, g_i, g_f = g[b, : 2 * H], g[b, :H], g[b, H : 2 * H]
        g_g, g_o = g[b, 2 * H : 3 * H], g[b, 3 * H : 4 * H]
        cp, cn, hn = c_prev[b], c_new[b], h_new[b]
        _lstm_input_gates(g_if, b_if, g_g, b_g)
        for j in range(H):
            c = g_f[j] * cp[j] + g_i[j] * g_g[j]
            cn[j] = c
            hn[j] = sigmoid(g_o[j] + b_o[j]) * tanh(c)


@njit(**_config.JIT)
def _lstm_forward_shard(x, state0, W_ih, W_ihT, W_cat, bias, out, stateT, g, h, c0, c1, hx, b0, b1):
    """Inference time loop for rows ``b0:b1``; scratch ``g (B, 5H)``, ``h``, ``c0``, ``c1 (B, H)``,
    ``hx (B, H+D)``.

    ``c`` alternates between ``c0`` and ``c1`` (an in-place update would defeat
    vectorisation, see ``rnn._rnn_act_inplace``).
    """
    T = x.shape[0]
    keep = out.size > 0
    g, h, c0, c1, hx = g[b0:b1], h[b0:b1], c0[b0:b1], c1[b0:b1], hx[b0:b1]
    _copy2d(c0, state0[1, b0:b1])
    h_prev = state0[0, b0:b1]
    for t in range(T):
        _gates_preact(x[t, b0:b1], h_prev, W_ihT, W_ih, W_cat, hx, g)
        h_new = out[t, b0:b1] if keep else h
        if t % 2 == 0:
            _lstm_cell_inference(g, bias, c0, h_new, c1)
        else:
            _lstm_cell_inference(g, bias, c1, h_new, c0)
        h_prev = h_new
    _copy2d(stateT[0, b0:b1], h_prev)
    _copy2d(stateT[1, b0:b1], c0 if T % 2 == 0 else c1)


@njit(**_config.JIT)
def _lstm_train_shard(x, W_ih, W_ihT, W_cat, bias, states, gates, hx, b0, b1):
    T = x.shape[0]
    hx = hx[b0:b1]
    for t in range(T):
        g = gates[t, b0:b1]
        _gates_preact(x[t, b0:b1], states[t, 0, b0:b1], W_ihT, W_ih, W_cat, hx, g)
        _lstm_cell(g, bias, states[t, 1, b0:b1], states[t + 1, 0, b0:b1], states[t + 1, 1, b0:b1])


@njit(**_config.JIT)
def _lstm_cell_backward(dh, dc, dout, t, b0, c_prev, cache, dg, db):
    """Pointwise part of one backward step for a block of rows.

    Reads ``dh``, ``dc`` (gradients w.r.t. this step's h and c, rows x H; ``dout``
    rows ``b0:`` of step ``t`` are added to ``dh`` unless ``dout`` is empty),
    writes ``dg`` (rows, 4H), the gradient w.r.t. the gate pre-activations, adds
    its column sums to ``db``, and updates ``dc`` to the gradient w.r.t. ``c_prev``.
    """
    rows, H = dh.shape
    one = dh.dtype.type(1.0)
    has_dout = dout.size > 0
    for b in range(rows):
        dh_b, dc_b, cp = dh[b], dc[b], c_prev[b]
        i_, f_, g_ = cache[b, :H], cache[b, H : 2 * H], cache[b, 2 * H : 3 * H]
        o_, tc_ = cache[b, 3 * H : 4 * H], cache[b, 4 * H : 5 * H]
        d_i, d_f, d_g, d_o = dg[b, :H], dg[b, H : 2 * H], dg[b, 2 * H : 3 * H], dg[b, 3 * H : 4 * H]
        if has_dout:
            dout_b = dout[t, b0 + b]
            for j in range(H):
                dh_b[j] += dout_b[j]
        for j in range(H):
            i = i_[j]
            f = f_[j]
            g = g_[j]
            o = o_[j]
            tanh_c = tc_[j]
            dh_t = dh_b[j]
            dc_t = dc_b[j] + dh_t * o * (one - tanh_c * tanh_c)
            d_i[j] = dc_t * g * i * (one - i)
            d_f[j] = dc_t * cp[j] * f * (one - f)
            d_g[j] = dc_t * i * (one - g * g)
            d_o[j] = dh_t * tanh_c * o * (one - o)
            dc_b[j] = dc_t * f
        dg_b = dg[b]
        for k in range(4 * H):
            db[k] += dg_b[k]


@njit(**_config.JIT)
def _lstm_backward_shard(x, W_ih, W_hh, states, gates, dout, dstateT, dx, dstate0, dg, dh, dc, parts, s, b0, b1):
    """BPTT for rows ``b0:b1`` into ``parts[s]``; scratch ``dg (B, 4H)``, ``dh``, ``dc (B, H)``."""
    T, D = x.shape[0], x.shape[2]
    H = W_hh.shape[1]
    GH = 4 * H
    rows = b1 - b0
    dg, dh, dc, part = dg[b0:b1], dh[b0:b1], dc[b0:b1], parts[s]
    part[:] = 0.0
    db = part[GH * D + GH * H : GH * D + GH * H + GH]
    _copy2d(dh, dstateT[0, b0:b1])
    _copy2d(dc, dstateT[1, b0:b1])
    for t in range(T - 1, -1, -1):
        _lstm_cell_backward(dh, dc, dout, t, b0, states[t, 1, b0:b1], gates[t, b0:b1], dg, db)
        gemm(0, 0, rows, H, GH, 1.0, dg, GH, W_hh, H, 0.0, dh, H)
        _weight_grads_step(dg, dg, x[t, b0:b1], states[t, 0, b0:b1], part, GH, D, H)
        if dx.size > 0:
            gemm(0, 0, rows, D, GH, 1.0, dg, GH, W_ih, D, 0.0, dx[t, b0:b1], D)
    _copy2d(dstate0[0, b0:b1], dh)
    _copy2d(dstate0[1, b0:b1], dc)


@njit(inline="always", **_config.JIT)
def _lstm_shard(kind, x, state0, W_ih, W_ihT, W_hh, W_cat, bias, out, stateT, states, gates, dout, dstateT, dx, dstate0,
                s1, s2, s3, s4, s5, parts, s, b0, b1):
    if kind == 0:
        _lstm_forward_shard(x, state0, W_ih, W_ihT, W_cat, bias, out, stateT, s1, s2, s3, s4, s5, b0, b1)
    elif kind == 1:
        _lstm_train_shard(x, W_ih, W_ihT, W_cat, bias, states, gates, s5, b0, b1)
    else:
        _lstm_backward_shard(x, W_ih, W_hh, states, gates, dout, dstateT, dx, dstate0, s1, s2, s3, parts, s, b0, b1)


@njit(**_config.JIT_PARALLEL)
def _lstm(kind, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    """The three lstm kernels in one compiled function: ``kind`` 0 forward, 1 forward_train, 2 backward.

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
    w = _get_work(work, lstm_work_size(kind, B, D, H, n))
    e1 = w[:0]
    e2 = e1.reshape(0, 0)
    s1, s2, s3, s4, s5, W_ihT, W_cat, bias, parts = e2, e2, e2, e2, e2, e2, e2, e1, e2
    GH, K = 4 * H, H + D
    if kind == 0:
        s1 = w[: 5 * B * H].reshape(B, 5 * H)  # g
        s2 = w[5 * B * H : 6 * B * H].reshape(B, H)  # h
        s3 = w[6 * B * H : 7 * B * H].reshape(B, H)  # c0
        s4 = w[7 * B * H : 8 * B * H].reshape(B, H)  # c1
        w = w[8 * B * H :]
    if kind != 2:
        s5 = w[: B * K].reshape(B, K)  # hx
        W_cat = w[B * K : B * K + GH * K].reshape(GH, K)
        W_ihT = w[B * K + GH * K : B * K + GH * K + D * GH].reshape(D, GH)
        bias = w[B * K + GH * K + D * GH : B * K + GH * K + D * GH + GH]
        _prepare_weights(W_ih, W_hh, b_ih, b_hh, W_ihT, W_cat, bias)
    else:
        s1 = w[: 4 * B * H].reshape(B, 4 * H)  # dg
        s2 = w[4 * B * H : 5 * B * H].reshape(B, H)  # dh
        s3 = w[5 * B * H : 6 * B * H].reshape(B, H)  # dc
        P = _parts_size(4 * H, D, H, 1)
        parts = w[6 * B * H : 6 * B * H + n * P].reshape(n, P)
    if n == 1:  # in the calling thread: the pool is not woken
        _lstm_shard(kind, x, state0, W_ih, W_ihT, W_hh, W_cat, bias, out, stateT, states, gates, dout, dstateT, dx, dstate0,
                    s1, s2, s3, s4, s5, parts, 0 * B, 0 * B, B)
    else:
        for s in prange(n):
            b0, b1 = _shard(B, n, s)
            _lstm_shard(kind, x, state0, W_ih, W_ihT, W_hh, W_cat, bias, out, stateT, states, gates, dout, dstateT, dx,
                        dstate0, s1, s2, s3, s4, s5, parts, np.int64(s), b0, b1)
    if kind == 2:
        _sum_parts(parts, n, dW_ih, dW_hh, db_ih, db_hh)


def lstm_forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT, work):
    """Inference pass of one LSTM layer (no BPTT cache).

    Parameters
    ----------
    x : ndarray of shape (T, B, D)
    state0 : ndarray of shape (2, B, H)
        Initial ``h`` and ``c``.
    W_ih, W_hh, b_ih, b_hh : ndarray of shapes (4H, D), (4H, H), (4H,), (4H,)
        Gate order i, f, g, o.
    act : int
        Ignored (the rnn cell's activation code).
    out : ndarray of shape (T, B, H), or of size 0
        Written: ``h`` after every step; skipped when ``out.size == 0``.
    stateT : ndarray of shape (2, B, H)
        Written: the final ``h`` and ``c``.
    work : ndarray of shape (>= lstm_work_size(0, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _lstm(0, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, e4, e3, e3, e3, e3, e3, e2, e2, e1, e1, work)


def lstm_forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates, work):
    """Training pass of one LSTM layer: states and gate cache for :func:`lstm_backward`.

    Parameters
    ----------
    x, state0, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`lstm_forward`.
    states : ndarray of shape (T+1, 2, B, H)
        Written: ``states[0] = state0``, ``states[t+1] = (h, c)`` after step ``t``.
    gates : ndarray of shape (T, B, 5H)
        Written: ``i, f, g, o`` activations and ``tanh(c')`` of every step.
    work : ndarray of shape (>= lstm_work_size(1, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _lstm(1, x, state0, W_ih, W_hh, b_ih, b_hh, e3, e3, states, gates, e3, e3, e3, e3, e2, e2, e1, e1, work)


def lstm_backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    """Backpropagation through time for one LSTM layer.

    All gradient outputs are overwritten, not accumulated into.

    Parameters
    ----------
    x, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`lstm_forward`.
    states, gates : ndarray
        The cache written by :func:`lstm_forward_train`.
    dout : ndarray of shape (T, B, H), or of size 0
        Gradient with respect to the outputs ``states[1:, 0]``; size 0 means zero.
    dstateT : ndarray of shape (2, B, H)
        Gradient with respect to the final ``h`` and ``c``.
    dx : ndarray of shape (T, B, D), or of size 0
        Written: gradient with respect to ``x``; skipped when ``dx.size == 0``.
    dstate0 : ndarray of shape (2, B, H)
        Written: gradient with respect to the initial ``h`` and ``c``.
    dW_ih, dW_hh, db_ih, db_hh : ndarray
        Written: gradients with the shapes of the weights.
    work : ndarray of shape (>= lstm_work_size(2, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _lstm(2, x, e3, W_ih, W_hh, b_ih, b_hh, e3, e3, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)
