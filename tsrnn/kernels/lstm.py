"""The LSTM cell (gates i, f, g, o; states h, c): ``c' = f*c + i*g``, ``h' = o*tanh(c')``.

The cell interface is described in :mod:`.rnn`. The BPTT cache per step is
``gates[t] = [i, f, g, o, tanh(c')]`` (B, 5H): the training step accumulates
the gate pre-activations straight into its first 4H columns and turns them
into activations in place. ``act`` is accepted for a uniform signature and ignored.
"""

from numba import njit

from .. import _config
from . import CELLS
from .activations import sigmoid, tanh
from .blas import gemm
from .cpu_ops import gates_preact, prepare_weights, weight_grads_step

SPEC = CELLS["lstm"]
N_STATES = SPEC.n_states
N_BIAS_PARTS = 1


@njit(inline="always", **_config.JIT)
def scratch_widths(kind, H, D):
    """Per-row widths of the scratch blocks: forward ``hx`` and one step's cache; training ``hx``;
    backward ``dg``."""
    if kind == 0:
        return H + D, 0, 5 * H
    if kind == 1:
        return H + D, 0, 0
    return 4 * H, 0, 0


prepare = prepare_weights


# --- per-element math (one source for every loop and device) ------------------------


@njit(**_config.JIT)
def lstm_state(i, f, g, c_prev):
    """The new cell state from the gate activations and the previous state."""
    return f * c_prev + i * g


@njit(**_config.JIT)
def lstm_grad(i, f, g, o, tanh_c, c_prev, dh, dc, one):
    """Gradients of one element: ``(d_i, d_f, d_g, d_o, dc_prev)`` w.r.t. the gate
    pre-activations and the previous cell state, from ``dh``, ``dc`` of this step."""
    dc_t = dc + dh * o * (one - tanh_c * tanh_c)
    return (
        dc_t * g * i * (one - i),
        dc_t * c_prev * f * (one - f),
        dc_t * i * (one - g * g),
        dh * tanh_c * o * (one - o),
        dc_t * f,
    )


# --- CPU row loops -------------------------------------------------------------------


@njit(inline="always", **_config.JIT)
def _input_gates(g_if, b_if, g_g, b_g):
    """i, f and g of one row in place (views indexed from 0, one loop per activation)."""
    for k in range(g_if.size):
        g_if[k] = sigmoid(g_if[k] + b_if[k])
    for j in range(g_g.size):
        g_g[j] = tanh(g_g[j] + b_g[j])


@njit(inline="always", **_config.JIT)
def _cell_rows(g, bias, c_prev, h_new, c_new):
    """Pointwise part of one training step for a block of rows.

    ``g (rows, 5H)`` holds the pre-activations (without ``bias = b_ih + b_hh``)
    in its first 4H columns; they are replaced by ``i, f, g, o`` and
    ``tanh(c')`` goes to the last H. Writes ``h_new`` and ``c_new`` (which
    must not overlap ``c_prev``: see ``rnn._act_rows_inplace``).
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
        _input_gates(g_if, b_if, g_g, b_g)
        for j in range(H):
            g_o[j] = sigmoid(g_o[j] + b_o[j])
        for j in range(H):
            c = lstm_state(g_i[j], g_f[j], g_g[j], cp[j])
            cn[j] = c
            tanh_c = tanh(c)
            g_c[j] = tanh_c
            hn[j] = g_o[j] * tanh_c


@njit(inline="always", **_config.JIT)
def _cell_rows_backward(dh, dc, dout, t, b0, c_prev, cache, dg, db):
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
            d_i[j], d_f[j], d_g[j], d_o[j], dc_b[j] = lstm_grad(
                i_[j], f_[j], g_[j], o_[j], tc_[j], cp[j], dh_b[j], dc_b[j], one
            )
        dg_b = dg[b]
        for k in range(4 * H):
            db[k] += dg_b[k]


# --- the steps the driver runs ---------------------------------------------------------


@njit(**_config.JIT_INNER)
def train_step(x, h_prev, c_prev, h_new, c_new, cache, W_ih, W_ihT, W_hh, W_cat, bias, b_ih, b_hh, act, hx, s2):
    gates_preact(x, h_prev, W_ihT, W_ih, W_cat, hx, cache)
    _cell_rows(cache, bias, c_prev, h_new, c_new)


@njit(**_config.JIT_INNER)
def backward_step(t, b0, x, h_prev, c_prev, h, cache, dout, dx, dh, dc, W_ih, W_hh, act, dg, s2, part, db_ih, db_hh):
    rows, H = dh.shape
    D, GH = x.shape[1], 4 * H
    _cell_rows_backward(dh, dc, dout, t, b0, c_prev, cache, dg, db_ih)
    gemm(0, 0, rows, H, GH, 1.0, dg, GH, W_hh, H, 0.0, dh, H)
    weight_grads_step(dg, dg, x, h_prev, part, GH, D, H)
    if dx.size > 0:
        gemm(0, 0, rows, D, GH, 1.0, dg, GH, W_ih, D, 0.0, dx[t, b0 : b0 + rows], D)
