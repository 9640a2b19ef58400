"""The trainer (tsrnn.nn.Trainer): schedule, early stopping and divergence, on stand-in networks."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from tsrnn.nn import ArrayWindows, RecurrentNetwork, Trainer, TrainingHistory, seeded_generator
from tsrnn.nn.optimizers import SGD


class FlatNetwork:
    """A network whose loss is always 1 and whose predictions are always 0."""

    cell = "flat"

    def __init__(self):
        self.params = np.zeros(3)
        self.grad = np.zeros(3)

    def loss_and_grad(self, X, y, loss, quantiles, dropout, rng):
        return 1.0

    def predict(self, X):
        return np.zeros((X.shape[1], 1))

    def release_workspaces(self):
        pass


@pytest.mark.parametrize("schedule,final_lr", [("constant", 1.0), ("plateau", 0.25)])
def test_plateau_halves_the_learning_rate_every_half_patience(schedule, final_lr):
    windows = ArrayWindows(np.zeros((2, 8, 1)), np.ones((8, 1)))
    network = FlatNetwork()
    trainer = Trainer(
        optimizer="sgd", learning_rate=1.0, max_epochs=50, batch_size=4, n_iter_no_change=6, lr_schedule=schedule
    )
    history = trainer.start(network, np.random.default_rng(0))
    assert isinstance(history, TrainingHistory) and isinstance(history.optimizer, SGD)
    assert trainer.fit(network, history, windows, validation=windows) is history
    # epoch 1 sets the best loss; epochs 2-7 do not improve it: halvings after epochs 4 and 7, then the stop
    assert history.n_iter == 7
    assert history.optimizer.learning_rate == final_lr


def test_plateau_is_an_estimator_parameter():
    from tsrnn import GRURegressor, LSTMRegressor, RNNRegressor
    from tsrnn.forecasting import RNNForecaster

    for estimator in (RNNRegressor, LSTMRegressor, GRURegressor, RNNForecaster):
        assert estimator().get_params()["lr_schedule"] == "constant"
    with pytest.raises(ValueError, match="lr_schedule"):
        LSTMRegressor(lr_schedule="cosine").fit(np.zeros((4, 3, 1)), np.zeros(4))


class DivergingNetwork(FlatNetwork):
    """Loss 1 for ``good_steps`` steps, then NaN."""

    def __init__(self, good_steps):
        super().__init__()
        self.good_steps, self.steps = good_steps, 0

    def loss_and_grad(self, X, y, loss, quantiles, dropout, rng):
        self.steps += 1
        return 1.0 if self.steps <= self.good_steps else np.nan


def test_divergence_raises_before_any_epoch_and_restores_the_best_weights_after():
    windows = ArrayWindows(np.zeros((2, 8, 1)), np.ones((8, 1)))
    trainer = Trainer(optimizer="sgd", max_epochs=10, batch_size=4)
    network = DivergingNetwork(good_steps=1)
    with pytest.raises(FloatingPointError, match="Training diverged"):
        trainer.fit(network, trainer.start(network, np.random.default_rng(0)), windows)
    network = DivergingNetwork(good_steps=4)  # two epochs of two batches, then NaN
    history = trainer.start(network, np.random.default_rng(0))
    with pytest.warns(ConvergenceWarning, match="after 2 epochs"):
        trainer.fit(network, history, windows)
    assert history.n_iter == 2 and np.array_equal(network.params, history.best_params)


def test_trainer_continues_a_history_and_takes_a_custom_loss_and_score():
    """What partial_fit and a classifier rely on: histories continue, losses and scores plug in."""
    rng = seeded_generator(0)
    X = rng.standard_normal((4, 40, 2)).astype(np.float32)
    y = X[-1, :, :1].astype(np.float64)
    network = RecurrentNetwork("gru", 2, 4, 1, 1)
    network.initialize(rng)
    calls = []

    def squared(pred, target, quantiles):
        calls.append(pred.shape)
        err = pred - target
        return float(np.mean(err * err)), (2.0 / err.size) * err

    trainer = Trainer(squared, max_epochs=3, batch_size=16, validation_score=lambda y_true, pred: -1.0)
    train, validation = ArrayWindows(X[:, :32], y[:32]), ArrayWindows(X[:, 32:], y[32:])
    history = trainer.fit(network, trainer.start(network, rng), train, validation)
    assert history.n_iter == 3 and history.validation_scores == [-1.0] * 3
    assert calls[0] == (16, 1)
    trainer.fit(network, history, train, n_epochs=1)  # continues the curves, optimizer and generator
    assert history.n_iter == 4 and len(history.loss_curve) == 4 and history.optimizer.t == 3 * 2 + 2


def test_dropout_with_one_layer_warns_that_it_has_no_effect():
    import warnings

    from tsrnn import LSTMRegressor

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 6, 1)), rng.standard_normal(40)
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        LSTMRegressor(hidden_size=4, max_epochs=1, dropout=0.5, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        LSTMRegressor(hidden_size=4, num_layers=2, max_epochs=1, dropout=0.5, random_state=0).fit(X, y)
