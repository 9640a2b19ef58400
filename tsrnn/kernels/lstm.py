"""CPU kernels of the LSTM cell (gates i, f, g, o; states h, c).

``c' = f*c + i*g``, ``h' = o*tanh(c')``. Same three functions, signatures and
plan as :mod:`.rnn`; ``act`` is accepted for a uniform signature and ignored.
The BPTT cache per step is ``gates[t] = [i, f, g, o, tanh(c')]`` (B, 5H).
"""

import numpy as np
from numba import njit, prange

from .. import _config
from .activations import sigmoid, tanh
from .rnn import _copy, _input_gradient, _input_projection, _n_shards, _shard, _weight_gradients, _zero_weight_gradients


@njit(**_config.JIT)
def _lstm_step(a, xp, b_ih, b_hh, c_prev, h_new, c_new, cache):
    """Pointwise part of one step for a block of rows.

    ``a = h_prev @ W_hh.T`` and ``xp = x_t @ W_ih.T`` (rows, 4H); writes
    ``h_new``, ``c_new`` (rows, H; ``c_new`` may be ``c_prev``) and ``cache`` (rows, 5H).
    """
    rows, H = h_new.shape
    for b in range(rows):
        # One short loop per activation: a single loop with all five
        # activations inlined is not vectorised well (measured 3x slower).
        for k in range(2 * H):  # i, f
            cache[b, k] = sigmoid(a[b, k] + xp[b, k] + b_ih[k] + b_hh[k])
        for k in range(2 * H, 3 * H):  # g
            cache[b, k] = tanh(a[b, k] + xp[b, k] + b_ih[k] + b_hh[k])
        for k in range(3 * H, 4 * H):  # o
            cache[b, k] = sigmoid(a[b, k] + xp[b, k] + b_ih[k] + b_hh[k])
        for j in range(H):
            c_new[b, j] = cache[b, H + j] * c_prev[b, j] + cache[b, j] * cache[b, 2 * H + j]
        for j in range(H):
            tanh_c = tanh(c_new[b, j])
            cache[b, 4 * H + j] = tanh_c
            h_new[b, j] = cache[b, 3 * H + j] * tanh_c


@njit(**_config.JIT)
def _lstm_step_backward(dh, dc, dout, c_prev, cache, dg):
    """Pointwise part of one backward step for a block of rows.

    Reads ``dh``, ``dc`` (gradients w.r.t. this step's output h and c, rows x H)
    and writes ``dg`` (rows, 4H), the gradient w.r.t. the gate pre-activations;
    ``dc`` is updated in place to the gradient w.r.t. ``c_prev``.
    """
    rows, H = dh.shape
    one = dh.dtype.type(1.0)
    for b in range(rows):
        for j in range(H):
            i = cache[b, j]
            f = cache[b, H + j]
            g = cache[b, 2 * H + j]
            o = cache[b, 3 * H + j]
            tanh_c = cache[b, 4 * H + j]
            dh_t = dh[b, j] + dout[b, j]
            dc_t = dc[b, j] + dh_t * o * (one - tanh_c * tanh_c)
            dg[b, j] = dc_t * g * i * (one - i)
            dg[b, H + j] = dc_t * c_prev[b, j] * f * (one - f)
            dg[b, 2 * H + j] = dc_t * i * (one - g * g)
            dg[b, 3 * H + j] = dh_t * tanh_c * o * (one - o)
            dc[b, j] = dc_t * f


@njit(**_config.JIT_PARALLEL)
def lstm_forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT):
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
    out : ndarray of shape (T, B, H)
        Written: ``h`` after every step.
    stateT : ndarray of shape (2, B, H)
        Written: the final ``h`` and ``c``.
    """
    T, B = x.shape[0], x.shape[1]
    H = W_hh.shape[1]
    if T == 0 or B == 0:
        _copy(stateT, state0)
        return
    xp = _input_projection(x, W_ih)
    n_shards = _n_shards(B)
    for s in prange(n_shards):
        b0, b1 = _shard(B, n_shards, s)
        a = np.empty((b1 - b0, 4 * H), x.dtype)
        cache = np.empty((b1 - b0, 5 * H), x.dtype)  # written, not kept
        c = state0[1, b0:b1].copy()  # updated in place
        h_prev = state0[0, b0:b1]
        for t in range(T):
            np.dot(h_prev, W_hh.T, a)
            _lstm_step(a, xp[t, b0:b1], b_ih, b_hh, c, out[t, b0:b1], c, cache)
            h_prev = out[t, b0:b1]
        _copy(stateT[0, b0:b1], h_prev)
        _copy(stateT[1, b0:b1], c)


@njit(**_config.JIT_PARALLEL)
def lstm_forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates):
    """Training pass of one LSTM layer: states and gate cache for :func:`lstm_backward`.

    Parameters
    ----------
    x, state0, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`lstm_forward`.
    states : ndarray of shape (T+1, 2, B, H)
        Written: ``states[0] = state0``, ``states[t+1] = (h, c)`` after step ``t``.
    gates : ndarray of shape (T, B, 5H)
        Written: ``i, f, g, o`` activations and ``tanh(c')`` of every step.
    """
    T, B = x.shape[0], x.shape[1]
    H = W_hh.shape[1]
    _copy(states[0], state0)
    if T == 0 or B == 0:
        return
    xp = _input_projection(x, W_ih)
    n_shards = _n_shards(B)
    for s in prange(n_shards):
        b0, b1 = _shard(B, n_shards, s)
        a = np.empty((b1 - b0, 4 * H), x.dtype)
        for t in range(T):
            np.dot(states[t, 0, b0:b1], W_hh.T, a)
            _lstm_step(
                a, xp[t, b0:b1], b_ih, b_hh, states[t, 1, b0:b1], states[t + 1, 0, b0:b1], states[t + 1, 1, b0:b1], gates[t, b0:b1]
            )


@njit(**_config.JIT_PARALLEL)
def lstm_backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh):
    """Backpropagation through time for one LSTM layer.

    All gradient outputs are overwritten, not accumulated into.

    Parameters
    ----------
    x, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`lstm_forward`.
    states, gates : ndarray
        The cache written by :func:`lstm_forward_train`.
    dout : ndarray of shape (T, B, H)
        Gradient with respect to the outputs ``states[1:, 0]``.
    dstateT : ndarray of shape (2, B, H)
        Gradient with respect to the final ``h`` and ``c``.
    dx : ndarray of shape (T, B, D), or of size 0
        Written: gradient with respect to ``x``; skipped when ``dx.size == 0``.
    dstate0 : ndarray of shape (2, B, H)
        Written: gradient with respect to the initial ``h`` and ``c``.
    dW_ih, dW_hh, db_ih, db_hh : ndarray
        Written: gradients with the shapes of the weights.
    """
    T, B = x.shape[0], x.shape[1]
    H = W_hh.shape[1]
    if T == 0 or B == 0:
        _copy(dstate0, dstateT)
        _zero_weight_gradients(dW_ih, dW_hh, db_ih, db_hh)
        return
    dg = np.empty((T, B, 4 * H), x.dtype)  # gradient w.r.t. the gate pre-activations
    n_shards = _n_shards(B)
    for s in prange(n_shards):
        b0, b1 = _shard(B, n_shards, s)
        dh = dstateT[0, b0:b1].copy()
        dc = dstateT[1, b0:b1].copy()
        for t in range(T - 1, -1, -1):
            dg_t = dg[t, b0:b1]
            _lstm_step_backward(dh, dc, dout[t, b0:b1], states[t, 1, b0:b1], gates[t, b0:b1], dg_t)
            np.dot(dg_t, W_hh, dh)
        _copy(dstate0[0, b0:b1], dh)
        _copy(dstate0[1, b0:b1], dc)
    _weight_gradients(x, states, dg, dg, dW_ih, dW_hh, db_ih, db_hh)
    if dx.size > 0:
        _input_gradient(dg, W_ih, dx)
