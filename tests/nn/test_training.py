"""The epoch loop's schedule logic, on a stand-in network whose loss never improves."""

import numpy as np
import pytest

from tsrnn.nn import LOSSES
from tsrnn.nn.optimizers import SGD
from tsrnn.nn.training import ArrayWindows, TrainingHistory, run_epochs


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
    history = TrainingHistory(SGD(network.params, 1.0))
    run_epochs(
        network, history, windows, loss=LOSSES["mse"], n_epochs=50, batch_size=4, rng=np.random.default_rng(0),
        validation=windows, n_iter_no_change=6, lr_schedule=schedule,
    )
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
