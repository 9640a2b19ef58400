"""Pure-NumPy float64 forward pass and BPTT for rnn, lstm and gru: the oracle.

Every compiled kernel (CPU and CUDA) is tested against these functions, and
these are tested against central finite differences and against ``torch.nn``.
They favour clarity over speed: one time step at a time, one line per formula.

Layer functions are time-major and use the cache layout documented in
:mod:`tsrnn.kernels` (``states (T+1, S, B, H)``, ``gates (T, B, k*H)``), so a
compiled kernel's cache can be compared with, or fed from, the reference.
:func:`forward` and :func:`backward` stack layers batch-first, like
``torch.nn.LSTM(batch_first=True)``.
"""

import numpy as np

from . import ACTIVATIONS, get_cell
from .activations import SELU_ALPHA, SELU_SCALE


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _act(a, activation):
    if activation == "selu":
        return np.where(a > 0.0, SELU_SCALE * a, SELU_SCALE * SELU_ALPHA * np.expm1(np.minimum(a, 0.0)))
    return np.tanh(a) if activation == "tanh" else np.maximum(a, 0.0)


def _act_grad(h, activation):
    """Derivative of the activation, written in terms of its output ``h``."""
    if activation == "selu":  # scale * alpha * exp(a) = h + scale * alpha on the negative side
        return np.where(h > 0.0, SELU_SCALE, h + SELU_SCALE * SELU_ALPHA)
    return 1.0 - h * h if activation == "tanh" else (h > 0.0).astype(h.dtype)


def _check_activation(cell, activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}.")
    if cell != "rnn" and activation != "tanh":
        raise ValueError(f"activation={activation!r} applies to the 'rnn' cell only.")


def layer_forward(cell, x, state0, W_ih, W_hh, b_ih, b_hh, activation="tanh"):
    """Run one recurrent layer over a sequence, keeping what BPTT needs.

    Parameters
    ----------
    cell : {'rnn', 'lstm', 'gru'}
    x : ndarray of shape (T, B, D)
    state0 : ndarray of shape (S, B, H)
        Initial state: ``h`` (and ``c`` for lstm).
    W_ih, W_hh, b_ih, b_hh : ndarray
        Weights of shapes ``(G*H, D)``, ``(G*H, H)``, ``(G*H,)``, ``(G*H,)``.
    activation : {'tanh', 'relu', 'selu'}, default='tanh'
        Activation of the 'rnn' cell.

    Returns
    -------
    states : ndarray of shape (T+1, S, B, H)
        ``states[0] = state0``, ``states[t+1]`` the state after step ``t``.
    gates : ndarray of shape (T, B, k*H)
        The cell's BPTT cache (see :data:`tsrnn.kernels.CELLS`).
    """
    spec = get_cell(cell)
    _check_activation(cell, activation)
    T, B, _ = x.shape
    H = W_hh.shape[1]
    states = np.zeros((T + 1, spec.n_states, B, H))
    gates = np.zeros((T, B, spec.cache_factor * H))
    states[0] = state0
    for t in range(T):
        h = states[t, 0]
        gi = x[t] @ W_ih.T + b_ih
        gh = h @ W_hh.T + b_hh
        if cell == "rnn":
            states[t + 1, 0] = _act(gi + gh, activation)
        elif cell == "lstm":
            a = gi + gh
            i = sigmoid(a[:, :H])
            f = sigmoid(a[:, H : 2 * H])
            g = np.tanh(a[:, 2 * H : 3 * H])
            o = sigmoid(a[:, 3 * H :])
            c = f * states[t, 1] + i * g
            tanh_c = np.tanh(c)
            states[t + 1, 0] = o * tanh_c
            states[t + 1, 1] = c
            gates[t] = np.concatenate([i, f, g, o, tanh_c], axis=1)
        else:  # gru
            r = sigmoid(gi[:, :H] + gh[:, :H])
            z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            hn = gh[:, 2 * H :]
            n = np.tanh(gi[:, 2 * H :] + r * hn)
            states[t + 1, 0] = (1.0 - z) * n + z * h
            gates[t] = np.concatenate([r, z, n, hn], axis=1)
    return states, gates


def layer_backward(cell, x, W_ih, W_hh, b_ih, b_hh, states, gates, dout, dstateT, activation="tanh"):
    """Backpropagation through time for one layer.

    Parameters
    ----------
    cell, x, W_ih, W_hh, b_ih, b_hh, activation
        As in :func:`layer_forward`.
    states, gates : ndarray
        The cache returned by :func:`layer_forward`.
    dout : ndarray of shape (T, B, H)
        Gradient of the loss with respect to the layer output ``states[1:, 0]``.
    dstateT : ndarray of shape (S, B, H)
        Gradient with respect to the final state ``states[T]``.

    Returns
    -------
    dx : ndarray of shape (T, B, D)
    dstate0 : ndarray of shape (S, B, H)
    dW_ih, dW_hh, db_ih, db_hh : ndarray
        Gradients with the shapes of the weights.
    """
    _check_activation(cell, activation)
    T = x.shape[0]
    H = W_hh.shape[1]
    dx = np.zeros(x.shape)
    dW_ih, dW_hh = np.zeros(W_ih.shape), np.zeros(W_hh.shape)
    db_ih, db_hh = np.zeros(b_ih.shape), np.zeros(b_hh.shape)
    dstate = np.array(dstateT, dtype=np.float64)
    for t in range(T - 1, -1, -1):
        h_prev = states[t, 0]
        dh = dstate[0] + dout[t]
        if cell == "rnn":
            da = dh * _act_grad(states[t + 1, 0], activation)
            dgi = dgh = da
            dh_prev_direct = 0.0
        elif cell == "lstm":
            i, f, g, o, tanh_c = (gates[t, :, k * H : (k + 1) * H] for k in range(5))
            dc = dstate[1] + dh * o * (1.0 - tanh_c * tanh_c)
            da = np.concatenate(
                [
                    dc * g * i * (1.0 - i),
                    dc * states[t, 1] * f * (1.0 - f),
                    dc * i * (1.0 - g * g),
                    dh * tanh_c * o * (1.0 - o),
                ],
                axis=1,
            )
            dgi = dgh = da
            dstate[1] = dc * f
            dh_prev_direct = 0.0
        else:  # gru
            r, z, n, hn = (gates[t, :, k * H : (k + 1) * H] for k in range(4))
            dan = dh * (1.0 - z) * (1.0 - n * n)
            dar = dan * hn * r * (1.0 - r)
            daz = dh * (h_prev - n) * z * (1.0 - z)
            dgi = np.concatenate([dar, daz, dan], axis=1)
            dgh = np.concatenate([dar, daz, dan * r], axis=1)
            dh_prev_direct = dh * z
        dW_ih += dgi.T @ x[t]
        dW_hh += dgh.T @ h_prev
        db_ih += dgi.sum(axis=0)
        db_hh += dgh.sum(axis=0)
        dx[t] = dgi @ W_ih
        dstate[0] = dgh @ W_hh + dh_prev_direct
    return dx, dstate, dW_ih, dW_hh, db_ih, db_hh


def forward(cell, x, params, state0=None, activation="tanh"):
    """Stacked layers, batch-first, like ``torch.nn.<CELL>(batch_first=True)``.

    Parameters
    ----------
    cell : {'rnn', 'lstm', 'gru'}
    x : ndarray of shape (B, T, D)
    params : list of tuple
        ``(W_ih, W_hh, b_ih, b_hh)`` per layer, bottom first.
    state0 : ndarray of shape (L, S, B, H), default=None
        Initial states per layer (zeros when None).
    activation : {'tanh', 'relu', 'selu'}, default='tanh'

    Returns
    -------
    out : ndarray of shape (B, T, H)
        Output of the top layer.
    stateT : ndarray of shape (L, S, B, H)
        Final states per layer.
    cache : list
        What :func:`backward` needs.
    """
    spec = get_cell(cell)
    x = np.asarray(x, dtype=np.float64)
    B = x.shape[0]
    H = params[0][1].shape[1]
    if state0 is None:
        state0 = np.zeros((len(params), spec.n_states, B, H))
    layer_in = x.transpose(1, 0, 2)
    cache, finals = [], []
    for layer, (W_ih, W_hh, b_ih, b_hh) in enumerate(params):
        states, gates = layer_forward(cell, layer_in, state0[layer], W_ih, W_hh, b_ih, b_hh, activation)
        cache.append((layer_in, states, gates))
        finals.append(states[-1])
        layer_in = states[1:, 0]
    return layer_in.transpose(1, 0, 2), np.stack(finals), cache


def backward(cell, params, cache, dout, dstateT, activation="tanh"):
    """Gradients of the stacked network from :func:`forward`.

    Parameters
    ----------
    cell, params, activation
        As in :func:`forward`.
    cache : list
        The third output of :func:`forward`.
    dout : ndarray of shape (B, T, H)
        Gradient with respect to ``out``.
    dstateT : ndarray of shape (L, S, B, H)
        Gradient with respect to ``stateT``.

    Returns
    -------
    dx : ndarray of shape (B, T, D)
    dstate0 : ndarray of shape (L, S, B, H)
    grads : list of tuple
        ``(dW_ih, dW_hh, db_ih, db_hh)`` per layer.
    """
    grads = [None] * len(params)
    dstate0 = np.zeros_like(dstateT, dtype=np.float64)
    d_layer_out = np.asarray(dout, dtype=np.float64).transpose(1, 0, 2)
    for layer in range(len(params) - 1, -1, -1):
        layer_in, states, gates = cache[layer]
        dx, dstate0[layer], *grads[layer] = layer_backward(
            cell, layer_in, *params[layer], states, gates, d_layer_out, dstateT[layer], activation
        )
        grads[layer] = tuple(grads[layer])
        d_layer_out = dx
    return d_layer_out.transpose(1, 0, 2), dstate0, grads
