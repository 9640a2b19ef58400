"""Building blocks of the CPU kernels that every cell shares.

Batch shards and the thread count, copies that compile cheaply, the weight
layouts of the forward passes, the per-step input and recurrent products
(BLAS ``gemm`` on blocks that stay in cache, a hand loop for narrow inputs),
the per-shard weight-gradient partials and their fixed-order sum. The cells
(:mod:`.rnn`, :mod:`.lstm`, :mod:`.gru`) build their steps from these, and the
driver (:mod:`.cpu`) runs them; nothing here knows a cell.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

from .. import _config
from .blas import gemm

# Input widths up to this use a hand loop for x_t @ W_ih.T (and dW_ih), where
# a BLAS call with such a small inner dimension is mostly overhead.
SMALL_D = 8
# From this input width the rnn and lstm forward passes fold the input
# projection into the recurrent GEMM (see gates_preact); for D = 1 the hand
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
    def n_shards(B):
        """One batch shard per numba thread (fewer when the batch is smaller)."""
        return max(1, min(_num_threads(), B))

else:

    @njit(**_config.JIT)
    def n_shards(B):
        """Serial kernels: one shard (the threading layer is never started)."""
        return 1


@njit(inline="always", **_config.JIT)
def one_shard(B):
    """The shard count of the serial entries: the whole batch in the calling thread."""
    return 1


@njit(inline="always", **_config.JIT)
def shard_range(B, n, s):
    """Row range ``[b0, b1)`` of shard ``s`` of ``n``: contiguous, sizes differ by at most 1."""
    return s * B // n, (s + 1) * B // n


@njit(**_config.JIT)
def copy2d(dst, src):
    """``dst[...] = src`` for 2-D arrays of the same shape, any strides."""
    for i in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[i, j] = src[i, j]


@njit(inline="always", **_config.JIT)
def parts_size(GH, D, H, n_bias):
    """Elements of one shard's weight-gradient partials: dW_ih, dW_hh and ``n_bias`` bias vectors."""
    return GH * D + GH * H + n_bias * GH


@njit(**_config.JIT)
def get_work(work, size):
    """``work`` if it holds ``size`` elements, else a fresh array (callers without a workspace)."""
    if work.size >= size:
        return work
    return np.empty(size, work.dtype)


@njit(**_config.JIT)
def transpose(W, out):
    """``out (D, GH) = W.T`` for a small ``W (GH, D)``: the hand projection reads rows of it."""
    GH, D = W.shape
    for k in range(GH):
        for d in range(D):
            out[d, k] = W[k, d]


@njit(**_config.JIT)
def project(x, W_ihT, W_ih, pre, beta):
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
def prepare_weights(W_ih, W_hh, b_ih, b_hh, W_ihT, W_cat, bias):
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
def gates_preact(x, h_prev, W_ihT, W_ih, W_cat, hx, pre):
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
        project(x, W_ihT, W_ih, pre, 0.0)
        gemm(0, 1, rows, GH, H, 1.0, h_prev, H, W_cat, K, 1.0, pre, pre.shape[1])


@njit(**_config.JIT)
def weight_grads_step(dg_ih, dg_hh, x, h_prev, part, GH, D, H):
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
def sum_parts(parts, n, dW_ih, dW_hh, db_ih, db_hh):
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
    for s in range(1, n):
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
