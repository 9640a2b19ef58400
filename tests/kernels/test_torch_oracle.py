"""Stacked kernels against torch.nn.RNN/LSTM/GRU with the same weights."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is the oracle for these tests; install the 'test' extra")

from ._helpers import assert_same_results, make_problem  # noqa: E402
from .test_cpu_kernels import CASES, kernel_network  # noqa: E402

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def torch_network(cell, activation, x, params, state0, dout, dstateT, dtype):
    """Outputs and all gradients from torch.nn (or torch ops, for selu) in ``dtype``,
    with our weights copied in."""
    t = lambda a, grad=False: torch.tensor(np.asarray(a, dtype), requires_grad=grad)
    if activation == "selu":
        return _torch_selu_rnn(x, params, state0, dout, dstateT, t)
    H = params[0][1].shape[1]
    kwargs = dict(input_size=x.shape[2], hidden_size=H, num_layers=len(params), batch_first=True)
    if cell == "rnn":
        module = torch.nn.RNN(nonlinearity=activation, **kwargs)
    else:
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](**kwargs)
    module = module.to(t(0.0).dtype)
    with torch.no_grad():
        for layer, weights in enumerate(params):
            for name, w in zip(NAMES, weights):
                getattr(module, f"{name}_l{layer}").copy_(t(w))
    tx = t(x, grad=True)
    t_state0 = [t(state0[:, s], grad=True) for s in range(state0.shape[1])]
    out, final = module(tx, tuple(t_state0) if cell == "lstm" else t_state0[0])
    finals = final if cell == "lstm" else (final,)
    loss = (out * t(dout)).sum() + sum((f * t(dstateT[:, s])).sum() for s, f in enumerate(finals))
    loss.backward()
    grads = [tuple(getattr(module, f"{n}_l{layer}").grad.numpy() for n in NAMES) for layer in range(len(params))]
    stateT = np.stack([f.detach().numpy() for f in finals], axis=1)
    dstate0 = np.stack([s.grad.numpy() for s in t_state0], axis=1)
    return out.detach().numpy(), stateT, tx.grad.numpy(), dstate0, grads


def _torch_selu_rnn(x, params, state0, dout, dstateT, t):
    """torch.nn.RNN has no selu: the same recurrence in torch ops, with autograd as the oracle."""
    weights = [[t(w, grad=True) for w in layer] for layer in params]
    tx = t(x, grad=True)
    h0 = [t(state0[layer, 0], grad=True) for layer in range(len(params))]
    inputs, finals = tx, []
    for layer, (W_ih, W_hh, b_ih, b_hh) in enumerate(weights):
        h, outs = h0[layer], []
        for step in range(inputs.shape[1]):
            h = torch.selu(inputs[:, step] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
            outs.append(h)
        inputs = torch.stack(outs, dim=1)
        finals.append(h)
    final = torch.stack(finals)
    loss = (inputs * t(dout)).sum() + (final * t(dstateT[:, 0])).sum()
    loss.backward()
    grads = [tuple(w.grad.numpy() for w in layer) for layer in weights]
    dstate0 = np.stack([h.grad.numpy() for h in h0])[:, None]
    return inputs.detach().numpy(), final.detach().numpy()[:, None], tx.grad.numpy(), dstate0, grads


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell,activation", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_network_matches_torch(cell, activation, num_layers, dtype, rng):
    x, params, state0, dout, dstateT = make_problem(cell, B=8, T=7, D=3, H=6, num_layers=num_layers, rng=rng)
    # Both sides start from the same dtype-rounded inputs.
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    theirs = torch_network(cell, activation, x, params, state0, dout, dstateT, dtype)
    ours = kernel_network(cell, activation, x, params, state0, dout, dstateT, dtype)
    assert_same_results(ours, theirs, **tol)
