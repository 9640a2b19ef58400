"""recurrent_init: the structure and statistics of each initialisation, and that relu/selu train with theirs."""

import warnings

import numpy as np
import pytest

from tsrnn import GRUClassifier, RNNClassifier, RNNRegressor
from tsrnn.nn import RECURRENT_INITS, RecurrentNetwork


def _initialized(cell, recurrent_init, D=32, H=64, num_layers=2, seed=0, **kwargs):
    net = RecurrentNetwork(cell, D, H, num_layers, 3, dtype=np.float64, **kwargs)
    net.initialize(np.random.default_rng(seed), recurrent_init)
    return net


def test_uniform_is_pytorchs_default_and_unchanged_by_the_new_options():
    net = _initialized("lstm", "uniform", D=3, H=5)
    bound = 1 / np.sqrt(5)
    np.testing.assert_array_equal(net.params, np.random.default_rng(0).uniform(-bound, bound, net.params.size))


def test_orthogonal_gate_blocks():
    net = _initialized("gru", "orthogonal", H=16)
    for _, W_hh, _, _ in net.layers:
        for gate in range(3):
            block = W_hh[gate * 16 : (gate + 1) * 16]
            np.testing.assert_allclose(block @ block.T, np.eye(16), atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_identity_is_irnn(bidirectional):
    net = _initialized("rnn", "identity", bidirectional=bidirectional)
    bound = 1 / np.sqrt(64)
    assert len(net.layers) == 2 * net.num_directions
    for W_ih, W_hh, b_ih, b_hh in net.layers:
        np.testing.assert_array_equal(W_hh, np.eye(64))
        np.testing.assert_array_equal(b_ih, 0.0)
        np.testing.assert_array_equal(b_hh, 0.0)
        assert np.abs(W_ih).max() <= bound and W_ih.std() > 0.5 * bound  # still PyTorch's uniform
    assert np.abs(net.W_out).max() <= bound and np.any(net.b_out != 0)  # the head keeps the default


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_identity_is_refused_for_gated_cells(cell):
    with pytest.raises(ValueError, match=r"recurrent_init='identity' \(IRNN\) applies to cell='rnn' only"):
        _initialized(cell, "identity")
    with pytest.raises(ValueError, match="Use recurrent_init='orthogonal' for a gated cell"):
        GRUClassifier(recurrent_init="identity", max_epochs=1).fit(np.zeros((4, 3)), [0, 1, 0, 1])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_lecun_normal_has_variance_one_over_fan_in(cell):
    net = _initialized(cell, "lecun_normal", D=32, H=64)
    for layer, (W_ih, W_hh, b_ih, b_hh) in enumerate(net.layers):
        fan_in = 32 if layer == 0 else 64
        for W, fan in ((W_ih, fan_in), (W_hh, 64)):
            n = W.size  # thousands of draws: the sample moments are within a few percent
            assert abs(W.mean()) < 4 / np.sqrt(n * fan)
            np.testing.assert_allclose(W.var(), 1 / fan, rtol=4 * np.sqrt(2 / n))
            # normal, not uniform: the kurtosis of a normal sample is near 3 (uniform: 1.8)
            assert 2.7 < np.mean(W**4) / W.var() ** 2 < 3.3
        np.testing.assert_array_equal(b_ih, 0.0)
        np.testing.assert_array_equal(b_hh, 0.0)


def test_unknown_init_is_refused():
    with pytest.raises(ValueError, match=r"recurrent_init must be one of \['identity', 'lecun_normal'"):
        _initialized("rnn", "xavier")
    assert set(RECURRENT_INITS) == {"uniform", "orthogonal", "identity", "lecun_normal"}
    with pytest.raises(ValueError, match="The 'recurrent_init' parameter of RNNRegressor must be a str among"):
        RNNRegressor(recurrent_init="xavier").fit(np.zeros((4, 3)), np.zeros(4))


def _remember_the_first_input(n=600, T=40, seed=0):
    """The label is the sign of step 0, followed by 39 steps of noise: a long memory."""
    rng = np.random.default_rng(seed)
    X = 0.5 * rng.standard_normal((n, T))
    X[:, 0] = rng.choice([-1.0, 1.0], n)
    return X, X[:, 0] > 0


def test_irnn_relu_learns_a_long_memory_that_the_uniform_init_does_not():
    X, y = _remember_the_first_input()
    kwargs = dict(cell="rnn", activation="relu", hidden_size=16, max_epochs=30, learning_rate=3e-3)
    kwargs.update(batch_size=32, early_stopping=False, random_state=0)
    scores = {}
    for init in ("identity", "uniform"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no divergence warning
            model = RNNClassifier(recurrent_init=init, **kwargs).fit(X[:500], y[:500])
        assert np.all(np.isfinite(model.loss_curve_))
        scores[init] = model.score(X[500:], y[500:])
        if init == "identity":
            assert model.loss_curve_[-1] < 0.1 * model.loss_curve_[0]  # stable and decreasing
    assert scores["identity"] >= 0.95
    assert scores["uniform"] < 0.75  # the control: 40 steps are too far for the default init


def test_selu_with_lecun_normal_trains():
    rng = np.random.default_rng(1)
    t = np.arange(3000)
    series = np.sin(0.1 * t) + 0.1 * rng.standard_normal(t.size)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 20)[::3]
    y = series[20:][::3][: len(X)]
    model = RNNRegressor(
        cell="rnn",
        activation="selu",
        recurrent_init="lecun_normal",
        hidden_size=16,
        max_epochs=30,
        learning_rate=3e-3,
        early_stopping=False,
        random_state=0,
    ).fit(X[:800], y[:800])
    assert np.all(np.isfinite(model.loss_curve_)) and model.loss_curve_[-1] < 0.2 * model.loss_curve_[0]
    assert model.score(X[800:], y[800:]) > 0.9
