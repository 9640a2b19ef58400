"""Per-step heads (return_sequences) and bidirectional layers of RecurrentNetwork.

Against torch.nn.RNN/LSTM/GRU(bidirectional=..., batch_first=True) followed by a
torch.nn.Linear head with the same weights (outputs, loss and every gradient), and
against float64 central differences. torch.nn.RNN has no selu: :func:`_torch_selu_rnn`
writes its recurrence (and torch's bidirectional layout) in torch ops, autograd the oracle.
"""

import pickle

import numpy as np
import pytest

from tsrnn.nn import LOSSES, RecurrentNetwork, softmax_cross_entropy

from ._gradients import assert_grad_matches_finite_differences

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "selu"), ("lstm", "tanh"), ("gru", "tanh")]
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
VARIANTS = [(True, False), (False, True), (True, True)]  # (bidirectional, return_sequences)
VARIANT_IDS = ["bidirectional", "sequences", "bidirectional-sequences"]


def _network(cell, activation, num_layers, bidirectional, return_sequences, rng, D=3, H=5, O=2, dtype=np.float64):
    net = RecurrentNetwork(cell, D, H, num_layers, O, activation, dtype, bidirectional, return_sequences)
    net.initialize(rng)
    net.params[:] = rng.uniform(-0.6, 0.6, net.params.size)  # larger than the init: nonlinear regimes
    return net


def _torch_selu_rnn(torch, input_size, hidden_size, num_layers, batch_first, bidirectional):
    """A selu ``torch.nn.RNN`` look-alike: torch's parameter names, layout and outputs ``(out, h_n)``."""
    assert batch_first
    n_dir = 2 if bidirectional else 1

    class SeluRNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.suffixes = [f"l{layer}{s}" for layer in range(num_layers) for s in ("", "_reverse")[:n_dir]]
            for i, suffix in enumerate(self.suffixes):
                d_in = input_size if i < n_dir else n_dir * hidden_size
                shapes = [(hidden_size, d_in), (hidden_size, hidden_size), (hidden_size,), (hidden_size,)]
                for name, shape in zip(NAMES, shapes, strict=True):
                    self.register_parameter(f"{name}_{suffix}", torch.nn.Parameter(torch.zeros(shape)))

        def forward(self, x):  # (B, T, D)
            T, finals = x.shape[1], []
            for layer in range(num_layers):
                outs = []
                for d in range(n_dir):
                    W_ih, W_hh, b_ih, b_hh = (getattr(self, f"{n}_{self.suffixes[layer * n_dir + d]}") for n in NAMES)
                    h, hs = x.new_zeros(x.shape[0], hidden_size), [None] * T
                    for t in range(T) if d == 0 else range(T - 1, -1, -1):
                        h = torch.selu(x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
                        hs[t] = h
                    outs.append(torch.stack(hs, dim=1))
                    finals.append(h)
                x = torch.cat(outs, dim=2)
            return x, torch.stack(finals)

    return SeluRNN()


def _torch_model(torch, net, dtype):
    """A torch recurrent module and Linear head holding ``net``'s weights."""
    kwargs = dict(
        input_size=net.input_size,
        hidden_size=net.hidden_size,
        num_layers=net.num_layers,
        batch_first=True,
        bidirectional=net.bidirectional,
    )
    if net.cell == "rnn" and net.activation == "selu":
        module = _torch_selu_rnn(torch, **kwargs)
    elif net.cell == "rnn":
        module = torch.nn.RNN(nonlinearity=net.activation, **kwargs)
    else:
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[net.cell](**kwargs)
    head = torch.nn.Linear(net.num_directions * net.hidden_size, net.output_size)
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    module, head = module.to(torch_dtype), head.to(torch_dtype)
    with torch.no_grad():
        for suffix, weights in zip(net.layer_names(), net.layers, strict=True):
            for name, w in zip(NAMES, weights, strict=True):
                getattr(module, f"{name}_{suffix}").copy_(torch.tensor(w))
        head.weight.copy_(torch.tensor(net.W_out))
        head.bias.copy_(torch.tensor(net.b_out))
    return module, head


def _torch_forward(torch, net, module, head, X):
    """Head outputs of torch for time-major ``X``: (B, T, O) per step, else (B, O) on h_n."""
    out, final = module(torch.tensor(np.ascontiguousarray(X.transpose(1, 0, 2))))
    if net.return_sequences:
        return head(out)
    h_n = final[0] if net.cell == "lstm" else final  # (num_layers * num_directions, B, H)
    top = h_n[-net.num_directions :]  # the top layer's directions, forward first
    return head(torch.cat(list(top), dim=1))


def _torch_gradients(net, module, head):
    """torch's gradients in our layout: per layer entry, then the head."""
    grads = [tuple(getattr(module, f"{n}_{s}").grad.numpy() for n in NAMES) for s in net.layer_names()]
    return grads, head.weight.grad.numpy(), head.bias.grad.numpy()


def _assert_gradients_match(net, theirs, **tol):
    grads, gW, gb = theirs
    assert len(grads) == len(net.layer_grads)
    for ours_layer, their_layer in zip(net.layer_grads, grads, strict=True):
        for a, b in zip(ours_layer, their_layer, strict=True):
            np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_allclose(net.grad_W_out, gW, **tol)
    np.testing.assert_allclose(net.grad_b_out, gb, **tol)


TOLS = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-5)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("bidirectional,return_sequences", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell,activation", CASES)
def test_mse_outputs_and_gradients_match_torch(cell, activation, num_layers, bidirectional, return_sequences, dtype):
    torch = pytest.importorskip("torch", reason="torch is the oracle for this test")
    rng = np.random.default_rng(0)
    net = _network(cell, activation, num_layers, bidirectional, return_sequences, rng, dtype=dtype)
    T, B = 6, 4
    X = rng.standard_normal((T, B, net.input_size)).astype(dtype)
    y = rng.standard_normal((B, T, 2) if return_sequences else (B, 2))
    module, head = _torch_model(torch, net, dtype)
    pred = _torch_forward(torch, net, module, head, X)
    expected = torch.nn.functional.mse_loss(pred, torch.tensor(y, dtype=pred.dtype))  # mean over every element
    expected.backward()
    tol = TOLS[dtype]
    ours = net.predict(X)
    assert ours.shape == ((B, T, 2) if return_sequences else (B, 2)) and ours.dtype == dtype
    np.testing.assert_allclose(ours, pred.detach().numpy(), **tol)
    value = net.loss_and_grad(X, y.astype(dtype), LOSSES["mse"])
    np.testing.assert_allclose(value, expected.item(), **tol)
    _assert_gradients_match(net, _torch_gradients(net, module, head), **tol)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["unidirectional", "bidirectional"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_per_step_cross_entropy_matches_torch(cell, bidirectional):
    # the classifier's per-step loss: torch's CrossEntropyLoss over the B * T steps
    torch = pytest.importorskip("torch", reason="torch is the oracle for this test")
    rng = np.random.default_rng(5)
    n_classes, T, B = 3, 7, 5
    net = _network(cell, "tanh", 2, bidirectional, True, rng, O=n_classes)
    X = rng.standard_normal((T, B, net.input_size))
    labels = rng.integers(0, n_classes, (B, T))
    module, head = _torch_model(torch, net, np.float64)
    logits = _torch_forward(torch, net, module, head, X)
    expected = torch.nn.CrossEntropyLoss()(logits.reshape(B * T, n_classes), torch.tensor(labels.ravel()))
    expected.backward()
    value = net.loss_and_grad(X, np.eye(n_classes)[labels], softmax_cross_entropy)
    np.testing.assert_allclose(value, expected.item(), rtol=1e-10)
    _assert_gradients_match(net, _torch_gradients(net, module, head), rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("bidirectional,return_sequences", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("cell,activation", [("rnn", "tanh"), ("rnn", "selu"), ("lstm", "tanh"), ("gru", "tanh")])
def test_gradient_matches_finite_differences(cell, activation, bidirectional, return_sequences):
    rng = np.random.default_rng(11)
    net = _network(cell, activation, 2, bidirectional, return_sequences, rng, D=2, H=3, O=2)
    T, B = 5, 3
    X = rng.standard_normal((T, B, 2))
    y = rng.standard_normal((B, T, 2) if return_sequences else (B, 2))
    loss = LOSSES["huber"]  # piecewise: its gradient runs through both branches
    # a sample of the recurrent weights, and every weight of the head
    checked = rng.choice(net.params.size, min(net.params.size, 120), replace=False)
    checked = np.union1d(checked, np.arange(net.params.size - net.b_out.size - net.W_out.size, net.params.size))
    assert_grad_matches_finite_differences(net, lambda: net.loss_and_grad(X, 2.0 * y, loss), checked, atol=1e-9)


@pytest.mark.parametrize("bidirectional,return_sequences", VARIANTS, ids=VARIANT_IDS)
def test_dropout_gradient_matches_finite_differences_with_a_fixed_mask(bidirectional, return_sequences):
    rng = np.random.default_rng(3)
    net = _network("gru", "tanh", 3, bidirectional, return_sequences, rng, D=2, H=3, O=2)
    X = rng.standard_normal((4, 3, 2))
    y = rng.standard_normal((3, 4, 2) if return_sequences else (3, 2))

    def loss_at():
        return net.loss_and_grad(X, y, LOSSES["mse"], None, 0.5, np.random.default_rng(7))

    assert_grad_matches_finite_differences(net, loss_at, rng.choice(net.params.size, 40, replace=False), atol=1e-9)


def test_reverse_direction_reads_the_future():
    # control: a bidirectional network's output at step 0 changes with the last input, a
    # unidirectional one's does not (and its step t never sees steps > t)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 2, 3))
    later = X.copy()
    later[-1] += 1.0
    for bidirectional in (False, True):
        net = _network("lstm", "tanh", 2, bidirectional, True, rng)
        first, second = net.predict(X), net.predict(later)
        np.testing.assert_array_equal(first[:, :-1] == second[:, :-1], not bidirectional)
        assert not np.array_equal(first[:, -1], second[:, -1])


def test_layout_names_and_sizes():
    net = RecurrentNetwork("lstm", 3, 5, 2, 4, bidirectional=True)
    assert net.layer_names() == ["l0", "l0_reverse", "l1", "l1_reverse"]
    assert [w.shape for w in net.layers[2]] == [(20, 10), (20, 5), (20,), (20,)]
    assert net.W_out.shape == (4, 10)
    G = 4 * 5
    expected = 2 * (G * 3 + G * 5 + 2 * G) + 2 * (G * 10 + G * 5 + 2 * G) + 4 * 10 + 4
    assert net.params.size == expected
    assert RecurrentNetwork("gru", 3, 5, 2, 4).layer_names() == ["l0", "l1"]


@pytest.mark.parametrize("bidirectional,return_sequences", VARIANTS, ids=VARIANT_IDS)
def test_predict_agrees_with_training_forward_across_chunks_and_pickle(bidirectional, return_sequences, monkeypatch):
    import tsrnn.nn.network as network_module

    rng = np.random.default_rng(2)
    net = _network("lstm", "tanh", 2, bidirectional, return_sequences, rng, dtype=np.float32)
    X = rng.standard_normal((5, 9, 3)).astype(np.float32)
    y = rng.standard_normal((9, 5, 2) if return_sequences else (9, 2)).astype(np.float32)
    pred = net.predict(X)
    np.testing.assert_allclose(net.loss_and_grad(X, y, LOSSES["mse"]), np.mean((pred - y) ** 2), rtol=1e-5)
    monkeypatch.setattr(network_module, "PREDICT_CHUNK", 4)  # several chunks, the last one short
    np.testing.assert_allclose(net.predict(X), pred, rtol=1e-6, atol=1e-7)
    clone = pickle.loads(pickle.dumps(net))
    assert (clone.bidirectional, clone.return_sequences) == (bidirectional, return_sequences)
    np.testing.assert_array_equal(clone.predict(X), net.predict(X))


def test_per_step_targets_of_the_wrong_shape_are_refused():
    net = RecurrentNetwork("gru", 2, 3, 1, 1, return_sequences=True)
    X = np.zeros((4, 3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"needs targets of shape \(B, T, n_targets\) = \(3, 4, n_targets\)"):
        net.loss_and_grad(X, np.zeros((3, 1)), LOSSES["mse"])
    with pytest.raises(ValueError, match="got y of shape"):
        net.loss_and_grad(X, np.zeros((3, 5, 1)), LOSSES["mse"])


def test_old_pickles_without_directions_load_unidirectional():
    net = RecurrentNetwork("gru", 2, 3, 1, 1)
    state = net.__getstate__()
    for key in ("bidirectional", "return_sequences", "num_directions"):
        del state[key]
    clone = RecurrentNetwork.__new__(RecurrentNetwork)
    clone.__setstate__(state)
    assert clone.num_directions == 1 and not clone.return_sequences
    X = np.ones((3, 2, 2), dtype=np.float32)
    np.testing.assert_array_equal(clone.predict(X), net.predict(X))
