"""CPU kernels of the vanilla RNN cell, and the batch-sharding helpers all cells share.

``h' = act(W_ih x + b_ih + W_hh h + b_hh)`` with act 0 = tanh, 1 = relu.

Every cell module (rnn, lstm, gru) exposes the same three kernels with the
same signature, plus ``<cell>_work_size``, and follows one plan (DESIGN.md,
"CPU performance recipe"):

1. The batch is cut into one contiguous shard of rows per numba thread, and
   each shard runs the whole time loop on its own: one parallel region per
   kernel call, no per-step synchronisation. With one thread (or a batch of
   one) the shard runs in the calling thread and the thread pool is not woken.
   The three public kernels are thin Python wrappers over ONE compiled
   function per cell (``_<cell>(kind, ...)``, ``parallel=True``, cached):
   every compiled function re-optimises all the code it calls and numba's
   parallel passes cost seconds per function, so three compiled kernels per
   cell took ~40 % longer to compile (and to load from the cache).
2. Per step and shard, everything is BLAS ``gemm`` on blocks that stay in the
   core's cache (:func:`tsrnn.kernels.blas.gemm`, with ``beta=1`` to
   accumulate): the input projection ``x_t @ W_ih.T`` (a small loop instead
   when ``D <= SMALL_D``), the recurrent product ``h @ W_hh.T`` added onto it,
   straight into the BPTT cache; in backward ``dh = dg @ W_hh`` and the
   weight gradients ``dW += dg.T @ [x_t | h_{t-1}]``, accumulated per shard
   while ``dg`` is still in cache, so no (T, B, G*H) array is ever written.
3. The pointwise gate math uses the vectorisable activations of
   :mod:`.activations`.

All parallelism is numba's and every BLAS call runs single-threaded inside a
shard, so callers must limit BLAS to one thread while kernels run
(:func:`tsrnn._config.kernel_threads` does that, and picks the numba thread
count from the problem size).

Work arrays: every kernel takes a last argument ``work``, a 1-D array of the
dtype with at least ``<cell>_work_size(kind, B, D, H, n_shards)`` elements
(kind 0 = forward, 1 = forward_train, 2 = backward; ``n_shards`` = the numba
thread count bounds it), which it uses for all its scratch memory; callers
that run many steps allocate it once (see :class:`tsrnn.nn.RecurrentNetwork`).
A smaller ``work`` (e.g. of size 0) makes the kernel allocate its own.

Threads never write to the same memory and per-shard partial sums are added
in shard order, so results are bit-identical from call to call at a fixed
thread count, with no atomics.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from .. import _config
from .activations import relu, tanh
from .blas import gemm

# Input widths up to this use a hand loop for x_t @ W_ih.T (and dW_ih), where
# a BLAS call with such a small inner dimension is mostly overhead.
SMALL_D = 8
# From this input width the rnn and lstm forward passes fold the input
# projection into the recurrent GEMM (see _gates_preact); for D = 1 the hand
# loop is cheaper than a K = H + 1 GEMM.
FUSE_MIN_D = 2


@intrinsic
def _num_threads(typingctx):
    """``numba.get_num_threads()`` for kernels, in a form numba can cache.

    numba's own overload calls the threading layer through a ctypes pointer,
    which makes every caller uncachable ("dynamic globals"). This calls the
    same C symbol by name, as numba's compiled parallel loops do. Use it only
    in functions that call a ``parallel=True`` function: their cache entries
    inherit its reload hook, which launches the threading layer (defining the
    symbol) before linking.
    """
    numba.get_num_threads()  # launch the threading layer: defines the symbol

    def codegen(context, builder, signature, args):
        # Declared as numba's parallel loops declare it (they share the module);
        # the C function returns an int, hence the trunc + sext.
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(cgutils.intp_t, []), "get_num_threads")
        return builder.sext(builder.trunc(builder.call(fn, []), ir.IntType(32)), cgutils.intp_t)

    return types.intp(), codegen


if _config.PARALLEL:

    # Inlined into the public kernels, which call a parallel driver (see
    # _num_threads); a separately cached function would not launch the layer.
    @njit(inline="always", **_config.JIT)
    def _n_shards(B):
        """One batch shard per numba thread (fewer when the batch is smaller)."""
        return max(1, min(_num_threads(), B))

else:

    @njit(**_config.JIT)
    def _n_shards(B):
        """Serial kernels: one shard (the threading layer is never started)."""
        return 1


@njit(inline="always", **_config.JIT)
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
def _copy2d(dst, src):
    """``dst[...] = src`` for 2-D arrays of the same shape, any strides."""
    for i in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[i, j] = src[i, j]


@njit(inline="always", **_config.JIT)
def _parts_size(GH, D, H, n_bias):
    """Elements of one shard's weight-gradient partials: dW_ih, dW_hh and ``n_bias`` bias vectors."""
    return GH * D + GH * H + n_bias * GH


@njit(**_config.JIT)
def _get_work(work, size):
    """``work`` if it holds ``size`` elements, else a fresh array (callers without a workspace)."""
    if work.size >= size:
        return work
    return np.empty(size, work.dtype)


@njit(**_config.JIT)
def _transpose(W, out):
    """``out (D, GH) = W.T`` for a small ``W (GH, D)``: the hand projection reads rows of it."""
    GH, D = W.shape
    for k in range(GH):
        for d in range(D):
            out[d, k] = W[k, d]


@njit(**_config.JIT)
def _project(x, W_ihT, W_ih, pre, beta):
    """``pre = x @ W_ih.T (+ pre if beta)`` for the rows of one shard.

    ``x (rows, D)``; ``pre (rows, >= GH)`` may be a block of a wider row.
    A hand loop over ``W_ihT (D, GH)`` when ``D <= SMALL_D``, else BLAS.
    """
    rows, D = x.shape
    GH = W_ih.shape[0]
    if D > SMALL_D:
        gemm(0, 1, rows, GH, D, 1.0, x, D, W_ih, D, beta, pre, pre.shape[1])
        return
    for b in range(rows):
        if beta == 0.0:
            xb = x[b, 0]
            for k in range(GH):
                pre[b, k] = xb * W_ihT[0, k]
            d0 = 1
        else:
            d0 = 0
        for d in range(d0, D):
            xb = x[b, d]
            for k in range(GH):
                pre[b, k] += xb * W_ihT[d, k]


@njit(**_config.JIT)
def _prepare_weights(W_ih, W_hh, b_ih, b_hh, W_ihT, W_cat, bias):
    """Per-call weight layouts of the forward passes: ``W_ihT = W_ih.T`` (for the
    small-D hand projection), ``W_cat = [W_hh | W_ih]`` (for the fused product)
    and ``bias = b_ih + b_hh``."""
    GH, D = W_ih.shape
    H = W_hh.shape[1]
    for k in range(GH):
        for d in range(D):
            W_ihT[d, k] = W_ih[k, d]
        wc, wh, wi = W_cat[k], W_hh[k], W_ih[k]
        for j in range(H):
            wc[j] = wh[j]
        for d in range(D):
            wc[H + d] = wi[d]
        bias[k] = b_ih[k] + b_hh[k]


@njit(**_config.JIT)
def _gates_preact(x, h_prev, W_ihT, W_ih, W_cat, hx, pre):
    """``pre[:, :GH] = h_prev @ W_hh.T + x @ W_ih.T`` for one shard and step (no biases).

    With ``D >= FUSE_MIN_D``: one GEMM over ``hx = [h_prev | x]`` (rows, H+D,
    copied here) and ``W_cat = [W_hh | W_ih]``; one K = H+D product instead
    of two measured 7-10 % faster, and the hand projection loop is gone.
    Else the small hand projection and a GEMM with ``W_hh = W_cat[:, :H]``.
    """
    rows, D = x.shape
    GH, K = W_cat.shape
    H = K - D
    if D >= FUSE_MIN_D:
        for b in range(rows):
            hb, hp, xb = hx[b], h_prev[b], x[b]
            for j in range(H):
                hb[j] = hp[j]
            for d in range(D):
                hb[H + d] = xb[d]
        gemm(0, 1, rows, GH, K, 1.0, hx, K, W_cat, K, 0.0, pre, pre.shape[1])
    else:
        _project(x, W_ihT, W_ih, pre, 0.0)
        gemm(0, 1, rows, GH, H, 1.0, h_prev, H, W_cat, K, 1.0, pre, pre.shape[1])


@njit(**_config.JIT)
def _weight_grads_step(dg_ih, dg_hh, x, h_prev, part, GH, D, H):
    """Accumulate one step of one shard into its partials ``part = [dW_ih.T, dW_hh, ...]``.

    ``dW_ih.T += x_t.T @ dg_ih`` (kept transposed, so that the hand loop for
    small ``D`` runs along contiguous rows) and ``dW_hh += dg_hh.T @ h_{t-1}``.
    Bias sums are added by the pointwise backward step.
    """
    rows = x.shape[0]
    dW_ihT = part[: D * GH].reshape(D, GH)
    dW_hh = part[D * GH : D * GH + GH * H]
    if D > SMALL_D:
        gemm(1, 0, D, GH, rows, 1.0, x, D, dg_ih, dg_ih.shape[1], 1.0, dW_ihT, GH)
    else:
        for b in range(rows):
            g = dg_ih[b]
            for d in range(D):
                xb = x[b, d]
                acc = dW_ihT[d]
                for k in range(GH):
                    acc[k] += xb * g[k]
    gemm(1, 0, GH, H, rows, 1.0, dg_hh, dg_hh.shape[1], h_prev, H, 1.0, dW_hh, H)


@njit(**_config.JIT)
def _sum_parts(parts, n_shards, dW_ih, dW_hh, db_ih, db_hh):
    """Add the shards' partials in shard order into the gradient outputs.

    ``parts[s] = [dW_ih.T, dW_hh, db_ih(, db_hh)]``; with a single bias vector
    (rnn, lstm: the two bias gradients are equal) it goes to both outputs.
    """
    GH, D = dW_ih.shape
    H = dW_hh.shape[1]
    P = parts.shape[1]
    totals = np.empty(P, parts.dtype)
    for i in range(P):
        totals[i] = parts[0, i]
    for s in range(1, n_shards):
        for i in range(P):
            totals[i] += parts[s, i]
    for k in range(GH):
        for d in range(D):
            dW_ih[k, d] = totals[d * GH + k]
    off = D * GH
    dW = dW_hh.reshape(dW_hh.size)
    for i in range(GH * H):
        dW[i] = totals[off + i]
    off += GH * H
    off_hh = off + GH if P >= off + 2 * GH else off
    for k in range(GH):
        db_ih[k] = totals[off + k]
        db_hh[k] = totals[off_hh + k]


_EMPTIES = {}


def _empties(dtype):
    """Empty 1- to 4-D arrays of ``dtype`` for the slots a kernel kind does not use.

    Plain Python, used by the public wrappers; shared and never written.
    """
    dtype = np.dtype(dtype)
    if dtype not in _EMPTIES:
        _EMPTIES[dtype] = tuple(np.empty((0,) * ndim, dtype) for ndim in (1, 2, 3, 4))
    return _EMPTIES[dtype]


@njit(**_config.JIT)
def _empty_sequence(kind, state0, stateT, dstateT, dstate0, dW_ih, dW_hh, db_ih, db_hh):
    """The outputs of a kernel ``kind`` for T == 0 or B == 0: states pass through, no gradient."""
    if kind == 0:
        _copy(stateT, state0)
    elif kind == 2:
        _copy(dstate0, dstateT)
        _zero_weight_gradients(dW_ih, dW_hh, db_ih, db_hh)


@njit(**_config.JIT)
def _zero_weight_gradients(dW_ih, dW_hh, db_ih, db_hh):
    dW_ih.fill(0)
    dW_hh.fill(0)
    db_ih.fill(0)
    db_hh.fill(0)


# --- the rnn cell --------------------------------------------------------------------


@njit(inline="always", **_config.JIT)
def rnn_work_size(kind, B, D, H, n_shards):
    """Elements of ``work`` the rnn kernels use (kind 0 forward, 1 forward_train, 2 backward).

    Plain arithmetic (no calls), so :func:`tsrnn.kernels.work_size` can run it uncompiled.
    """
    GH = H
    K = H + D
    if kind == 0:
        return 2 * B * H + B * K + GH * K + D * GH + GH
    if kind == 1:
        return B * K + GH * K + D * GH + GH
    return 2 * B * H + n_shards * (GH * D + GH * H + GH)


@njit(**_config.JIT)
def _rnn_act(pre, bias, act, h):
    """``h = act(pre + bias)`` for one shard's rows; ``h`` must not overlap ``pre``."""
    rows, H = h.shape
    for b in range(rows):
        p, hb = pre[b], h[b]
        if act == 0:
            for j in range(H):
                hb[j] = tanh(p[j] + bias[j])
        else:
            for j in range(H):
                hb[j] = relu(p[j] + bias[j])


@njit(**_config.JIT)
def _rnn_act_inplace(h, bias, act):
    """``h = act(h + bias)`` in place.

    A separate function, not ``_rnn_act(h, ..., h)``: two views of the same
    memory fail LLVM's runtime overlap check and the loop runs unvectorised
    (measured 2x slower training pass).
    """
    rows, H = h.shape
    for b in range(rows):
        hb = h[b]
        if act == 0:
            for j in range(H):
                hb[j] = tanh(hb[j] + bias[j])
        else:
            for j in range(H):
                hb[j] = relu(hb[j] + bias[j])


@njit(**_config.JIT)
def _rnn_forward_shard(x, state0, W_ih, W_ihT, W_cat, bias, act, out, stateT, pre, h, hx, b0, b1):
    """Inference time loop for rows ``b0:b1`` (scratch ``pre``, ``h``: (B, H), ``hx (B, H+D)``)."""
    T = x.shape[0]
    keep = out.size > 0
    pre, h, hx = pre[b0:b1], h[b0:b1], hx[b0:b1]
    h_prev = state0[0, b0:b1]
    for t in range(T):
        _gates_preact(x[t, b0:b1], h_prev, W_ihT, W_ih, W_cat, hx, pre)
        h_new = out[t, b0:b1] if keep else h
        _rnn_act(pre, bias, act, h_new)
        h_prev = h_new
    _copy2d(stateT[0, b0:b1], h_prev)


@njit(**_config.JIT)
def _rnn_train_shard(x, W_ih, W_ihT, W_cat, bias, act, states, hx, b0, b1):
    T = x.shape[0]
    hx = hx[b0:b1]
    for t in range(T):
        pre = states[t + 1, 0, b0:b1]
        _gates_preact(x[t, b0:b1], states[t, 0, b0:b1], W_ihT, W_ih, W_cat, hx, pre)
        _rnn_act_inplace(pre, bias, act)


@njit(**_config.JIT)
def _rnn_backward_shard(x, W_ih, W_hh, act, states, dout, dstateT, dx, dstate0, dg, dh, parts, s, b0, b1):
    """BPTT for rows ``b0:b1`` into ``parts[s]`` (scratch ``dg``, ``dh``: (B, H))."""
    T, D = x.shape[0], x.shape[2]
    H = W_hh.shape[1]
    rows = b1 - b0
    one, zero = dg.dtype.type(1.0), dg.dtype.type(0.0)
    has_dout = dout.size > 0
    dg, dh, part = dg[b0:b1], dh[b0:b1], parts[s]
    part[:] = 0.0
    db = part[H * D + H * H : H * D + H * H + H]
    _copy2d(dh, dstateT[0, b0:b1])
    for t in range(T - 1, -1, -1):
        h = states[t + 1, 0, b0:b1]
        for b in range(rows):
            dh_b, dg_b, h_b = dh[b], dg[b], h[b]
            if has_dout:
                dout_b = dout[t, b0 + b]
                for j in range(H):
                    dh_b[j] += dout_b[j]
            if act == 0:
                for j in range(H):
                    dg_b[j] = dh_b[j] * (one - h_b[j] * h_b[j])
            else:
                for j in range(H):
                    dg_b[j] = dh_b[j] if h_b[j] > zero else zero
            for j in range(H):
                db[j] += dg_b[j]
        gemm(0, 0, rows, H, H, 1.0, dg, H, W_hh, H, 0.0, dh, H)
        _weight_grads_step(dg, dg, x[t, b0:b1], states[t, 0, b0:b1], part, H, D, H)
        if dx.size > 0:
            gemm(0, 0, rows, D, H, 1.0, dg, H, W_ih, D, 0.0, dx[t, b0:b1], D)
    _copy2d(dstate0[0, b0:b1], dh)


@njit(inline="always", **_config.JIT)
def _rnn_shard(kind, act, x, state0, W_ih, W_ihT, W_hh, W_cat, bias, out, stateT, states, dout, dstateT, dx, dstate0,
               s1, s2, s3, parts, s, b0, b1):
    if kind == 0:
        _rnn_forward_shard(x, state0, W_ih, W_ihT, W_cat, bias, act, out, stateT, s1, s2, s3, b0, b1)
    elif kind == 1:
        _rnn_train_shard(x, W_ih, W_ihT, W_cat, bias, act, states, s3, b0, b1)
    else:
        _rnn_backward_shard(x, W_ih, W_hh, act, states, dout, dstateT, dx, dstate0, s1, s2, parts, s, b0, b1)


@njit(**_config.JIT_PARALLEL)
def _rnn(kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    """The three rnn kernels in one compiled function: ``kind`` 0 forward, 1 forward_train, 2 backward.

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
    w = _get_work(work, rnn_work_size(kind, B, D, H, n))
    e1 = w[:0]
    e2 = e1.reshape(0, 0)
    s1, s2, s3, W_ihT, W_cat, bias, parts = e2, e2, e2, e2, e2, e1, e2
    K = H + D
    if kind == 0:
        s1 = w[: B * H].reshape(B, H)  # pre
        s2 = w[B * H : 2 * B * H].reshape(B, H)  # h
        w = w[2 * B * H :]
    if kind != 2:
        s3 = w[: B * K].reshape(B, K)  # hx
        W_cat = w[B * K : B * K + H * K].reshape(H, K)
        W_ihT = w[B * K + H * K : B * K + H * K + D * H].reshape(D, H)
        bias = w[B * K + H * K + D * H : B * K + H * K + D * H + H]
        _prepare_weights(W_ih, W_hh, b_ih, b_hh, W_ihT, W_cat, bias)
    else:
        s1 = w[: B * H].reshape(B, H)  # dg
        s2 = w[B * H : 2 * B * H].reshape(B, H)  # dh
        P = _parts_size(H, D, H, 1)
        parts = w[2 * B * H : 2 * B * H + n * P].reshape(n, P)
    if n == 1:  # in the calling thread: the pool is not woken
        _rnn_shard(kind, act, x, state0, W_ih, W_ihT, W_hh, W_cat, bias, out, stateT, states, dout, dstateT, dx, dstate0,
                   s1, s2, s3, parts, 0 * B, 0 * B, B)
    else:
        for s in prange(n):
            b0, b1 = _shard(B, n, s)
            _rnn_shard(kind, act, x, state0, W_ih, W_ihT, W_hh, W_cat, bias, out, stateT, states, dout, dstateT, dx,
                       dstate0, s1, s2, s3, parts, np.int64(s), b0, b1)
    if kind == 2:
        _sum_parts(parts, n, dW_ih, dW_hh, db_ih, db_hh)


def rnn_forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT, work):
    """Inference pass of one RNN layer (no BPTT cache).

    Parameters
    ----------
    x : ndarray of shape (T, B, D)
    state0 : ndarray of shape (1, B, H)
    W_ih, W_hh, b_ih, b_hh : ndarray of shapes (H, D), (H, H), (H,), (H,)
    act : int
        0 for tanh, 1 for relu.
    out : ndarray of shape (T, B, H), or of size 0
        Written: the hidden state after every step; skipped when ``out.size == 0``.
    stateT : ndarray of shape (1, B, H)
        Written: the final state.
    work : ndarray of shape (>= rnn_work_size(0, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _rnn(0, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, e4, e3, e3, e3, e3, e2, e2, e1, e1, work)


def rnn_forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates, work):
    """Training pass of one RNN layer: all states, for :func:`rnn_backward`.

    Parameters
    ----------
    x, state0, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`rnn_forward`.
    states : ndarray of shape (T+1, 1, B, H)
        Written: ``states[0] = state0``, ``states[t+1]`` the state after step ``t``.
    gates : ndarray of shape (T, B, 0)
        The rnn cell caches nothing beyond ``states``; unused.
    work : ndarray of shape (>= rnn_work_size(1, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _rnn(1, act, x, state0, W_ih, W_hh, b_ih, b_hh, e3, e3, states, e3, e3, e3, e3, e2, e2, e1, e1, work)


def rnn_backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    """Backpropagation through time for one RNN layer.

    All gradient outputs are overwritten, not accumulated into.

    Parameters
    ----------
    x, W_ih, W_hh, b_ih, b_hh, act
        As in :func:`rnn_forward`.
    states, gates : ndarray
        The cache written by :func:`rnn_forward_train`.
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
    work : ndarray of shape (>= rnn_work_size(2, B, D, H, n_shards),)
        Scratch memory (allocated here when smaller).
    """
    e1, e2, e3, e4 = _empties(x.dtype)
    _rnn(2, act, x, e3, W_ih, W_hh, b_ih, b_hh, e3, e3, states, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)
