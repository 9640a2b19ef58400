"""CPU kernels of the GRU cell (gates r, z, n; state h).

``n = tanh(W_in x + b_in + r*(W_hn h + b_hn))``, ``h' = (1-z)*n + z*h``. Same
three functions, signatures and plan as :mod:`.rnn`; ``act`` is accepted for a
uniform signature and ignored. The BPTT cache per step is
``gates[t] = [r, z, n, W_hn h + b_hn]`` (B, 4H).
"""

import numpy as np
from numba import njit, prange

from .. import _config
from .activations import sigmoid, tanh
from .rnn import _copy, _input_gradient, _input_projection, _n_shards, _shard, _weight_gradients, _zero_weight_gradients


@njit(**_config.JIT)
def _gru_step(a, xp, b_ih, b_hh, h_prev, h_new, cache):
    """Pointwise part of one step for a block of rows.

    ``a = h_prev @ W_hh.T`` and ``xp = x_t @ W_ih.T`` (rows, 3H); writes
    ``h_new`` (rows, H) and ``cache`` (rows, 4H).
    """
    rows, H = h_new.shape
    one = h_new.dtype.type(1.0)
    for b in range(rows):
        # One loop per activation vectorises better than one fused loop.
        for k in range(2 * H):  # r, z
            cache[b, k] = sigmoid(a[b, k] + xp[b, k] + b_ih[k] + b_hh[k])
        for j in range(H):
            r = cache[b, j]
            z = cache[b, H + j]
            hn = a[b, 2 * H + j] + b_hh[2 * H + j]
            n = tanh(xp[b, 2 * H + j] + b_ih[2 * H + j] + r * hn)
            cache[b, 2 * H + j] = n
            cache[b, 3 * H + j] = hn
            h_new[b, j] = (one - z) * n + z * h_prev[b, j]


@njit(**_config.JIT)
def _gru_step_backward(dh, dout, h_prev, cache, dg_ih, dg_hh, dh_direct):
    """Pointwise part of one backward step for a block of rows.

    Writes ``dg_ih``, ``dg_hh`` (rows, 3H), the gradients w.r.t. the input and
    recurrent pre-activations, and ``dh_direct`` (rows, H) = the ``z*h`` path
    of the gradient to ``h_prev``.
    """
    rows, H = dh.shape
    one = dh.dtype.type(1.0)
    for b in range(rows):
        for j in range(H):
            r = cache[b, j]
            z = cache[b, H + j]
            n = cache[b, 2 * H + j]
            hn = cache[b, 3 * H + j]
            dh_t = dh[b, j] + dout[b, j]
            dan = dh_t * (one - z) * (one - n * n)
            dar = dan * hn * r * (one - r)
            daz = dh_t * (h_prev[b, j] - n) * z * (one - z)
            dg_ih[b, j] = dar
            dg_ih[b, H + j] = daz
            dg_ih[b, 2 * H + j] = dan
            dg_hh[b, j] = dar
            dg_hh[b, H + j] = daz
            dg_hh[b, 2 * H + j] = dan * r
            dh_direct[b, j] = dh_t * z


@njit(**_config.JIT)
def _add(a, b):
    """``a += b`` for C-contiguous arrays of the same shape."""
    a_flat = a.reshape(a.size)
    b_flat = b.reshape(b.size)
    for k in range(a_flat.size):
        a_flat[k] += b_flat[k]


@njit(**_config.JIT_PARALLEL)
def gru_forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT):
    """Inference pass of one GRU layer (no BPTT cache).

    Parameters
    ----------
    x : ndarray of shape (T, B, D)
    state0 : ndarray of shape (1, B, H)
    W_ih, W_hh, b_ih, b_hh : ndarray of shapes (3H, D), (3H, H), (3H,), (3H,)
        Gate order r, z, n.
    act : int
        Ignored (the rnn cell's activation code).
    out : ndarray of shape (T, B, H)
        Written: ``h`` after every step.
    stateT : ndarray of shape (1, B, H)
        Written: the final ``h``.
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
        a = np.empty((b1 - b0, 3 * H), x.dtype)
        cache = np.empty((b1 - b0, 4 * H), x.dtype)  # written, not kept
        h_prev = state0[0, b0:b1]
        for t in range(T):
            np.dot(h_prev, W_hh.T, a)
            _gru_step(a, xp[t, b0:b1], b_ih, b_hh, h_prev, out[t, b0:b1], cache)
            h_prev = out[t, b0:b1]
        _copy(stateT[0, b0:b1], h_prev)


@njit(**_config.JIT_PARALLEL)
def gru_forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates):
    """Training pass of one GRU layer: states and gate cache for :func:`gru_backward`.

    Parameters
    ----------
    x, state0, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`gru_forward`.
    states : ndarray of shape (T+1, 1, B, H)
        Written: ``states[0] = state0``, ``states[t+1]`` the state after step ``t``.
    gates : ndarray of shape (T, B, 4H)
        Written: ``r, z, n`` activations and ``W_hn h + b_hn`` of every step.
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
        a = np.empty((b1 - b0, 3 * H), x.dtype)
        for t in range(T):
            np.dot(states[t, 0, b0:b1], W_hh.T, a)
            _gru_step(a, xp[t, b0:b1], b_ih, b_hh, states[t, 0, b0:b1], states[t + 1, 0, b0:b1], gates[t, b0:b1])


@njit(**_config.JIT_PARALLEL)
def gru_backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh):
    """Backpropagation through time for one GRU layer.

    All gradient outputs are overwritten, not accumulated into.

    Parameters
    ----------
    x, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`gru_forward`.
    states, gates : ndarray
        The cache written by :func:`gru_forward_train`.
    dout : ndarray of shape (T, B, H)
        Gradient with respect to the outputs ``states[1:, 0]``.
    dstateT : ndarray of shape (1, B, H)
        Gradient with respect to the final state.
    dx : ndarray of shape (T, B, D), or of size 0
        Written: gradient with respect to ``x``; skipped when ``dx.size == 0``.
    dstate0 : ndarray of shape (1, B, H)
        Written: gradient with respect to ``state0``.
    dW_ih, dW_hh, db_ih, db_hh : ndarray
        Written: gradients with the shapes of the weights.
    """
    T, B = x.shape[0], x.shape[1]
    H = W_hh.shape[1]
    if T == 0 or B == 0:
        _copy(dstate0, dstateT)
        _zero_weight_gradients(dW_ih, dW_hh, db_ih, db_hh)
        return
    # Gradients w.r.t. W_ih x + b_ih and w.r.t. W_hh h + b_hh: they differ in
    # the n part, where the recurrent term is scaled by r.
    dg_ih = np.empty((T, B, 3 * H), x.dtype)
    dg_hh = np.empty((T, B, 3 * H), x.dtype)
    n_shards = _n_shards(B)
    for s in prange(n_shards):
        b0, b1 = _shard(B, n_shards, s)
        dh = dstateT[0, b0:b1].copy()
        dh_direct = np.empty((b1 - b0, H), x.dtype)
        for t in range(T - 1, -1, -1):
            dg_hh_t = dg_hh[t, b0:b1]
            _gru_step_backward(dh, dout[t, b0:b1], states[t, 0, b0:b1], gates[t, b0:b1], dg_ih[t, b0:b1], dg_hh_t, dh_direct)
            np.dot(dg_hh_t, W_hh, dh)
            _add(dh, dh_direct)
        _copy(dstate0[0, b0:b1], dh)
    _weight_gradients(x, states, dg_ih, dg_hh, dW_ih, dW_hh, db_ih, db_hh)
    if dx.size > 0:
        _input_gradient(dg_ih, W_ih, dx)
