"""The NumPy reference against central finite differences and against torch.nn."""

import numpy as np
import pytest

from tsrnn.kernels import reference

from ._helpers import assert_same_results, make_problem

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "selu"), ("lstm", "tanh"), ("gru", "tanh")]


def _loss(cell, activation, x, params, state0, dout, dstateT):
    """A scalar whose gradients are exactly what backward() returns."""
    out, stateT, _ = reference.forward(cell, x, params, state0, activation)
    return np.sum(out * dout) + np.sum(stateT * dstateT)


def _numeric_grad(f, array, eps=1e-6):
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        up = f()
        flat[k] = saved - eps
        down = f()
        flat[k] = saved
        gflat[k] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("cell,activation", CASES)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_backward_matches_finite_differences(cell, activation, num_layers, rng):
    x, params, state0, dout, dstateT = make_problem(cell, B=3, T=4, D=2, H=3, num_layers=num_layers, rng=rng)
    if activation in ("relu", "selu"):  # keep pre-activations away from the kink at 0
        x *= 3.0
    _, _, cache = reference.forward(cell, x, params, state0, activation)
    dx, dstate0, grads = reference.backward(cell, params, cache, dout, dstateT, activation)

    def f():
        return _loss(cell, activation, x, params, state0, dout, dstateT)

    np.testing.assert_allclose(dx, _numeric_grad(f, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dstate0, _numeric_grad(f, state0), rtol=1e-6, atol=1e-8)
    for layer in range(num_layers):
        for analytic, weight in zip(grads[layer], params[layer]):
            np.testing.assert_allclose(analytic, _numeric_grad(f, weight), rtol=1e-6, atol=1e-8)


def test_unknown_cell_and_activation_are_rejected(rng):
    x, params, state0, _, _ = make_problem("gru", B=2, T=2, D=1, H=2, num_layers=1, rng=rng)
    with pytest.raises(ValueError, match="Unknown cell 'xlstm'"):
        reference.forward("xlstm", x, params)
    with pytest.raises(ValueError, match="applies to the 'rnn' cell only"):
        reference.forward("gru", x, params, activation="relu")
    with pytest.raises(ValueError, match="Unknown activation 'gelu'"):
        reference.forward("rnn", x, params, activation="gelu")


torch = pytest.importorskip("torch", reason="torch is the oracle for these tests; install the 'test' extra")


def torch_forward_backward(cell, activation, x, params, state0, dout, dstateT):
    """Outputs and all gradients from torch in float64, with our weights copied in."""
    from .test_torch_oracle import torch_network

    return torch_network(cell, activation, x, params, state0, dout, dstateT, np.float64)


@pytest.mark.parametrize("cell,activation", CASES)
@pytest.mark.parametrize("num_layers", [1, 3])
def test_reference_matches_torch(cell, activation, num_layers, rng):
    x, params, state0, dout, dstateT = make_problem(cell, B=5, T=6, D=3, H=4, num_layers=num_layers, rng=rng)
    out, stateT, cache = reference.forward(cell, x, params, state0, activation)
    dx, dstate0, grads = reference.backward(cell, params, cache, dout, dstateT, activation)
    theirs = torch_forward_backward(cell, activation, x, params, state0, dout, dstateT)
    assert_same_results((out, stateT, dx, dstate0, grads), theirs, rtol=1e-10, atol=1e-12)
