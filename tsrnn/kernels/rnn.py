"""CPU kernels of the vanilla RNN cell, and the batch-sharding helpers all cells share.

``h' = act(W_ih x + b_ih + W_hh h + b_hh)`` with act 0 = tanh, 1 = relu.

Every cell module (rnn, lstm, gru) exposes the same three functions with the
same signature, and follows the same plan (see DESIGN.md, "CPU performance
recipe"):

1. the input projection ``x @ W_ih.T`` for all time steps is one GEMM over
   the T*B rows, before the time loop;
2. the batch is cut into one fixed shard per numba thread, and ``prange``
   runs the time loop of each shard; only ``h @ W_hh.T`` (forward) or
   ``dgates @ W_hh`` (backward) and the pointwise gate math run per step;
3. backward writes the pre-activation gradients of every step into a work
   array and gets the weight gradients (and ``dx``) from GEMMs over the T*B
   rows after the loop.

All parallelism is numba's: the GEMMs of steps 1 and 3 are split into one
block of time steps per thread, and every BLAS call runs inside a ``prange``.
So callers should limit BLAS to one thread while kernels run (e.g.
``threadpoolctl.ThreadpoolController().limit(limits=1, user_api="blas")``):
multi-threaded BLAS nested in numba threads oversubscribes the cores, and
OpenBLAS under numba's OpenMP layer prints "Detect OpenMP Loop" warnings.
Results are correct either way.

Threads never write to the same memory and partial sums are added in a fixed
order, so results are bit-identical from call to call at a fixed thread count,
with no atomics.

The shared helpers (``_shard``, ``_input_projection``, ``_weight_gradients``,
...) live here, in the simplest cell, and :mod:`.lstm` and :mod:`.gru` import them.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from .. import _config
from .activations import relu, tanh


@intrinsic
def _num_threads(typingctx):
    """``numba.get_num_threads()`` for kernels, in a form numba can cache.

    numba's own overload calls the threading layer through a ctypes pointer,
    which makes every caller uncachable ("dynamic globals"). This calls the
    same C symbol by name, as numba's compiled parallel loops do. Use it only
    inside ``parallel=True`` functions: when loaded from the cache they launch
    the threading layer, which defines the symbol, before linking.
    """
    numba.get_num_threads()  # launch the threading layer: defines the symbol

    def codegen(context, builder, signature, args):
        # Declared as numba's parallel loops declare it (they share the module);
        # the C function returns an int, hence the trunc + sext.
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(cgutils.intp_t, []), "get_num_threads")
        return builder.sext(builder.trunc(builder.call(fn, []), ir.IntType(32)), cgutils.intp_t)

    return types.intp(), codegen


if _config.PARALLEL:

    # Inlined into the parallel kernels: their cache entries launch the
    # threading layer on load, which a separately cached function would not.
    @njit(inline="always", **_config.JIT)
    def _n_shards(B):
        """One batch shard per numba thread (fewer when the batch is smaller)."""
        return max(1, min(_num_threads(), B))

else:

    @njit(**_config.JIT)
    def _n_shards(B):
        """Serial kernels: one shard (the threading layer is never started)."""
        return 1


@njit(**_config.JIT)
def _shard(B, n_shards, s):
    """Row range ``[b0, b1)`` of shard ``s``: contiguous, sizes differ by at most 1."""
    return s * B // n_shards, (s + 1) * B // n_shards


@njit(**_config.JIT)
def _copy(dst, src):
    """``dst[...] = src`` for C-contiguous arrays of the same size.

    numba's array setitem compiles a shape-checking error path that costs
    ~0.2 s per call site; this loop compiles once per array type.
    """
    d = dst.reshape(dst.size)
    s = src.reshape(src.size)
    for k in range(d.size):
        d[k] = s[k]


@njit(**_config.JIT)
def _sum_parts(parts, out):
    """``out = parts[0] + parts[1] + ...``, always in this order (deterministic)."""
    flat = parts.reshape(parts.shape[0], out.size)
    o = out.reshape(out.size)
    for k in range(o.size):
        o[k] = flat[0, k]
    for s in range(1, parts.shape[0]):
        for k in range(o.size):
            o[k] += flat[s, k]


@njit(**_config.JIT_PARALLEL)
def _input_projection(x, W_ih):
    """``x @ W_ih.T`` for all time steps: (T, B, D) -> (T, B, G*H).

    One GEMM over the T*B rows, cut into one block of time steps per thread
    (the kernels expect single-threaded BLAS, see the module docstring).
    Biases are added later, in the pointwise step, to save a pass over the result.
    """
    T, B, D = x.shape
    GH = W_ih.shape[0]
    xp = np.empty((T, B, GH), x.dtype)
    n_chunks = _n_shards(T)
    for s in prange(n_chunks):
        t0, t1 = _shard(T, n_chunks, s)
        rows = (t1 - t0) * B
        np.dot(x[t0:t1].reshape(rows, D), W_ih.T, xp[t0:t1].reshape(rows, GH))
    return xp


@njit(**_config.JIT_PARALLEL)
def _input_gradient(dg_ih, W_ih, dx):
    """``dx = dg_ih @ W_ih`` over the T*B rows, one block of time steps per thread."""
    T, B, GH = dg_ih.shape
    D = dx.shape[2]
    n_chunks = _n_shards(T)
    for s in prange(n_chunks):
        t0, t1 = _shard(T, n_chunks, s)
        rows = (t1 - t0) * B
        np.dot(dg_ih[t0:t1].reshape(rows, GH), W_ih, dx[t0:t1].reshape(rows, D))


@njit(**_config.JIT_PARALLEL)
def _weight_gradients(x, states, dg_ih, dg_hh, dW_ih, dW_hh, db_ih, db_hh):
    """Weight and bias gradients from the pre-activation gradients of all steps.

    ``dg_ih`` and ``dg_hh`` (T, B, G*H) are the gradients with respect to
    ``W_ih x_t + b_ih`` and ``W_hh h_{t-1} + b_hh`` (the same array except for
    gru). Each gradient is a GEMM over the T*B rows, cut into one block of
    time steps per thread; the partial sums are added in a fixed order.
    """
    T, B, D = x.shape
    S, H = states.shape[1], states.shape[3]
    GH = dg_ih.shape[2]
    n_chunks = _n_shards(T)
    part_W_ih = np.empty((n_chunks, GH, D), x.dtype)
    part_W_hh = np.empty((n_chunks, GH, H), x.dtype)
    part_b_ih = np.empty((n_chunks, GH), x.dtype)
    part_b_hh = np.empty((n_chunks, GH), x.dtype)
    for s in prange(n_chunks):
        t0, t1 = _shard(T, n_chunks, s)
        rows = (t1 - t0) * B
        g_ih = dg_ih[t0:t1].reshape(rows, GH)
        g_hh = dg_hh[t0:t1].reshape(rows, GH)
        np.dot(g_ih.T, x[t0:t1].reshape(rows, D), part_W_ih[s])
        if S == 1:
            h_prev = states[t0:t1].reshape(rows, H)  # contiguous when S == 1
        else:
            # lstm interleaves h and c per step; gather h into one matrix.
            h_prev = np.empty((rows, H), states.dtype)
            for t in range(t0, t1):
                _copy(h_prev[(t - t0) * B : (t - t0 + 1) * B], states[t, 0])
        np.dot(g_hh.T, h_prev, part_W_hh[s])
        # Column sums as GEMVs with a ones vector.
        ones = np.ones(rows, x.dtype)
        np.dot(ones, g_ih, part_b_ih[s])
        np.dot(ones, g_hh, part_b_hh[s])
    _sum_parts(part_W_ih, dW_ih)
    _sum_parts(part_W_hh, dW_hh)
    _sum_parts(part_b_ih, db_ih)
    _sum_parts(part_b_hh, db_hh)


@njit(**_config.JIT)
def _zero_weight_gradients(dW_ih, dW_hh, db_ih, db_hh):
    dW_ih.fill(0)
    dW_hh.fill(0)
    db_ih.fill(0)
    db_hh.fill(0)


@njit(**_config.JIT)
def _rnn_step(a, xp, b_ih, b_hh, act, h_new):
    """Pointwise part of one step for a block of rows: ``h_new = act(a + xp + b)``."""
    rows, H = h_new.shape
    for b in range(rows):
        if act == 0:
            for j in range(H):
                h_new[b, j] = tanh(a[b, j] + xp[b, j] + b_ih[j] + b_hh[j])
        else:
            for j in range(H):
                h_new[b, j] = relu(a[b, j] + xp[b, j] + b_ih[j] + b_hh[j])


@njit(**_config.JIT)
def _rnn_step_backward(dh, dout, h, act, dg):
    """Pointwise part of one backward step: ``dg = (dh + dout) * act'``, from the output ``h``."""
    rows, H = dh.shape
    one, zero = dh.dtype.type(1.0), dh.dtype.type(0.0)
    for b in range(rows):
        if act == 0:
            for j in range(H):
                dg[b, j] = (dh[b, j] + dout[b, j]) * (one - h[b, j] * h[b, j])
        else:
            for j in range(H):
                dg[b, j] = dh[b, j] + dout[b, j] if h[b, j] > zero else zero


@njit(**_config.JIT_PARALLEL)
def rnn_forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT):
    """Inference pass of one RNN layer (no BPTT cache).

    Parameters
    ----------
    x : ndarray of shape (T, B, D)
    state0 : ndarray of shape (1, B, H)
    W_ih, W_hh, b_ih, b_hh : ndarray of shapes (H, D), (H, H), (H,), (H,)
    act : int
        0 for tanh, 1 for relu.
    out : ndarray of shape (T, B, H)
        Written: the hidden state after every step.
    stateT : ndarray of shape (1, B, H)
        Written: the final state.
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
        a = np.empty((b1 - b0, H), x.dtype)
        h_prev = state0[0, b0:b1]
        for t in range(T):
            np.dot(h_prev, W_hh.T, a)
            _rnn_step(a, xp[t, b0:b1], b_ih, b_hh, act, out[t, b0:b1])
            h_prev = out[t, b0:b1]
        _copy(stateT[0, b0:b1], h_prev)


@njit(**_config.JIT_PARALLEL)
def rnn_forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates):
    """Training pass of one RNN layer: all states, for :func:`rnn_backward`.

    Parameters
    ----------
    x, state0, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`rnn_forward`.
    states : ndarray of shape (T+1, 1, B, H)
        Written: ``states[0] = state0``, ``states[t+1]`` the state after step ``t``.
    gates : ndarray of shape (T, B, 0)
        The rnn cell caches nothing beyond ``states``; unused.
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
        a = np.empty((b1 - b0, H), x.dtype)
        for t in range(T):
            np.dot(states[t, 0, b0:b1], W_hh.T, a)
            _rnn_step(a, xp[t, b0:b1], b_ih, b_hh, act, states[t + 1, 0, b0:b1])


@njit(**_config.JIT_PARALLEL)
def rnn_backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh):
    """Backpropagation through time for one RNN layer.

    All gradient outputs are overwritten, not accumulated into.

    Parameters
    ----------
    x, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`rnn_forward`.
    states, gates : ndarray
        The cache written by :func:`rnn_forward_train`.
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
    dg = np.empty((T, B, H), x.dtype)  # gradient w.r.t. the pre-activation
    n_shards = _n_shards(B)
    for s in prange(n_shards):
        b0, b1 = _shard(B, n_shards, s)
        dh = dstateT[0, b0:b1].copy()
        for t in range(T - 1, -1, -1):
            dg_t = dg[t, b0:b1]
            _rnn_step_backward(dh, dout[t, b0:b1], states[t + 1, 0, b0:b1], act, dg_t)
            np.dot(dg_t, W_hh, dh)
        _copy(dstate0[0, b0:b1], dh)
    _weight_gradients(x, states, dg, dg, dW_ih, dW_hh, db_ih, db_hh)
    if dx.size > 0:
        _input_gradient(dg, W_ih, dx)
