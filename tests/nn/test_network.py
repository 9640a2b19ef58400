"""The network (kernels + head + losses) against finite differences, and its parts."""

import pickle

import numpy as np
import pytest

from tsrnn.nn import LOSSES, OPTIMIZERS, RecurrentNetwork, clip_grad_norm
from tsrnn.nn.losses import quantile

from ._gradients import assert_grad_matches_finite_differences


def _network(cell, rng, num_layers=2, activation="tanh", output_size=3, dtype=np.float64):
    net = RecurrentNetwork(cell, 2, 4, num_layers, output_size, activation, dtype)
    net.initialize(rng)
    return net


@pytest.mark.parametrize(
    "cell,activation", [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "selu"), ("lstm", "tanh"), ("gru", "tanh")]
)
@pytest.mark.parametrize("loss", ["mse", "huber", "quantile"])
def test_network_gradient_matches_finite_differences(cell, activation, loss, rng):
    quantiles = [0.1, 0.5, 0.9] if loss == "quantile" else None
    net = _network(cell, rng, activation=activation, output_size=3 * (3 if quantiles else 1))
    X = rng.standard_normal((5, 6, 2))  # time-major (T, B, D)
    y = rng.standard_normal((6, 3))
    assert_grad_matches_finite_differences(net, lambda: net.loss_and_grad(X, y, LOSSES[loss], quantiles))


def test_dropout_gradient_matches_finite_differences_with_a_fixed_mask(rng):
    net = _network("gru", rng, num_layers=3)
    X = rng.standard_normal((4, 5, 2))
    y = rng.standard_normal((5, 3))

    def loss_at():
        return net.loss_and_grad(X, y, LOSSES["mse"], None, 0.5, np.random.default_rng(7))

    assert_grad_matches_finite_differences(net, loss_at, rng.choice(net.params.size, 25, replace=False))


def test_predict_equals_training_forward_and_survives_pickle(rng):
    net = _network("lstm", rng, dtype=np.float32)
    X = rng.standard_normal((7, 9, 2)).astype(np.float32)
    y = rng.standard_normal((9, 3)).astype(np.float32)
    pred = net.predict(X)
    value = net.loss_and_grad(X, y, LOSSES["mse"])
    np.testing.assert_allclose(value, np.mean((pred - y) ** 2), rtol=1e-5)
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.predict(X), pred)
    # views still share the flat vector after unpickling
    clone.params[:] = 0
    assert not clone.W_out.any() and not clone.layers[0][0].any()


def test_orthogonal_init_gives_orthogonal_gate_blocks(rng):
    net = RecurrentNetwork("gru", 1, 6, 1, 1, dtype=np.float64)
    net.initialize(rng, "orthogonal")
    W_hh = net.layers[0][1]
    for g in range(3):
        block = W_hh[6 * g : 6 * (g + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(6), atol=1e-12)
    with pytest.raises(ValueError, match="recurrent_init"):
        net.initialize(rng, "xavier")


def test_losses_by_hand():
    pred = np.array([[1.0, 2.0]])
    target = np.array([[0.0, 4.0]])
    assert LOSSES["mse"](pred, target)[0] == pytest.approx((1 + 4) / 2)
    assert LOSSES["mae"](pred, target)[0] == pytest.approx((1 + 2) / 2)
    assert LOSSES["huber"](pred, target)[0] == pytest.approx((0.5 + 1.5) / 2)
    # pinball at q=0.9 for the under-forecast 2 -> 4: 0.9*2; at q=0.1 for 1 -> 0 over-forecast: 0.9*1
    value, _ = quantile(np.array([[1.0, 1.0, 2.0, 2.0]]), target, [0.1, 0.9])
    assert value == pytest.approx((0.9 * 1 + 0.1 * 1 + 0.1 * 2 + 0.9 * 2) / 4)


def test_clip_grad_norm():
    g = np.array([3.0, 4.0])
    assert clip_grad_norm(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-9)
    g = np.array([0.3, 0.4])
    clip_grad_norm(g, None)
    np.testing.assert_array_equal(g, [0.3, 0.4])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_minimise_a_quadratic(name):
    target = np.array([1.0, -2.0, 3.0])
    params = np.zeros(3)
    opt = OPTIMIZERS[name](params, 0.05)
    for _ in range(2000):
        opt.step(params, 2 * (params - target))
    np.testing.assert_allclose(params, target, atol=1e-3)


def test_adam_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is the oracle for this test")
    rng = np.random.default_rng(1)
    start = rng.standard_normal(5)
    for name, torch_opt, kwargs in [
        ("adam", torch.optim.Adam, {}),
        ("adamw", torch.optim.AdamW, {"weight_decay": 0.1}),
    ]:
        params = start.copy()
        tp = torch.tensor(start.copy(), requires_grad=True)
        ours = OPTIMIZERS[name](params, 0.01, **kwargs)
        theirs = torch_opt([tp], lr=0.01, eps=1e-8, **kwargs)
        for step in range(20):
            grad = np.sin(params * (step + 1))
            ours.step(params, grad)
            tp.grad = torch.tensor(np.sin(tp.detach().numpy() * (step + 1)))
            theirs.step()
        np.testing.assert_allclose(params, tp.detach().numpy(), rtol=1e-6, atol=1e-7)
