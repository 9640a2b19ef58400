"""The vanilla RNN cell: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act 0 = tanh, 1 = relu, 2 = selu.

A cell module holds the cell's math and its CPU steps; the driver
(:mod:`.cpu`) runs them over batch shards and time. The interface every cell
provides (see ARCHITECTURE.md, "Adding a cell"):

- ``SPEC``: the cell's record in :data:`tsrnn.kernels.CELLS`; ``N_BIAS_PARTS``:
  bias-gradient vectors in a shard's partials (1 when ``db_ih == db_hh``);
- ``scratch_widths(kind, H, D)``: per-row widths of the step's three scratch
  blocks for each kernel kind (0 forward, 1 forward_train, 2 backward);
- ``prepare(W_ih, W_hh, b_ih, b_hh, W_ihT, W_cat, bias)``: per-call weight layouts;
- ``train_step`` and ``backward_step``: one time step for one shard's rows
  (signatures in :mod:`.cpu`); both forward kernels run ``train_step``, inference
  with a one-step cache in ``work``;
- scalar per-element math (here :func:`rnn_act` and :func:`rnn_grad`), written
  once for the CPU row loops and for device code.

The rnn cell caches nothing beyond the states: its backward pass reads ``h'``.
"""

from numba import njit

from .. import _config
from . import CELLS
from .activations import relu, selu, selu_slope, tanh
from .blas import gemm
from .cpu_ops import gates_preact, prepare_weights, weight_grads_step

SPEC = CELLS["rnn"]
N_STATES = SPEC.n_states
N_BIAS_PARTS = 1


@njit(inline="always", **_config.JIT)
def scratch_widths(kind, H, D):
    """Per-row widths of the scratch blocks: forward and training ``hx``; backward ``dg``."""
    if kind != 2:
        return H + D, 0, 0
    return H, 0, 0


prepare = prepare_weights


@njit(**_config.JIT)
def rnn_act(a, act):
    """The activation ``act`` (0 tanh, 1 relu, 2 selu) of one pre-activation ``a``."""
    if act == 0:
        return tanh(a)
    if act == 1:
        return relu(a)
    return selu(a)


@njit(**_config.JIT)
def rnn_grad(dh, h, act, one, zero):
    """Gradient w.r.t. one pre-activation from ``dh`` and the output ``h`` (``one``, ``zero``
    of the dtype, so that float32 stays float32)."""
    if act == 0:
        return dh * (one - h * h)
    if act == 1:
        return dh if h > zero else zero
    return dh * selu_slope(h)


@njit(inline="always", **_config.JIT)
def _act_rows_inplace(h, bias, act):
    """``h = act(h + bias)`` in place.

    In place, not from a separate ``pre`` block into ``h``: two views of the same memory
    fail LLVM's runtime overlap check and the loop runs unvectorised (measured 2x slower).
    """
    rows, H = h.shape
    for b in range(rows):
        hb = h[b]
        if act == 0:
            for j in range(H):
                hb[j] = rnn_act(hb[j] + bias[j], 0)
        elif act == 1:
            for j in range(H):
                hb[j] = rnn_act(hb[j] + bias[j], 1)
        else:
            for j in range(H):
                hb[j] = rnn_act(hb[j] + bias[j], 2)


@njit(**_config.JIT_INNER)
def train_step(x, h_prev, c_prev, h_new, c_new, cache, W_ih, W_ihT, W_hh, W_cat, bias, b_ih, b_hh, act, hx, s2):
    # the pre-activations go straight into the new state, then through act in place
    gates_preact(x, h_prev, W_ihT, W_ih, W_cat, hx, h_new)
    _act_rows_inplace(h_new, bias, act)


@njit(**_config.JIT_INNER)
def backward_step(t, b0, x, h_prev, c_prev, h, cache, dout, dx, dh, dc, W_ih, W_hh, act, dg, s2, part, db_ih, db_hh):
    rows, H = dh.shape
    D = x.shape[1]
    one, zero = dg.dtype.type(1.0), dg.dtype.type(0.0)
    has_dout = dout.size > 0
    for b in range(rows):
        dh_b, dg_b, h_b = dh[b], dg[b], h[b]
        if has_dout:
            dout_b = dout[t, b0 + b]
            for j in range(H):
                dh_b[j] += dout_b[j]
        # one loop per activation (a constant act), so each vectorises
        if act == 0:
            for j in range(H):
                dg_b[j] = rnn_grad(dh_b[j], h_b[j], 0, one, zero)
        elif act == 1:
            for j in range(H):
                dg_b[j] = rnn_grad(dh_b[j], h_b[j], 1, one, zero)
        else:
            for j in range(H):
                dg_b[j] = rnn_grad(dh_b[j], h_b[j], 2, one, zero)
        for j in range(H):
            db_ih[j] += dg_b[j]
    gemm(0, 0, rows, H, H, 1.0, dg, H, W_hh, H, 0.0, dh, H)
    weight_grads_step(dg, dg, x, h_prev, part, H, D, H)
    if dx.size > 0:
        gemm(0, 0, rows, D, H, 1.0, dg, H, W_ih, D, 0.0, dx[t, b0 : b0 + rows], D)
