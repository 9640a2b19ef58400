"""Kernels against the reference at benchmark-like sizes (slow: the reference is pure NumPy)."""

import numpy as np
import pytest

from tsrnn.kernels import reference
from tsrnn.nn import LOSSES, RecurrentNetwork


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_two_layer_network_gradient_matches_reference_at_w1_size(cell):
    """W1-like shapes (B=256, T=48, H=32) in float64, through the network's workspaces."""
    rng = np.random.default_rng(0)
    net = RecurrentNetwork(cell, 1, 32, 2, 12, dtype=np.float64)
    net.initialize(rng)
    X = rng.standard_normal((48, 256, 1))
    y = rng.standard_normal((256, 12))
    value = net.loss_and_grad(X, y, LOSSES["mse"])
    params = [tuple(w.copy() for w in layer) for layer in net.layers]
    out, stateT, cache = reference.forward(cell, X.transpose(1, 0, 2), params)
    pred = stateT[-1, 0] @ net.W_out.T + net.b_out
    ref_value, dpred = LOSSES["mse"](pred, y)
    dstateT = np.zeros_like(stateT)
    dstateT[-1, 0] = dpred @ net.W_out
    _, _, grads = reference.backward(cell, params, cache, np.zeros_like(out), dstateT)
    assert value == pytest.approx(ref_value, rel=1e-12)
    for ours, theirs in zip(net.layer_grads, grads):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(net.grad_W_out, dpred.T @ stateT[-1, 0], rtol=1e-10)
