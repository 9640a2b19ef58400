"""numba.cuda kernels of a training step, everything but the recurrent layers.

With these, a CUDA fit (:mod:`tsrnn.nn.device`) keeps the parameters, their
gradients, the optimizer state, the batch, the dropout masks and the loss
values on the GPU: one mini-batch is a fixed sequence of launches and nothing
waits for the host. In the order of a step:

- :func:`gather`: the batch's columns of the time-major inputs ``X (T, N, D)``
  and its target rows (viewed as ``(1, N, K)``), by sample index;
- :func:`dropout_mask`: the inverted-dropout mask of a layer's output, drawn
  on the device;
- :func:`layer_output`: a layer's outputs ``states[1:, 0]`` times its mask as
  the contiguous input of the next layer (the recurrent layers themselves are
  :mod:`.cuda`, the head a GEMM of :mod:`.cuda_ops`);
- :func:`loss_terms`: the loss's gradient with respect to the head outputs and
  per-element contributions whose sum is the loss value, normalised exactly as
  :mod:`tsrnn.nn.losses`;
- :func:`sum_into`: that sum into the epoch's losses array (read by the host
  once per epoch);
- :func:`multiply`: the dropout mask on a layer's input gradient in BPTT;
- :func:`grad_norm`: the global gradient norm, and a sticky divergence flag
  when the loss or a gradient is not finite;
- :func:`optimizer_step`: clipping, weight decay and one SGD, momentum or
  Adam(W) update of the flat parameter vector in place, skipped once the flag
  is set (so a diverged step keeps the weights, as on the CPU).

Bidirectional layers (each direction in its own time order, every array a
layer kernel sees C-contiguous): :func:`reverse_time` (the reverse direction's
input), :func:`join_directions` (a layer's output ``[forward | reverse reversed
back]``, with the dropout mask, and the final state a head reads),
:func:`split_directions` (the upstream gradient into each direction's half) and
:func:`add_reversed` (the reverse direction's input gradient, back in time
order). Token input: :func:`embed` (a batch's ids looked up in the embedding)
and :func:`embedding_grad` (its gradient, summed per token in a fixed order
from the positions that the host's :func:`token_positions` lists: no atomics).

Launches: the elementwise kernels use grid-stride loops over at most
``MAX_BLOCKS`` blocks of ``THREADS`` threads. The two reductions
(:func:`sum_into`, :func:`grad_norm`) run in one block: their sizes are a
batch's loss terms and the parameter count, small next to the recurrent
layers' work, and one block needs no second launch or atomics to combine
partial results.

Determinism: every element is written by one thread, and each reduction sums
strided per-thread partials followed by a fixed shared-memory tree, with no
atomics, so a result is bit-identical from call to call (for a given
``THREADS``, which fixes the summation order).

Random numbers are counter-based: element ``e`` of a dropout mask is a hash
(SplitMix64) of the seed and ``e``. Nothing is carried between launches (no
generator state arrays to allocate, seed or store), any element can be drawn
by any thread, so the mask depends neither on the launch configuration nor on
the device, and the same seed reproduces the same mask.

Kernels are built per (dtype, threads) by a factory on first use and compiled
on first launch, so importing this module compiles nothing. Constants are of
the array's dtype, so the float32 kernels contain no float64 instruction
(tests/kernels/test_cuda_compile.py). Launchers take numba device arrays, or
host arrays, which numba copies to the device and back around each launch
(tests).
"""

import math
import operator
from collections import namedtuple

import numba
import numpy as np
from numba import cuda, njit

from .. import _config
from . import cuda_ops

# Threads per block of every kernel here, and the most blocks of a grid-stride launch; tests lower
# both so that several blocks and strided loops run on the simulator.
THREADS = 256
MAX_BLOCKS = 1024

LOSS_KINDS = {"mse": 0, "mae": 1, "huber": 2, "quantile": 3, "cross_entropy": 4}
OPTIMIZER_KINDS = {"sgd": 0, "momentum": 1, "adam": 2}  # adamw = adam with decoupled decay

# tsrnn.nn.losses.HUBER_DELTA (a layer above: not imported; a test checks they agree)
HUBER_DELTA = 1.0

_MSE, _MAE, _HUBER = LOSS_KINDS["mse"], LOSS_KINDS["mae"], LOSS_KINDS["huber"]
_QUANTILE, _CROSS_ENTROPY = LOSS_KINDS["quantile"], LOSS_KINDS["cross_entropy"]
_SGD, _MOMENTUM, _ADAM = OPTIMIZER_KINDS["sgd"], OPTIMIZER_KINDS["momentum"], OPTIMIZER_KINDS["adam"]

# --- counter-based random bits -------------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment (2**64 / golden ratio, odd)
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
# typed constants: numba would type a uint64 mixed with an int64 literal as float64
_U_GAMMA, _U_MIX1, _U_MIX2 = np.uint64(_GAMMA), np.uint64(_MIX1), np.uint64(_MIX2)
_U1, _U27, _U30, _U31 = np.uint64(1), np.uint64(27), np.uint64(30), np.uint64(31)


def splitmix64(z):
    """SplitMix64's finaliser of the Python int ``z`` (taken modulo 2**64): the host-side reference.

    Parameters
    ----------
    z : int

    Returns
    -------
    int in [0, 2**64)
    """
    z &= _MASK64
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
    return z ^ (z >> 31)


@njit(**_config.JIT)
def random_bits(key, e, drop):
    """The top ``64 - drop`` bits of element ``e`` of the SplitMix64 stream of ``key``.

    ``splitmix64(key + (e + 1) * GAMMA) >> drop`` in wrapping uint64 arithmetic: a
    device function in the kernels (and plain compiled CPU code when the CUDA
    simulator calls it, which keeps its uint64 products from NumPy's overflow
    warnings).

    Parameters
    ----------
    key : uint64
    e : int64
        The element's flat index (>= 0).
    drop : uint64
        Low bits dropped: 40 leaves the 24 of a float32 mantissa, 11 the 53 of a float64.

    Returns
    -------
    uint64
    """
    z = key + (numba.uint64(e) + _U1) * _U_GAMMA
    z = (z ^ (z >> _U30)) * _U_MIX1
    z = (z ^ (z >> _U27)) * _U_MIX2
    return (z ^ (z >> _U31)) >> drop


def _random_layout(dtype):
    """``(drop, unit)``: mantissa-sized random integers ``bits >> drop`` times ``unit`` are uniform in [0, 1)."""
    mantissa = np.finfo(dtype).nmant + 1  # 24 (float32), 53 (float64): every such integer is exact
    return np.uint64(64 - mantissa), np.dtype(dtype).type(2.0**-mantissa)


# --- the kernels ---------------------------------------------------------------------------------

_Kernels = namedtuple(
    "_Kernels",
    ["gather", "layer_output", "dropout", "multiply", "regression_loss", "cross_entropy", "sum", "grad_norm",
     "optimizer", "reverse_time", "add_reversed", "join_directions", "split_directions", "embed", "zero",
     "embedding_grad"],
)  # fmt: skip

_FACTORIES = {}


def _kernels(dtype, threads):
    """The kernels for ``dtype`` with ``threads`` per block (built once, compiled on first launch)."""
    key = (np.dtype(dtype), int(threads))
    if key not in _FACTORIES:
        _FACTORIES[key] = _build(*key)
    return _FACTORIES[key]


def _build(np_dtype, TH):
    nb_dtype = numba.from_dtype(np_dtype)
    zero, half, one, two = (np_dtype.type(c) for c in (0.0, 0.5, 1.0, 2.0))
    nan = np_dtype.type(np.nan)
    largest = np_dtype.type(np.finfo(np_dtype).max)  # |x| <= largest: finite (NaN compares false)
    delta = np_dtype.type(HUBER_DELTA)
    half_delta = np_dtype.type(0.5 * HUBER_DELTA)
    tiny = np_dtype.type(1e-12)  # clip_grad_norm's guard, in the dtype

    @cuda.jit(device=True, **_config.CUDA_JIT)
    def sign(x):
        # np.sign: 0 at 0, NaN stays NaN (a NaN gradient must show, not become 0)
        if x > zero:
            return one
        if x < zero:
            return -one
        return x

    @cuda.jit(device=True, **_config.CUDA_JIT)
    def tree_sum(part, tid):
        """``part[0] = sum(part[:TH])`` in a fixed order (every thread of the block calls it)."""
        cuda.syncthreads()
        n = TH
        while n > 1:
            m = (n + 1) // 2
            if tid < n - m:
                part[tid] += part[tid + m]
            cuda.syncthreads()
            n = m

    @cuda.jit(device=True, **_config.CUDA_JIT)
    def tree_max(part, flags, tid):
        """``part[0] = max(part[:TH])`` and ``flags[0] = max(flags[:TH])`` (every thread calls it)."""
        cuda.syncthreads()
        n = TH
        while n > 1:
            m = (n + 1) // 2
            if tid < n - m:
                if part[tid + m] > part[tid]:
                    part[tid] = part[tid + m]
                if flags[tid + m] > flags[tid]:
                    flags[tid] = flags[tid + m]
            cuda.syncthreads()
            n = m

    @cuda.jit(**_config.CUDA_JIT)
    def gather_kernel(src, idx, out):
        A, n, K = out.shape
        N = src.shape[1]
        for e in range(cuda.grid(1), A * n * K, cuda.gridsize(1)):
            a, r = e // (n * K), e % (n * K)
            i, k = r // K, r % K
            row = idx[i]
            # an index out of range gives NaN (visible in the loss and the divergence flag), never a wrong row
            out[a, i, k] = src[a, row, k] if 0 <= row < N else nan

    @cuda.jit(**_config.CUDA_JIT)
    def layer_output_kernel(states, mask, out):
        T, B, H = out.shape
        masked = mask.size > 0
        for e in range(cuda.grid(1), T * B * H, cuda.gridsize(1)):
            t, r = e // (B * H), e % (B * H)
            b, j = r // H, r % H
            h = states[t + 1, 0, b, j]
            out[t, b, j] = h * mask[t, b, j] if masked else h

    @cuda.jit(**_config.CUDA_JIT)
    def dropout_kernel(key, p, keep, drop, unit, mask):
        for e in range(cuda.grid(1), mask.size, cuda.gridsize(1)):
            u = nb_dtype(random_bits(key, e, drop)) * unit
            mask[e] = keep if u >= p else zero

    @cuda.jit(**_config.CUDA_JIT)
    def multiply_kernel(a, mask):
        for e in range(cuda.grid(1), a.size, cuda.gridsize(1)):
            a[e] *= mask[e]

    @cuda.jit(**_config.CUDA_JIT)
    def regression_loss_kernel(kind, pred, target, quantiles, dpred, terms):
        # one thread per element of pred (Tp, B, P); target (B, Tp, n); P = n * Q (Q = 1 unless quantile)
        Tp, B, P = pred.shape
        Q = P // target.shape[2]
        size = Tp * B * P  # R * n * Q: every loss here is a mean over all of pred's elements
        inv = one / nb_dtype(size)
        two_inv = two / nb_dtype(size)
        for e in range(cuda.grid(1), size, cuda.gridsize(1)):
            t, r = e // (B * P), e % (B * P)
            b, c = r // P, r % P
            x, y = pred[t, b, c], target[b, t, c // Q]
            if kind == _QUANTILE:
                q = quantiles[c % Q]
                err = y - x
                lo, hi = q * err, (q - one) * err
                terms[t, b, c] = (lo if lo >= hi else hi) * inv
                dpred[t, b, c] = (-q if err > zero else one - q) * inv
                continue
            err = x - y
            if kind == _MSE:
                terms[t, b, c] = err * err * inv
                dpred[t, b, c] = two_inv * err
            elif kind == _MAE:
                terms[t, b, c] = abs(err) * inv
                dpred[t, b, c] = sign(err) * inv
            else:  # huber
                a = abs(err)
                if a <= delta:
                    terms[t, b, c] = half * err * err * inv
                    dpred[t, b, c] = err * inv
                else:
                    terms[t, b, c] = delta * (a - half_delta) * inv
                    dpred[t, b, c] = delta * sign(err) * inv

    @cuda.jit(**_config.CUDA_JIT)
    def cross_entropy_kernel(pred, target, dpred, terms):
        # one thread per row (t, b): log_softmax with the row's max subtracted, as losses.log_softmax
        Tp, B, P = pred.shape
        R = Tp * B
        inv = one / nb_dtype(R)
        for r in range(cuda.grid(1), R, cuda.gridsize(1)):
            t, b = r // B, r % B
            top = pred[t, b, 0]
            for k in range(1, P):
                if pred[t, b, k] > top:  # a NaN logit needs no care: it enters the sum below
                    top = pred[t, b, k]
            s = zero
            weight = zero
            for k in range(P):
                s += math.exp(pred[t, b, k] - top)
                weight += target[b, t, k]
            log_s = math.log(s)
            for k in range(P):
                logp = pred[t, b, k] - top - log_s
                y = target[b, t, k]
                terms[t, b, k] = -y * logp * inv
                dpred[t, b, k] = (math.exp(logp) * weight - y) * inv

    @cuda.jit(**_config.CUDA_JIT)
    def sum_kernel(a, out, i):
        tid = cuda.threadIdx.x
        part = cuda.shared.array(TH, nb_dtype)
        acc = zero
        for k in range(tid, a.size, TH):
            acc += a[k]
        part[tid] = acc
        tree_sum(part, tid)
        if tid == 0:
            out[i] = part[0]

    @cuda.jit(**_config.CUDA_JIT)
    def grad_norm_kernel(grad, losses, i, norm, status):
        tid = cuda.threadIdx.x
        part = cuda.shared.array(TH, nb_dtype)
        flags = cuda.shared.array(TH, numba.int32)
        # phase 1: the largest |g| (inf included) and whether any g is NaN
        big, has_nan = zero, 0
        for k in range(tid, grad.size, TH):
            a = abs(grad[k])
            if a > big:
                big = a
            elif not a <= big:
                has_nan = 1
        part[tid], flags[tid] = big, has_nan
        tree_max(part, flags, tid)
        big, has_nan = part[0], flags[0]
        cuda.syncthreads()  # every thread has read part[0] before part is reused
        # phase 2: sum of (g / big)^2, each square in [0, 1], so float32 neither overflows at 1e30 nor
        # underflows at 1e-30
        acc = zero
        if zero < big <= largest:
            for k in range(tid, grad.size, TH):
                s = grad[k] / big
                acc += s * s
        part[tid] = acc
        tree_sum(part, tid)
        if tid == 0:
            if has_nan:
                total = nan
            elif big <= largest:
                total = big * math.sqrt(part[0])
            else:
                total = big  # inf
            norm[0] = total
            if status[0] == 0 and not (abs(total) <= largest and abs(losses[i]) <= largest):
                status[0] = i + 1  # the first non-finite batch, 1-based; sticky: only the host resets it

    @cuda.jit(**_config.CUDA_JIT)
    def optimizer_kernel(kind, params, grad, m, v, norm, status, clip, lr, shrink, l2, mu, b1, b2, eps, step,
                         inv_b2):  # fmt: skip
        if status[0] != 0:  # a diverged step (or an earlier one) keeps the weights
            return
        scale = one
        if clip > zero and norm[0] > clip:
            scale = clip / (norm[0] + tiny)
        for k in range(cuda.grid(1), params.size, cuda.gridsize(1)):
            p = params[k]
            g = grad[k] * scale + l2 * p
            if kind == _SGD:
                params[k] = p - lr * g
            elif kind == _MOMENTUM:
                mk = mu * m[k] + g
                m[k] = mk
                params[k] = p - lr * mk
            else:  # adam, as optimizers._adam_step (eps outside the bias-corrected root)
                mk = b1 * m[k] + (one - b1) * g
                vk = b2 * v[k] + (one - b2) * g * g
                m[k], v[k] = mk, vk
                params[k] = p * shrink - step * mk / (math.sqrt(vk) * inv_b2 + eps)

    # --- bidirectional layers: each direction in its own time order ---

    @cuda.jit(**_config.CUDA_JIT)
    def reverse_time_kernel(src, out):
        T, B, K = out.shape
        for e in range(cuda.grid(1), T * B * K, cuda.gridsize(1)):
            t, r = e // (B * K), e % (B * K)
            b, k = r // K, r % K
            out[t, b, k] = src[T - 1 - t, b, k]

    @cuda.jit(**_config.CUDA_JIT)
    def add_reversed_kernel(a, b_rev):
        T, B, K = a.shape
        for e in range(cuda.grid(1), T * B * K, cuda.gridsize(1)):
            t, r = e // (B * K), e % (B * K)
            b, k = r // K, r % K
            a[t, b, k] += b_rev[T - 1 - t, b, k]

    @cuda.jit(**_config.CUDA_JIT)
    def join_directions_kernel(forward, reverse, t0, mask, out):
        # out (T, B, 2H): [forward[t0 + t, 0] | reverse[t0 + T - 1 - t, 0]] (times the mask)
        T, B, H2 = out.shape
        H = H2 // 2
        masked = mask.size > 0
        for e in range(cuda.grid(1), T * B * H2, cuda.gridsize(1)):
            t, r = e // (B * H2), e % (B * H2)
            b, j = r // H2, r % H2
            h = forward[t0 + t, 0, b, j] if j < H else reverse[t0 + T - 1 - t, 0, b, j - H]
            out[t, b, j] = h * mask[t, b, j] if masked else h

    @cuda.jit(**_config.CUDA_JIT)
    def split_directions_kernel(d, d_forward, d_reverse):
        T, B, H = d_forward.shape
        for e in range(cuda.grid(1), T * B * H, cuda.gridsize(1)):
            t, r = e // (B * H), e % (B * H)
            b, j = r // H, r % H
            d_forward[t, b, j] = d[t, b, j]
            d_reverse[t, b, j] = d[T - 1 - t, b, H + j]

    # --- token input ---

    @cuda.jit(**_config.CUDA_JIT)
    def embed_kernel(E, tokens, idx, out):
        # out[t, i] = E[tokens[t, idx[i]]]; an index or id out of range gives NaN, never a wrong row
        T, n, D = out.shape
        N, V = tokens.shape[1], E.shape[0]
        for e in range(cuda.grid(1), T * n * D, cuda.gridsize(1)):
            t, r = e // (n * D), e % (n * D)
            i, k = r // D, r % D
            col = idx[i]
            v = tokens[t, col] if 0 <= col < N else -1
            out[t, i, k] = E[v, k] if 0 <= v < V else nan

    @cuda.jit(**_config.CUDA_JIT)
    def zero_kernel(a):
        for e in range(cuda.grid(1), a.size, cuda.gridsize(1)):
            a[e] = zero

    @cuda.jit(**_config.CUDA_JIT)
    def embedding_grad_kernel(dx, dx_rev, tokens, starts, positions, grad):
        # one thread per (distinct token s, feature k): its positions p = t * B + b in ascending order
        # (np.add.at's order on the CPU), each the forward input gradient plus the reverse one at time T-1-t
        T, B, D = dx.shape
        U, V = tokens.shape[0], grad.shape[0]
        both = dx_rev.size > 0
        for e in range(cuda.grid(1), U * D, cuda.gridsize(1)):
            s, k = e // D, e % D
            acc = zero
            for q in range(starts[s], starts[s + 1]):
                p = positions[q]
                t, b = p // B, p % B
                g = dx[t, b, k]
                if both:
                    g += dx_rev[T - 1 - t, b, k]
                acc += g
            v = tokens[s]
            if 0 <= v < V:
                grad[v, k] = acc

    return _Kernels(
        gather_kernel, layer_output_kernel, dropout_kernel, multiply_kernel, regression_loss_kernel,
        cross_entropy_kernel, sum_kernel, grad_norm_kernel, optimizer_kernel, reverse_time_kernel,
        add_reversed_kernel, join_directions_kernel, split_directions_kernel, embed_kernel, zero_kernel,
        embedding_grad_kernel,
    )  # fmt: skip


# --- host side: checks and launches --------------------------------------------------------------


def _float_dtype(name, a):
    dtype = np.dtype(a.dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {dtype}")
    return dtype


def _same_dtype(dtype, **arrays):
    for name, a in arrays.items():
        if np.dtype(a.dtype) != dtype:
            raise TypeError(f"{name} has dtype {np.dtype(a.dtype)}, expected {dtype} (the dtype of the first array)")


def _shape(name, a, shape):
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(a.shape)}, expected {tuple(shape)}")


def _flat(name, a):
    """``a`` as a 1-D view (device or host); a copy would lose what the kernel writes, so no copies."""
    contiguous = a.is_c_contiguous() if hasattr(a, "is_c_contiguous") else a.flags["C_CONTIGUOUS"]
    if not contiguous:
        raise ValueError(f"{name} must be C-contiguous (it is read flat), got strides {a.strides}")
    return a.reshape(a.size)


def _status(status):
    if np.dtype(status.dtype) != np.int32 or tuple(status.shape) != (1,):
        raise ValueError(f"status must be an int32 array of shape (1,), got {np.dtype(status.dtype)} {status.shape}")


def _index(name, i, size):
    i = operator.index(i)
    if not 0 <= i < size:
        raise IndexError(f"{name} index {i} is out of range for {size} elements")
    return i


_unused = cuda_ops.empty  # a size-0 device array for an argument a kernel never reads


def _blocks(n):
    """Blocks of a grid-stride launch over ``n`` elements."""
    return max(1, min(MAX_BLOCKS, math.ceil(n / THREADS)))


def gather(src, idx, out):
    """``out[a, i, k] = src[a, idx[i], k]``: a batch's columns of the inputs, or its target rows.

    Parameters
    ----------
    src : array of shape (A, N, K)
        The time-major inputs ``X (T, N, D)``, or the targets viewed as ``(1, N, K)``; a strided device
        array (columns of ``X``) is read as it is (numba copies only contiguous host arrays).
    idx : int64 array of shape (n,)
        Sample indices in ``[0, N)``; an index out of range writes NaN into its column (the device
        cannot raise), which the loss and :func:`grad_norm`'s flag then show.
    out : array of shape (A, n, K)
        Written.
    """
    dtype = _float_dtype("src", src)
    _same_dtype(dtype, out=out)
    if np.dtype(idx.dtype) != np.int64 or len(idx.shape) != 1:
        raise TypeError(f"idx must be a 1-D int64 array, got {np.dtype(idx.dtype)} of shape {tuple(idx.shape)}")
    if len(src.shape) != 3:
        raise ValueError(f"src must be 3-D (A, N, K), got shape {tuple(src.shape)}")
    _shape("out", out, (src.shape[0], idx.shape[0], src.shape[2]))
    if out.size == 0:
        return
    _kernels(dtype, THREADS).gather[_blocks(out.size), THREADS](src, idx, out)


def layer_output(states, mask, out):
    """``out[t, b, j] = states[t + 1, 0, b, j] * mask[t, b, j]``: the next layer's contiguous input.

    Parameters
    ----------
    states : array of shape (T+1, S, B, H)
        A layer's states from ``forward_train`` (S = 2 for lstm, whose slot 0 is h).
    mask : array of shape (T, B, H), or of size 0
        The dropout mask; size 0 means no dropout (a factor of 1).
    out : array of shape (T, B, H)
        Written.
    """
    dtype = _float_dtype("states", states)
    _same_dtype(dtype, mask=mask, out=out)
    if len(states.shape) != 4:
        raise ValueError(f"states must be 4-D (T+1, S, B, H), got shape {tuple(states.shape)}")
    T1, _, B, H = states.shape
    _shape("out", out, (T1 - 1, B, H))
    if mask.size > 0:
        _shape("mask", mask, out.shape)
    elif len(mask.shape) != 3:
        mask = _unused(3, dtype)  # the kernel's one signature: a 3-D mask
    if out.size == 0:
        return
    _kernels(dtype, THREADS).layer_output[_blocks(out.size), THREADS](states, mask, out)


def dropout_mask(seed, p, mask):
    """``mask[...] = (u >= p) / (1 - p)``, ``u`` uniform in [0, 1) from a hash of (seed, element index).

    Element ``e`` (flat, C order) draws ``u`` from the top 24 (float32) or 53
    (float64) bits of ``splitmix64(splitmix64(seed) + (e + 1) * GAMMA)``:
    independent of the launch configuration, with no state, the same mask for
    the same seed and shape.

    Parameters
    ----------
    seed : int in [0, 2**63)
    p : float in [0, 1)
        The drop probability; 0 gives all ones.
    mask : array of any shape, C-contiguous
        Written, in its dtype: 0 or ``1 / (1 - p)`` (as the CPU path's ``keep / dtype(1 - p)``).
    """
    dtype = _float_dtype("mask", mask)
    seed = operator.index(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an int in [0, 2**63), got {seed}")
    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"the dropout probability p must be in [0, 1), got {p}")
    flat = _flat("mask", mask)
    if flat.size == 0:
        return
    key = np.uint64(splitmix64(seed + _GAMMA))  # SplitMix64's first output of the seed
    drop, unit = _random_layout(dtype)
    keep = dtype.type(1.0) / dtype.type(1.0 - p)
    kernel = _kernels(dtype, THREADS).dropout
    kernel[_blocks(flat.size), THREADS](key, dtype.type(p), keep, drop, unit, flat)


def multiply(a, mask):
    """``a *= mask`` in place, elementwise: the dropout mask on a layer's input gradient.

    Parameters
    ----------
    a : array, C-contiguous
        Updated in place.
    mask : array of the shape of ``a``, C-contiguous
    """
    dtype = _float_dtype("a", a)
    _same_dtype(dtype, mask=mask)
    _shape("mask", mask, a.shape)
    flat_a, flat_mask = _flat("a", a), _flat("mask", mask)
    if flat_a.size == 0:
        return
    _kernels(dtype, THREADS).multiply[_blocks(flat_a.size), THREADS](flat_a, flat_mask)


def loss_terms(kind, pred, target, quantiles, dpred, terms):
    """The loss's gradient and per-element contributions, normalised as :mod:`tsrnn.nn.losses`.

    With ``R = B * Tp`` rows: mse ``mean(err**2)``, mae ``mean(|err|)``, huber
    (delta :data:`HUBER_DELTA`) over the ``R * n`` elements; quantile (pinball,
    ``err = target - pred``) over the ``R * n * Q`` elements; cross-entropy
    ``-sum_k target_k * log_softmax(pred)_k`` summed per row, over the ``R``
    rows, with ``dpred = (softmax * sum_k target_k - target) / R`` (``target``
    holds class weights, e.g. a one-hot row times a class weight).

    Parameters
    ----------
    kind : int
        A value of :data:`LOSS_KINDS`.
    pred : array of shape (Tp, B, P)
        Head outputs, time-major (Tp = 1 for a head on the final state, T per step).
    target : array of shape (B, Tp, n)
        Sample-major targets. ``P = n * Q`` for 'quantile' (column ``o * Q + q``,
        quantile fastest), else ``P = n``.
    quantiles : array of shape (Q,)
        Read for 'quantile' only; any 1-element array of the dtype otherwise.
    dpred : array of shape (Tp, B, P)
        Written: d loss / d pred.
    terms : array of shape (Tp, B, P)
        Written: contributions whose sum is the loss value (see :func:`sum_into`).
    """
    kinds = set(LOSS_KINDS.values())
    if kind not in kinds:
        raise ValueError(f"kind must be one of LOSS_KINDS {LOSS_KINDS}, got {kind!r}")
    kind = int(kind)
    dtype = _float_dtype("pred", pred)
    _same_dtype(dtype, target=target, quantiles=quantiles, dpred=dpred, terms=terms)
    if len(pred.shape) != 3 or len(target.shape) != 3:
        raise ValueError(f"pred (Tp, B, P) and target (B, Tp, n) must be 3-D, got {pred.shape} and {target.shape}")
    if len(quantiles.shape) != 1 or quantiles.size == 0:
        raise ValueError(f"quantiles must be a non-empty 1-D array, got shape {tuple(quantiles.shape)}")
    Tp, B, P = pred.shape
    n = target.shape[2]
    Q = quantiles.shape[0] if kind == _QUANTILE else 1
    if tuple(target.shape[:2]) != (B, Tp) or P != n * Q:
        what = f"n * Q = {n} * {Q}" if kind == _QUANTILE else f"n = {n}"
        raise ValueError(
            f"target has shape {tuple(target.shape)} for pred of shape {tuple(pred.shape)}: expected "
            f"(B, Tp, n) = ({B}, {Tp}, n) with P = {what}"
        )
    _shape("dpred", dpred, pred.shape)
    _shape("terms", terms, pred.shape)
    if pred.size == 0:
        return
    kernels = _kernels(dtype, THREADS)
    if kind == _CROSS_ENTROPY:
        kernels.cross_entropy[_blocks(Tp * B), THREADS](pred, target, dpred, terms)
    else:
        kernels.regression_loss[_blocks(pred.size), THREADS](kind, pred, target, quantiles, dpred, terms)


def sum_into(a, out, i):
    """``out[i] = a.sum()`` in a fixed order (one block: strided per-thread partials, then a tree).

    Parameters
    ----------
    a : array of any shape, C-contiguous
        Read flat (e.g. :func:`loss_terms`'s ``terms``).
    out : 1-D array of the dtype of ``a``
        Element ``i`` is written (e.g. the epoch's per-batch losses, left on the device).
    i : int
    """
    dtype = _float_dtype("a", a)
    _same_dtype(dtype, out=out)
    if len(out.shape) != 1:
        raise ValueError(f"out must be 1-D, got shape {tuple(out.shape)}")
    i = _index("out", i, out.shape[0])
    _kernels(dtype, THREADS).sum[1, THREADS](_flat("a", a), out, i)


def grad_norm(grad, losses, i, norm, status):
    """``norm[0] = ||grad||_2``, and ``status[0] = i + 1`` when a gradient, the norm or ``losses[i]`` is not finite.

    One block in two phases: the largest ``|g|``, then the sum of ``(g / max)**2``,
    so float32 gradients of 1e30 give a finite, correct norm. ``status`` is
    sticky: set here at the first non-finite batch, never changed afterwards
    (the host tells from it how many steps of an epoch ran).

    Parameters
    ----------
    grad : 1-D array
    losses : 1-D array of the dtype of ``grad``
        ``losses[i]`` (this batch's loss, from :func:`sum_into`) is checked.
    i : int
    norm : array of shape (1,)
        Written (NaN if a gradient is NaN, inf if one is infinite).
    status : int32 array of shape (1,)
    """
    dtype = _float_dtype("grad", grad)
    _same_dtype(dtype, losses=losses, norm=norm)
    if len(grad.shape) != 1 or len(losses.shape) != 1:
        raise ValueError(f"grad and losses must be 1-D, got shapes {tuple(grad.shape)} and {tuple(losses.shape)}")
    _shape("norm", norm, (1,))
    _status(status)
    i = _index("losses", i, losses.shape[0])
    _kernels(dtype, THREADS).grad_norm[1, THREADS](grad, losses, i, norm, status)


def optimizer_step(kind, params, grad, m, v, norm, status, clip_norm, learning_rate, decoupled_decay, l2, momentum,
                   beta1, beta2, eps, bias1, bias2_sqrt):  # fmt: skip
    """One clipped update of the flat parameter vector in place; nothing when ``status[0] != 0``.

    Clipping as :func:`tsrnn.nn.optimizers.clip_grad_norm`: ``scale = clip_norm
    / (norm[0] + 1e-12)`` when ``clip_norm > 0`` and ``norm[0] > clip_norm``, else
    1; then ``g = grad * scale + l2 * p`` (``grad`` is not written) and

    - sgd: ``p -= lr * g``;
    - momentum: ``m = momentum * m + g; p -= lr * m``;
    - adam (adamw with ``decoupled_decay``), as ``tsrnn.nn.optimizers``' Adam:
      ``m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2;
      p = p (1 - lr decoupled_decay) - (lr / bias1) m / (sqrt(v) / bias2_sqrt + eps)``.

    Parameters
    ----------
    kind : int
        A value of :data:`OPTIMIZER_KINDS`.
    params, grad : 1-D arrays of one shape
        ``params`` is updated in place.
    m, v : 1-D arrays of the shape of ``params``
        The first and second moments (momentum: ``m`` is the velocity); updated in
        place where the kind uses them, never read otherwise (pass any arrays).
    norm : array of shape (1,)
        The norm of ``grad`` from :func:`grad_norm`.
    status : int32 array of shape (1,)
    clip_norm, learning_rate, decoupled_decay, l2, momentum, beta1, beta2, eps : float
        ``clip_norm`` of 0 disables clipping.
    bias1, bias2_sqrt : float
        ``1 - beta1**t`` and ``sqrt(1 - beta2**t)`` of step ``t`` (adam).
    """
    if kind not in set(OPTIMIZER_KINDS.values()):
        raise ValueError(f"kind must be one of OPTIMIZER_KINDS {OPTIMIZER_KINDS}, got {kind!r}")
    kind = int(kind)
    dtype = _float_dtype("params", params)
    _same_dtype(dtype, grad=grad, norm=norm)
    if len(params.shape) != 1:
        raise ValueError(f"params must be 1-D, got shape {tuple(params.shape)}")
    _shape("grad", grad, params.shape)
    _shape("norm", norm, (1,))
    _status(status)
    if kind == _SGD:
        m = v = _unused(1, dtype)
    else:
        _same_dtype(dtype, m=m)
        _shape("m", m, params.shape)
    if kind == _MOMENTUM:
        v = _unused(1, dtype)
    elif kind == _ADAM:
        _same_dtype(dtype, v=v)
        _shape("v", v, params.shape)
        if not bias1 > 0.0 or not bias2_sqrt > 0.0:
            raise ValueError(f"bias1 and bias2_sqrt must be > 0 (step t >= 1), got {bias1} and {bias2_sqrt}")
    if params.size == 0:
        return
    c = dtype.type
    # host scalars in the dtype, computed as optimizers._adam_step does (a Python float would make the
    # float32 kernel compute in float64)
    scalars = (
        c(clip_norm or 0.0), c(learning_rate), c(1.0 - learning_rate * decoupled_decay), c(l2), c(momentum),
        c(beta1), c(beta2), c(eps), c(learning_rate / bias1 if kind == _ADAM else 0.0),
        c(1.0 / bias2_sqrt if kind == _ADAM else 1.0),
    )  # fmt: skip
    kernel = _kernels(dtype, THREADS).optimizer
    kernel[_blocks(params.size), THREADS](kind, params, grad, m, v, norm, status, *scalars)


# --- bidirectional layers ------------------------------------------------------------------------


def _time_major(name, a):
    if len(a.shape) != 3:
        raise ValueError(f"{name} must be 3-D (T, B, K), got shape {tuple(a.shape)}")


def reverse_time(src, out):
    """``out[t] = src[T - 1 - t]``: a time-reversed contiguous copy (the reverse direction's input).

    Parameters
    ----------
    src : array of shape (T, B, K)
    out : array of shape (T, B, K)
        Written; must not alias ``src``.
    """
    dtype = _float_dtype("src", src)
    _same_dtype(dtype, out=out)
    _time_major("src", src)
    _shape("out", out, src.shape)
    if out.size == 0:
        return
    _kernels(dtype, THREADS).reverse_time[_blocks(out.size), THREADS](src, out)


def add_reversed(a, b):
    """``a[t] += b[T - 1 - t]`` in place: the reverse direction's input gradient, back in time order.

    Parameters
    ----------
    a : array of shape (T, B, K)
        Updated in place.
    b : array of shape (T, B, K)
        In the reverse direction's time order; must not alias ``a``.
    """
    dtype = _float_dtype("a", a)
    _same_dtype(dtype, b=b)
    _time_major("a", a)
    _shape("b", b, a.shape)
    if a.size == 0:
        return
    _kernels(dtype, THREADS).add_reversed[_blocks(a.size), THREADS](a, b)


def join_directions(forward, reverse, t0, mask, out):
    """The output of a bidirectional layer: ``[forward | reverse, back in time order]`` times a mask.

    ``out[t, b, :H] = forward[t0 + t, 0, b]`` and ``out[t, b, H:] = reverse[t0 + T - 1 - t, 0, b]``
    for the ``T`` steps of ``out`` (times ``mask[t, b]``). Its uses:

    - a layer's outputs from its training states ``(T+1, S, B, H)``: ``t0 = 1`` (with a dropout
      mask as the next layer's input, without one for a per-step head);
    - the final state a head reads (torch's ``h_n``), into ``out (1, B, 2H)``: ``t0 = T`` of the
      training states, or ``t0 = 0`` of the inference ``stateT (S, B, H)`` viewed as ``(1, S, B, H)``;
    - the inference outputs ``(T, B, H)`` of both directions viewed as ``(T, 1, B, H)``: ``t0 = 0``.

    Parameters
    ----------
    forward, reverse : arrays of shape (T', S, B, H)
        Slot 0 is read (h; lstm's c is slot 1), steps ``t0 .. t0 + T - 1``.
    t0 : int
    mask : array of shape (T, B, 2H), or of size 0
        The dropout mask; size 0 means a factor of 1.
    out : array of shape (T, B, 2H)
        Written.
    """
    dtype = _float_dtype("forward", forward)
    _same_dtype(dtype, reverse=reverse, mask=mask, out=out)
    if len(forward.shape) != 4:
        raise ValueError(f"forward must be 4-D (T', S, B, H), got shape {tuple(forward.shape)}")
    _shape("reverse", reverse, forward.shape)
    T1, _, B, H = forward.shape
    _time_major("out", out)
    T = out.shape[0]
    _shape("out", out, (T, B, 2 * H))
    t0 = operator.index(t0)
    if T > 0 and not (0 <= t0 and t0 + T <= T1):
        raise IndexError(f"steps {t0} .. {t0 + T - 1} are out of range for states of {T1} steps")
    if mask.size > 0:
        _shape("mask", mask, out.shape)
    elif len(mask.shape) != 3:
        mask = _unused(3, dtype)  # the kernel's one signature: a 3-D mask
    if out.size == 0:
        return
    _kernels(dtype, THREADS).join_directions[_blocks(out.size), THREADS](forward, reverse, t0, mask, out)


def split_directions(d, d_forward, d_reverse):
    """Each direction's half of a gradient with respect to a bidirectional output, in its own time order.

    ``d_forward[t] = d[t, :, :H]`` and ``d_reverse[t] = d[T - 1 - t, :, H:]``: the upstream gradient of a
    layer's outputs (``T`` steps) for each direction's ``backward``, or, with ``T = 1``, the head's
    gradient with respect to the final state ``(1, B, 2H)`` split into each direction's ``dstateT[:1]``.

    Parameters
    ----------
    d : array of shape (T, B, 2H)
    d_forward, d_reverse : arrays of shape (T, B, H)
        Written.
    """
    dtype = _float_dtype("d", d)
    _same_dtype(dtype, d_forward=d_forward, d_reverse=d_reverse)
    _time_major("d", d)
    T, B, H2 = d.shape
    if H2 % 2:
        raise ValueError(f"d must have an even number of features (2H), got shape {tuple(d.shape)}")
    _shape("d_forward", d_forward, (T, B, H2 // 2))
    _shape("d_reverse", d_reverse, (T, B, H2 // 2))
    if d_forward.size == 0:
        return
    kernel = _kernels(dtype, THREADS).split_directions
    kernel[_blocks(d_forward.size), THREADS](d, d_forward, d_reverse)


# --- token input ---------------------------------------------------------------------------------


def _int64(name, a, ndim):
    if np.dtype(a.dtype) != np.int64 or len(a.shape) != ndim:
        raise TypeError(f"{name} must be a {ndim}-D int64 array, got {np.dtype(a.dtype)} of shape {tuple(a.shape)}")


def embed(E, tokens, idx, out):
    """``out[t, i] = E[tokens[t, idx[i]]]``: a batch's columns of the token ids, looked up in the embedding.

    Parameters
    ----------
    E : array of shape (V, D)
        The embedding (``vocab_size`` rows).
    tokens : int64 array of shape (T, N)
        Time-major token ids of every sample; a device array is read as it is.
    idx : int64 array of shape (n,)
        Sample indices in ``[0, N)``. An index, or an id outside ``[0, V)``, writes NaN into its
        row (the device cannot raise; the ids are checked on the host once per fit).
    out : array of shape (T, n, D)
        Written.
    """
    dtype = _float_dtype("E", E)
    _same_dtype(dtype, out=out)
    if len(E.shape) != 2:
        raise ValueError(f"E must be 2-D (V, D), got shape {tuple(E.shape)}")
    _int64("tokens", tokens, 2)
    _int64("idx", idx, 1)
    _shape("out", out, (tokens.shape[0], idx.shape[0], E.shape[1]))
    if out.size == 0:
        return
    _kernels(dtype, THREADS).embed[_blocks(out.size), THREADS](E, tokens, idx, out)


def token_positions(tokens, vocab_size):
    """The host half of :func:`embedding_grad`: where each distinct token of a batch occurs.

    Parameters
    ----------
    tokens : int array of shape (T, B)
        A batch's ids, time-major, in ``[0, vocab_size)``.
    vocab_size : int

    Returns
    -------
    distinct : int64 ndarray of shape (U,)
        The batch's distinct ids, ascending.
    starts : int64 ndarray of shape (U + 1,)
        ``positions[starts[s]:starts[s + 1]]`` are the occurrences of ``distinct[s]``.
    positions : int64 ndarray of shape (T * B,)
        Flat positions ``t * B + b``, ascending within each token (the order in which
        ``np.add.at`` sums them on the CPU).

    Raises
    ------
    ValueError
        For ids outside ``[0, vocab_size)`` or an array that is not 2-D.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
        raise ValueError(f"tokens must be a 2-D integer array (T, B), got {tokens.dtype} of shape {tokens.shape}")
    flat = tokens.reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size}), got ids from {flat.min()} to {flat.max()}")
    positions = np.argsort(flat, kind="stable").astype(np.int64)  # stable: ascending within a token
    counts = np.bincount(flat, minlength=vocab_size)
    distinct = np.flatnonzero(counts).astype(np.int64)
    starts = np.zeros(distinct.size + 1, np.int64)
    np.cumsum(counts[distinct], out=starts[1:])
    return distinct, starts, positions


def embedding_grad(dx, dx_rev, distinct, starts, positions, grad):
    """The embedding's gradient, deterministically: ``grad = 0``, then ``grad[v] = sum of v's input gradients``.

    Row ``distinct[s]`` of ``grad`` is the sum, over the positions ``p = t * B + b`` of
    ``positions[starts[s]:starts[s + 1]]`` in that order, of ``dx[t, b]`` (plus ``dx_rev[T - 1 - t, b]``,
    the reverse direction's, when given); every other row is 0. One thread per (token, feature) sums
    in a fixed order, with no atomics: the same inputs give the same bits. Two launches (zeros, then
    the sums).

    Parameters
    ----------
    dx : array of shape (T, B, D)
        Layer 0's input gradient.
    dx_rev : array of shape (T, B, D), or of size 0
        The reverse direction's (in its own time order); size 0 for a unidirectional network.
    distinct, starts, positions : int64 arrays
        From :func:`token_positions` of the batch's ids (device copies are read as they are; host
        arrays are checked against ``grad``'s rows and ``dx``'s positions).
    grad : array of shape (V, D), C-contiguous
        Written.
    """
    dtype = _float_dtype("dx", dx)
    _same_dtype(dtype, dx_rev=dx_rev, grad=grad)
    _time_major("dx", dx)
    if dx_rev.size > 0:
        _shape("dx_rev", dx_rev, dx.shape)
    elif len(dx_rev.shape) != 3:
        dx_rev = _unused(3, dtype)
    if len(grad.shape) != 2 or grad.shape[1] != dx.shape[2]:
        raise ValueError(f"grad must have shape (V, D={dx.shape[2]}), got {tuple(grad.shape)}")
    for name, a in (("distinct", distinct), ("starts", starts), ("positions", positions)):
        _int64(name, a, 1)
    _shape("starts", starts, (distinct.shape[0] + 1,))
    if isinstance(distinct, np.ndarray) and distinct.size and not (0 <= distinct.min() and distinct.max() < len(grad)):
        raise ValueError(f"distinct holds ids outside [0, {len(grad)})")
    if (
        isinstance(positions, np.ndarray)
        and positions.size
        and not (0 <= positions.min() and positions.max() < dx.shape[0] * dx.shape[1])
    ):
        raise ValueError(f"positions must lie in [0, T * B) = [0, {dx.shape[0] * dx.shape[1]})")
    flat = _flat("grad", grad)
    if flat.size == 0:
        return
    kernels = _kernels(dtype, THREADS)
    kernels.zero[_blocks(flat.size), THREADS](flat)
    n = distinct.shape[0] * dx.shape[2]
    if n > 0:
        kernels.embedding_grad[_blocks(n), THREADS](dx, dx_rev, distinct, starts, positions, grad)
