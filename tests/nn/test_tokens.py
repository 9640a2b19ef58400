"""Token input (a trained embedding before layer 0) and the stateful step API of RecurrentNetwork.

The embedding's gradient (the scatter-add of layer 0's input gradients) against float64
central differences and against torch.nn.Embedding + torch.nn.RNN/LSTM/GRU + Linear;
``run``/``step`` against the full-sequence forward pass.
"""

import pickle

import numpy as np
import pytest

from tsrnn.nn import LOSSES, RecurrentNetwork, softmax_cross_entropy

from ._gradients import assert_grad_matches_finite_differences
from .test_sequences import _assert_gradients_match, _torch_gradients, _torch_model

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
VARIANTS = [(False, False), (False, True), (True, False), (True, True)]  # (bidirectional, return_sequences)
VARIANT_IDS = ["final", "sequences", "bidirectional", "bidirectional-sequences"]


def _token_network(cell, activation, num_layers, bidirectional, return_sequences, rng, V=7, D=3, H=4, O=3):
    net = RecurrentNetwork(
        cell, D, H, num_layers, O, activation, np.float64, bidirectional, return_sequences, vocab_size=V
    )
    net.initialize(rng)
    net.params[:] = rng.uniform(-0.6, 0.6, net.params.size)
    return net


def _targets(net, rng, T, B):
    labels = rng.integers(0, net.output_size, (B, T) if net.return_sequences else B)
    return labels, np.eye(net.output_size)[labels]


def test_embedding_is_first_in_the_parameter_vector():
    net = RecurrentNetwork("gru", 3, 4, 1, 2, vocab_size=5)
    assert net.embedding.shape == (5, 3) and net.grad_embedding.shape == (5, 3)
    assert np.shares_memory(net.embedding, net.params[:15]) and np.shares_memory(net.grad_embedding, net.grad[:15])
    plain = RecurrentNetwork("gru", 3, 4, 1, 2)
    assert net.params.size == plain.params.size + 15 and plain.embedding is None


@pytest.mark.parametrize("bidirectional,return_sequences", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("cell,activation", CASES)
def test_embedding_gradient_matches_finite_differences(cell, activation, bidirectional, return_sequences):
    rng = np.random.default_rng(4)
    net = _token_network(cell, activation, 2, bidirectional, return_sequences, rng)
    T, B = 5, 4
    tokens = rng.integers(0, net.vocab_size - 1, (T, B))  # the last id unused
    tokens[0, 0] = tokens[3, 2] = 2  # a token read twice: its gradient is a sum
    _, y = _targets(net, rng, T, B)
    # every embedding entry (unused rows included: their gradient must be 0), then a sample of the rest
    checked = np.union1d(np.arange(net.embedding.size), rng.choice(net.params.size, 60, replace=False))
    loss_at = lambda: net.loss_and_grad(tokens, y, softmax_cross_entropy)
    assert_grad_matches_finite_differences(net, loss_at, checked, atol=1e-9)
    unused = np.setdiff1d(np.arange(net.vocab_size), tokens)
    assert unused.size > 0  # the control: rows no token reads get exactly zero
    np.testing.assert_array_equal(net.grad_embedding[unused], 0.0)


@pytest.mark.parametrize("bidirectional,return_sequences", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell,activation", CASES)
def test_token_network_matches_torch_embedding(cell, activation, num_layers, bidirectional, return_sequences):
    torch = pytest.importorskip("torch", reason="torch is the oracle for this test")
    rng = np.random.default_rng(9)
    net = _token_network(cell, activation, num_layers, bidirectional, return_sequences, rng, V=9)
    T, B = 6, 5
    tokens = rng.integers(0, net.vocab_size, (T, B))
    labels, y = _targets(net, rng, T, B)
    module, head = _torch_model(torch, net, np.float64)
    embedding = torch.nn.Embedding(net.vocab_size, net.input_size).to(torch.float64)
    with torch.no_grad():
        embedding.weight.copy_(torch.tensor(net.embedding))
    X = embedding(torch.tensor(tokens))  # (T, B, D), time-major as ours
    out, final = module(X.transpose(0, 1))
    if return_sequences:
        logits = head(out).reshape(B * T, -1)
        expected = torch.nn.CrossEntropyLoss()(logits, torch.tensor(labels.ravel()))
    else:
        h_n = final[0] if cell == "lstm" else final
        logits = head(torch.cat(list(h_n[-net.num_directions :]), dim=1))
        expected = torch.nn.CrossEntropyLoss()(logits, torch.tensor(labels))
    expected.backward()
    pred = net.predict(tokens)
    np.testing.assert_allclose(pred.reshape(logits.shape), logits.detach().numpy(), rtol=1e-9, atol=1e-11)
    value = net.loss_and_grad(tokens, y, softmax_cross_entropy)
    np.testing.assert_allclose(value, expected.item(), rtol=1e-10)
    _assert_gradients_match(net, _torch_gradients(net, module, head), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(net.grad_embedding, embedding.weight.grad.numpy(), rtol=1e-8, atol=1e-11)


def test_float32_token_network_matches_the_float64_one():
    rng = np.random.default_rng(1)
    net = _token_network("lstm", "tanh", 2, False, True, rng)
    net32 = RecurrentNetwork("lstm", 3, 4, 2, 3, return_sequences=True, vocab_size=7)
    net32.params[:] = net.params
    tokens = rng.integers(0, 7, (6, 4))
    _, y = _targets(net, rng, 6, 4)
    np.testing.assert_allclose(net32.predict(tokens), net.predict(tokens), rtol=1e-4, atol=1e-5)
    net.loss_and_grad(tokens, y, softmax_cross_entropy)
    net32.loss_and_grad(tokens, y.astype(np.float32), softmax_cross_entropy)
    np.testing.assert_allclose(net32.grad_embedding, net.grad_embedding, rtol=2e-3, atol=1e-5)


def test_token_ids_are_checked():
    net = RecurrentNetwork("gru", 3, 4, 1, 2, vocab_size=5)
    with pytest.raises(ValueError, match=r"must lie in \[0, vocab_size\) = \[0, 5\); got ids from 0 to 5"):
        net.predict(np.array([[0, 5]]))
    with pytest.raises(ValueError, match="got ids from -1"):
        net.loss_and_grad(np.array([[-1, 2]]), np.zeros((2, 2)), LOSSES["mse"])
    with pytest.raises(ValueError, match=r"integer ids of shape \(T, B\)"):
        net.predict(np.zeros((2, 3, 3), dtype=np.float32))


def test_token_network_pickles_and_predicts_identically():
    rng = np.random.default_rng(0)
    net = _token_network("gru", "tanh", 2, True, True, rng)
    clone = pickle.loads(pickle.dumps(net))
    tokens = rng.integers(0, 7, (5, 3))
    assert clone.vocab_size == 7 and np.shares_memory(clone.embedding, clone.params)
    np.testing.assert_array_equal(clone.predict(tokens), net.predict(tokens))


# -- the stateful step API ----------------------------------------------------


@pytest.mark.parametrize("return_sequences", [False, True], ids=["final", "sequences"])
@pytest.mark.parametrize("cell,activation", [*CASES, ("rnn", "selu")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_run_and_step_equal_the_full_sequence_forward(cell, activation, return_sequences, dtype):
    rng = np.random.default_rng(3)
    net = RecurrentNetwork(cell, 2, 5, 2, 3, activation, dtype, return_sequences=return_sequences)
    net.initialize(rng)
    X = rng.standard_normal((9, 4, 2)).astype(dtype)
    full = net.predict(X)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    # a prompt of 6 steps in one run, then one step at a time
    outputs, state = net.run(X[:6], net.initial_state(4))
    steps = [outputs]
    for t in range(6, 9):
        out, state = net.step(X[t], state)
        steps.append(out[:, None])
    per_step = np.concatenate(steps, axis=1)
    assert per_step.shape == (4, 9, 3) and per_step.dtype == dtype
    if return_sequences:
        np.testing.assert_allclose(per_step, full, **tol)
    else:
        np.testing.assert_allclose(per_step[:, -1], full, **tol)
    # the state: the final hidden state of every layer, as torch's h_n; the input state is untouched
    again, state2 = net.run(X)
    np.testing.assert_allclose(state2, state, **tol)
    np.testing.assert_allclose(again, per_step, **tol)


def test_step_on_tokens_equals_predict():
    rng = np.random.default_rng(8)
    net = _token_network("lstm", "tanh", 2, False, True, rng)
    tokens = rng.integers(0, net.vocab_size, (7, 2))
    full = net.predict(tokens)
    state = net.initial_state(2)
    before = state.copy()
    outs = []
    for t in range(7):
        out, new = net.step(tokens[t], state)
        np.testing.assert_array_equal(state, before if t == 0 else state)  # never modified in place
        state = new
        outs.append(out)
    np.testing.assert_allclose(np.stack(outs, axis=1), full, rtol=1e-10, atol=1e-12)


def test_step_api_errors():
    bi = RecurrentNetwork("gru", 2, 3, 1, 1, bidirectional=True)
    calls = (lambda: bi.initial_state(1), lambda: bi.run(np.zeros((2, 1, 2))), lambda: bi.step(np.zeros((1, 2)), None))
    for call in calls:
        with pytest.raises(ValueError, match="need a unidirectional network"):
            call()
    net = RecurrentNetwork("lstm", 2, 3, 2, 1)
    with pytest.raises(ValueError, match=r"state must have shape .* = \(2, 2, 4, 3\)"):
        net.run(np.zeros((2, 4, 2)), net.initial_state(3))
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, input_size=2\)"):
        net.run(np.zeros((2, 4, 5)))
