"""The NumPy reference against central finite differences and against torch.nn."""

import numpy as np
import pytest

from tsrnn.kernels import reference

from ._helpers import assert_same_results, make_problem

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


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
    if activation == "relu":  # keep pre-activations away from the kink at 0
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
    """Outputs and all gradients from torch.nn in float64, with our weights copied in."""
    num_layers = len(params)
    H = params[0][1].shape[1]
    kwargs = dict(input_size=x.shape[2], hidden_size=H, num_layers=num_layers, batch_first=True)
    if cell == "rnn":
        module = torch.nn.RNN(nonlinearity=activation, **kwargs)
    else:
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](**kwargs)
    module = module.double()
    with torch.no_grad():
        for layer, weights in enumerate(params):
            for name, w in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights):
                getattr(module, f"{name}_l{layer}").copy_(torch.from_numpy(w))
    tx = torch.tensor(x, requires_grad=True)
    t_state0 = [torch.tensor(state0[:, s], requires_grad=True) for s in range(state0.shape[1])]
    out, final = module(tx, tuple(t_state0) if cell == "lstm" else t_state0[0])
    finals = final if cell == "lstm" else (final,)
    loss = (out * torch.from_numpy(dout)).sum()
    for s, f in enumerate(finals):
        loss = loss + (f * torch.from_numpy(dstateT[:, s])).sum()
    loss.backward()
    grads = [
        tuple(
            getattr(module, f"{name}_l{layer}").grad.numpy()
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        for layer in range(num_layers)
    ]
    stateT = np.stack([f.detach().numpy() for f in finals], axis=1)
    dstate0 = np.stack([s.grad.numpy() for s in t_state0], axis=1)
    return out.detach().numpy(), stateT, tx.grad.numpy(), dstate0, grads


@pytest.mark.parametrize("cell,activation", CASES)
@pytest.mark.parametrize("num_layers", [1, 3])
def test_reference_matches_torch(cell, activation, num_layers, rng):
    x, params, state0, dout, dstateT = make_problem(cell, B=5, T=6, D=3, H=4, num_layers=num_layers, rng=rng)
    out, stateT, cache = reference.forward(cell, x, params, state0, activation)
    dx, dstate0, grads = reference.backward(cell, params, cache, dout, dstateT, activation)
    theirs = torch_forward_backward(cell, activation, x, params, state0, dout, dstateT)
    assert_same_results((out, stateT, dx, dstate0, grads), theirs, rtol=1e-10, atol=1e-12)
