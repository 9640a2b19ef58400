"""The CPU driver: one plan that runs every cell's steps over batch shards and time.

Every cell exposes the same three kernels with the same signature (built here
by :func:`cell_kernels`) and follows one plan (ARCHITECTURE.md, "Inside the kernels";
the measurements behind it are in benchmarks/RESULTS.md):

1. The batch is cut into one contiguous shard of rows per numba thread, and
   each shard runs the whole time loop on its own: one parallel region per
   kernel call, no per-step synchronisation. With one thread (or a batch of
   one) the shard runs in the calling thread and the thread pool is not woken.
2. Per step and shard, the cell's step (:mod:`.rnn`, :mod:`.lstm`, :mod:`.gru`)
   does everything on blocks that stay in the core's cache: the input and
   recurrent products (BLAS ``gemm``), the pointwise gate math, and in backward
   ``dh = dg @ W_hh`` and the weight gradients ``dW += dg.T @ [x_t | h_{t-1}]``,
   accumulated in the shard's own partials while ``dg`` is still in cache, so
   no (T, B, G*H) array is ever written.
3. The shards' partials are added in shard order: results are bit-identical
   from call to call at a fixed thread count, with no atomics.

How the cells plug in without costing compile time or the on-disk cache:
:func:`_drive` is inlined (``inline="always"``, at numba's IR level) into two
entries per cell, a ``parallel=True`` one (``_rnn``, ``_lstm``, ``_gru``) and a
serial one (``_rnn_serial``, ...), which pass the cell module to it. After
inlining, each step is a plain global call inside the entry, so the entry
caches like any function (a fresh process loads it and compiles nothing;
tested). The two time loops (forward, for training and inference alike, and
backward) take the step as an argument and are compiled
only as part of an entry (``_config.JIT_INNER``: not cached on their own, since
a signature holding a function never hits the cache). One entry per cell and
threading mode, not one per kernel: every compiled function re-optimises all
the code it calls and numba's parallel passes cost seconds per function; three
per cell took ~40 % longer to compile and load, and the serial entry spares a
one-thread call (a default fit) the parallel passes altogether.

All parallelism is numba's and every BLAS call runs single-threaded inside a
shard, so callers must limit BLAS to one thread while kernels run
(:func:`tsrnn._config.kernel_threads` does that, and picks the numba thread
count from the problem size).

Work arrays: every kernel takes a last argument ``work``, a 1-D array of the
dtype with at least :func:`tsrnn.kernels.work_size` elements, which it uses
for all its scratch memory; callers that run many steps allocate it once (see
:class:`tsrnn.nn.RecurrentNetwork`). A smaller ``work`` (e.g. of size 0) makes
the kernel allocate its own.
"""

import numba
import numpy as np
from numba import njit, prange

from .. import _config
from . import gru, lstm, rnn
from .cpu_ops import copy2d, get_work, n_shards, one_shard, shard_range, sum_parts


@njit(inline="always", **_config.JIT)
def work_layout(kind, B, D, H, GH, S, n_bias, n, widths):
    """Elements of each part of ``work``: ``(scratch, states, weights, parts)``.

    Forward: three scratch blocks (the cell's ``widths`` per row) and two
    alternating state buffers ``(2, S, B, H)``; training: the scratch blocks;
    both also the per-call weight layouts ``W_ihT``, ``W_cat = [W_hh | W_ih]``
    and ``bias``. Backward: the scratch blocks, the state gradients
    ``(S, B, H)`` and ``n`` shards' weight-gradient partials. Plain arithmetic
    (no calls), so :func:`tsrnn.kernels.work_size` runs it uncompiled.
    """
    scratch = B * (widths[0] + widths[1] + widths[2])
    if kind == 2:
        return scratch, S * B * H, 0, n * (GH * D + GH * H + n_bias * GH)
    states = 2 * S * B * H if kind == 0 else 0
    return scratch, states, D * GH + GH * (H + D) + GH, 0


# --- the two time loops (per shard) ------------------------------------------------------


@njit(**_config.JIT_INNER)
def _forward_shard(
    step, x, state0, W_ih, W_ihT, W_hh, W_cat, bias, b_ih, b_hh, act, out, stateT, states, gates, s1, s2, b0, b1
):
    """The time loop of both forward kernels, for rows ``b0:b1``.

    Training: ``states (T+1, S, B, H)`` and ``gates (T, B, C)`` keep every step for the
    backward pass. Inference: two state slots that alternate and one step of cache
    (``states (2, S, B, H)``, ``gates (1, B, C)``, both in ``work``; an in-place update would
    defeat vectorisation). The slot indices wrap modulo the slot counts, so one loop (one
    compiled body, one cell step) serves both. ``h`` goes to ``out`` unless it is empty,
    the final states to ``stateT`` unless it is empty.
    """
    T = x.shape[0]
    n_slots, S = states.shape[0], states.shape[1]
    n_cache = gates.shape[0]
    keep = out.size > 0
    s1, s2 = s1[b0:b1], s2[b0:b1]
    for k in range(S):
        copy2d(states[0, k, b0:b1], state0[k, b0:b1])
    h_prev = states[0, 0, b0:b1]
    for t in range(T):
        cur, nxt = states[t % n_slots], states[(t + 1) % n_slots]
        h_new = out[t, b0:b1] if keep else nxt[0, b0:b1]
        step(
            x[t, b0:b1],
            h_prev,
            cur[S - 1, b0:b1],
            h_new,
            nxt[S - 1, b0:b1],
            gates[t % n_cache, b0:b1],
            W_ih,
            W_ihT,
            W_hh,
            W_cat,
            bias,
            b_ih,
            b_hh,
            act,
            s1,
            s2,
        )
        h_prev = h_new
    if stateT.size > 0:
        copy2d(stateT[0, b0:b1], h_prev)
        for k in range(1, S):
            copy2d(stateT[k, b0:b1], states[T % n_slots, k, b0:b1])


@njit(**_config.JIT_INNER)
def _backward_shard(
    step, n_bias, x, W_ih, W_hh, act, states, gates, dout, dstateT, dx, dstate0, dst, s1, s2, part, b0, b1
):
    """BPTT for rows ``b0:b1`` into this shard's ``part = [dW_ih.T, dW_hh, db_ih(, db_hh)]``;
    ``dst (S, B, H)`` holds the gradients w.r.t. the current states."""
    T, D = x.shape[0], x.shape[2]
    S, H = dstateT.shape[0], dstateT.shape[2]
    GH = W_hh.shape[0]
    s1, s2 = s1[b0:b1], s2[b0:b1]
    part[:] = 0.0
    off = GH * D + GH * H
    db_ih = part[off : off + GH]
    db_hh = part[off + GH : off + 2 * GH] if n_bias == 2 else db_ih
    for k in range(S):
        copy2d(dst[k, b0:b1], dstateT[k, b0:b1])
    dh, dc = dst[0, b0:b1], dst[S - 1, b0:b1]
    for t in range(T - 1, -1, -1):
        step(
            t,
            b0,
            x[t, b0:b1],
            states[t, 0, b0:b1],
            states[t, S - 1, b0:b1],
            states[t + 1, 0, b0:b1],
            gates[t, b0:b1],
            dout,
            dx,
            dh,
            dc,
            W_ih,
            W_hh,
            act,
            s1,
            s2,
            part,
            db_ih,
            db_hh,
        )
    for k in range(S):
        copy2d(dstate0[k, b0:b1], dst[k, b0:b1])


# --- the driver ------------------------------------------------------------------------


@njit(inline="always", **_config.JIT)
def _shard(
    kind,
    cell,
    x,
    state0,
    W_ih,
    W_ihT,
    W_hh,
    W_cat,
    bias,
    b_ih,
    b_hh,
    act,
    out,
    stateT,
    states,
    gates,
    dout,
    dstateT,
    dx,
    dstate0,
    st,
    s1,
    s2,
    s3,
    parts,
    s,
    b0,
    b1,
):
    if kind != 2:
        _forward_shard(
            cell.train_step,
            x,
            state0,
            W_ih,
            W_ihT,
            W_hh,
            W_cat,
            bias,
            b_ih,
            b_hh,
            act,
            out,
            stateT,
            states,
            gates,
            s1,
            s2,
            b0,
            b1,
        )
    else:
        _backward_shard(
            cell.backward_step,
            cell.N_BIAS_PARTS,
            x,
            W_ih,
            W_hh,
            act,
            states,
            gates,
            dout,
            dstateT,
            dx,
            dstate0,
            st[0],
            s1,
            s2,
            parts[s],
            b0,
            b1,
        )


@njit(inline="always", **_config.JIT)
def _drive(
    cell,
    count_shards,
    kind,
    act,
    x,
    state0,
    W_ih,
    W_hh,
    b_ih,
    b_hh,
    out,
    stateT,
    states,
    gates,
    dout,
    dstateT,
    dx,
    dstate0,
    dW_ih,
    dW_hh,
    db_ih,
    db_hh,
    work,
):
    """The three kernels of ``cell`` (a cell module): ``kind`` 0 forward, 1 forward_train, 2 backward.

    Slots a kind does not use hold empty arrays (see :func:`cell_kernels`).
    """
    T, B, D = x.shape
    GH, H = W_hh.shape
    S = cell.N_STATES
    n = count_shards(B)
    w1, w2, w3 = cell.scratch_widths(kind, H, D)
    n_scratch, n_states, n_weights, n_parts = work_layout(kind, B, D, H, GH, S, cell.N_BIAS_PARTS, n, (w1, w2, w3))
    w = get_work(work, n_scratch + n_states + n_weights + n_parts)
    # the named slots, in this order: scratch blocks, states, weight layouts, partials
    s1 = w[: B * w1].reshape(B, w1)
    s2 = w[B * w1 : B * (w1 + w2)].reshape(B, w2)
    s3 = w[B * (w1 + w2) : n_scratch].reshape(B, w3)
    w = w[n_scratch:]
    # forward: two alternating state buffers; backward: one, the state gradients
    st = w[:n_states].reshape(2 if kind == 0 else 1, S if n_states > 0 else 0, B, H)
    w = w[n_states:]
    K, nw = H + D, 1 if n_weights > 0 else 0  # backward has no weight layouts: empty views
    W_ihT = w[: nw * D * GH].reshape(nw * D, GH)
    W_cat = w[nw * D * GH : nw * (D * GH + GH * K)].reshape(nw * GH, K)
    bias = w[nw * (D * GH + GH * K) : n_weights]
    parts = w[n_weights : n_weights + n_parts].reshape(n, n_parts // n)
    if kind == 0:  # inference: the alternating state slots and one step of cache, in work
        states, gates = st, s3.reshape(1, B, w3)
    if kind != 2:
        cell.prepare(W_ih, W_hh, b_ih, b_hh, W_ihT, W_cat, bias)
    if n == 1:  # in the calling thread: the pool is not woken
        _shard(
            kind,
            cell,
            x,
            state0,
            W_ih,
            W_ihT,
            W_hh,
            W_cat,
            bias,
            b_ih,
            b_hh,
            act,
            out,
            stateT,
            states,
            gates,
            dout,
            dstateT,
            dx,
            dstate0,
            st,
            s1,
            s2,
            s3,
            parts,
            0 * B,
            0 * B,
            B,
        )
    else:
        for s in prange(n):
            b0, b1 = shard_range(B, n, s)
            _shard(
                kind,
                cell,
                x,
                state0,
                W_ih,
                W_ihT,
                W_hh,
                W_cat,
                bias,
                b_ih,
                b_hh,
                act,
                out,
                stateT,
                states,
                gates,
                dout,
                dstateT,
                dx,
                dstate0,
                st,
                s1,
                s2,
                s3,
                parts,
                np.int64(s),
                b0,
                b1,
            )
    if kind == 2:
        sum_parts(parts, n, dW_ih, dW_hh, db_ih, db_hh)


# --- the compiled entries: per cell, a serial one and a parallel one ----------------------
# The serial entry is what a one-thread call runs (the thread policy keeps the estimators'
# default batch of 64 on one thread), so a default fit never pays numba's parallel passes,
# the larger part of a cold compile; the parallel entry compiles on the first call that
# uses more than one thread. Argument lists are written out once per entry (fmt: off keeps
# them compact): numba cannot pass *args on to an inlined function.
# fmt: off


@njit(**_config.JIT_PARALLEL)
def _rnn(kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0,
         dW_ih, dW_hh, db_ih, db_hh, work):
    _drive(rnn, n_shards, kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT,
           dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)


@njit(**_config.JIT)
def _rnn_serial(kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx,
                dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    _drive(rnn, one_shard, kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT,
           dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)


@njit(**_config.JIT_PARALLEL)
def _lstm(kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0,
          dW_ih, dW_hh, db_ih, db_hh, work):
    _drive(lstm, n_shards, kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT,
           dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)


@njit(**_config.JIT)
def _lstm_serial(kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx,
                 dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    _drive(lstm, one_shard, kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT,
           dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)


@njit(**_config.JIT_PARALLEL)
def _gru(kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx, dstate0,
         dW_ih, dW_hh, db_ih, db_hh, work):
    _drive(gru, n_shards, kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT,
           dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)


@njit(**_config.JIT)
def _gru_serial(kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT, dx,
                dstate0, dW_ih, dW_hh, db_ih, db_hh, work):
    _drive(gru, one_shard, kind, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, states, gates, dout, dstateT,
           dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)


# fmt: on

# cell -> (serial entry, parallel entry)
ENTRIES = {"rnn": (_rnn_serial, _rnn), "lstm": (_lstm_serial, _lstm), "gru": (_gru_serial, _gru)}
CELL_MODULES = {"rnn": rnn, "lstm": lstm, "gru": gru}


def work_size(cell, kind, B, D, H, n):
    """Elements of ``work`` the kernel ``kind`` (0, 1, 2) of ``cell`` needs with ``n`` shards (plain Python)."""
    module = CELL_MODULES[cell]
    spec = module.SPEC
    widths = module.scratch_widths.py_func(kind, H, D)
    G = spec.n_gates
    return sum(work_layout.py_func(kind, B, D, H, G * H, spec.n_states, module.N_BIAS_PARTS, n, widths))


# --- the public kernels ------------------------------------------------------------------

_EMPTIES = {}


def _empties(dtype):
    """Empty 1- to 4-D arrays of ``dtype`` for the slots a kernel kind does not use (shared, never written)."""
    dtype = np.dtype(dtype)
    if dtype not in _EMPTIES:
        _EMPTIES[dtype] = tuple(np.empty((0,) * ndim, dtype) for ndim in (1, 2, 3, 4))
    return _EMPTIES[dtype]


_FORWARD_DOC = """Inference pass of one {name} layer (no BPTT cache).

    Parameters
    ----------
    x : ndarray of shape (T, B, D)
    state0 : ndarray of shape ({S}, B, H)
        Initial {states}.
    W_ih, W_hh, b_ih, b_hh : ndarray of shapes ({G}H, D), ({G}H, H), ({G}H,), ({G}H,)
        Gate order {gates}.
    act : int
        {act}
    out : ndarray of shape (T, B, H), or of size 0
        Written: ``h`` after every step; skipped when ``out.size == 0``.
    stateT : ndarray of shape ({S}, B, H)
        Written: the final {states}.
    work : ndarray of shape (>= work_size('{cell}', 'forward', B, D, H),)
        Scratch memory (allocated here when smaller).
    """

_FORWARD_TRAIN_DOC = """Training pass of one {name} layer: states and cache for the backward pass.

    Parameters
    ----------
    x, state0, W_ih, W_hh, b_ih, b_hh, act
        As in the forward kernel.
    states : ndarray of shape (T+1, {S}, B, H)
        Written: ``states[0] = state0``, ``states[t+1]`` the {states} after step ``t``.
    gates : ndarray of shape (T, B, {cache_factor}H)
        Written: {cache}.
    work : ndarray of shape (>= work_size('{cell}', 'forward_train', B, D, H),)
        Scratch memory (allocated here when smaller).
    """

_BACKWARD_DOC = """Backpropagation through time for one {name} layer.

    All gradient outputs are overwritten, not accumulated into.

    Parameters
    ----------
    x, W_ih, W_hh, b_ih, b_hh, act
        As in the forward kernel.
    states, gates : ndarray
        The cache written by the forward_train kernel.
    dout : ndarray of shape (T, B, H), or of size 0
        Gradient with respect to the outputs ``states[1:, 0]``; size 0 means zero.
    dstateT : ndarray of shape ({S}, B, H)
        Gradient with respect to the final {states}.
    dx : ndarray of shape (T, B, D), or of size 0
        Written: gradient with respect to ``x``; skipped when ``dx.size == 0``.
    dstate0 : ndarray of shape ({S}, B, H)
        Written: gradient with respect to the initial {states}.
    dW_ih, dW_hh, db_ih, db_hh : ndarray
        Written: gradients with the shapes of the weights.
    work : ndarray of shape (>= work_size('{cell}', 'backward', B, D, H),)
        Scratch memory (allocated here when smaller).
    """

_CACHES = {
    "rnn": "unused: the rnn cell caches nothing beyond ``states`` (shape (T, B, 0))",
    "lstm": "``i, f, g, o`` activations and ``tanh(c')`` of every step",
    "gru": "``r, z, n`` activations and ``W_hn h + b_hn`` of every step",
}


def cell_kernels(cell):
    """The ``(forward, forward_train, backward)`` kernels of ``cell``: Python wrappers over its compiled entries.

    Each call runs the serial entry when numba's thread count is 1 (see
    :func:`tsrnn._config.kernel_threads`, which sets it per call), else the parallel one.
    """
    serial, parallel = ENTRIES[cell]
    spec = CELL_MODULES[cell].SPEC

    def entry():
        return parallel if numba.get_num_threads() > 1 else serial

    # An empty sequence or batch (T == 0 or B == 0) is handled here, in NumPy: the states
    # pass through and no gradient flows, and the compiled entries never see it.
    # fmt: off
    def forward(x, state0, W_ih, W_hh, b_ih, b_hh, act, out, stateT, work):
        if x.shape[0] == 0 or x.shape[1] == 0:
            stateT[...] = state0
            return
        e1, e2, e3, e4 = _empties(x.dtype)
        entry()(0, act, x, state0, W_ih, W_hh, b_ih, b_hh, out, stateT, e4, e3, e3, e3, e3, e3, e2, e2, e1, e1, work)

    def forward_train(x, state0, W_ih, W_hh, b_ih, b_hh, act, states, gates, work):
        if x.shape[0] == 0 or x.shape[1] == 0:
            states[0] = state0
            return
        e1, e2, e3, e4 = _empties(x.dtype)
        entry()(1, act, x, state0, W_ih, W_hh, b_ih, b_hh, e3, e3, states, gates, e3, e3, e3, e3, e2, e2, e1, e1, work)

    def backward(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh,
                 work):
        if x.shape[0] == 0 or x.shape[1] == 0:
            dstate0[...] = dstateT
            for grad in (dW_ih, dW_hh, db_ih, db_hh):
                grad.fill(0)
            return
        e1, e2, e3, e4 = _empties(x.dtype)
        entry()(2, act, x, e3, W_ih, W_hh, b_ih, b_hh, e3, e3, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh,
                db_ih, db_hh, work)

    # fmt: on
    fields = dict(
        cell=cell,
        name=cell.upper(),
        S=spec.n_states,
        G=spec.n_gates if spec.n_gates > 1 else "",
        states="``h`` and ``c``" if spec.n_states == 2 else "state ``h``",
        gates=", ".join(spec.gate_order),
        act="0 for tanh, 1 for relu." if cell == "rnn" else "Ignored (the rnn cell's activation code).",
        cache_factor=spec.cache_factor or "0",
        cache=_CACHES[cell],
    )
    for kernel, doc in ((forward, _FORWARD_DOC), (forward_train, _FORWARD_TRAIN_DOC), (backward, _BACKWARD_DOC)):
        kernel.__name__ = kernel.__qualname__ = f"{cell}_{kernel.__name__}"
        kernel.__doc__ = doc.format(**fields)
    return forward, forward_train, backward
