"""Regressors refuse inputs with an empty axis (sequences of length 0, zero features)."""

import numpy as np
import pytest

from tsrnn import GRURegressor, LSTMRegressor, RNNRegressor


@pytest.mark.parametrize("cls", [RNNRegressor, LSTMRegressor, GRURegressor])
@pytest.mark.parametrize("shape", [(8, 0, 1), (8, 5, 0), (8, 0), (8, 0, 0)])
def test_fit_refuses_an_empty_axis(cls, shape):
    with pytest.raises(ValueError, match="0 features|length 0|minimum of 1"):
        cls(hidden_size=2, max_epochs=1).fit(np.zeros(shape), np.zeros(8))


@pytest.mark.parametrize("shape", [(4, 0, 1), (4, 5, 0)])
def test_predict_refuses_an_empty_axis(shape):
    rng = np.random.default_rng(0)
    model = LSTMRegressor(hidden_size=2, max_epochs=1, random_state=0).fit(rng.normal(size=(8, 5, 1)), np.zeros(8))
    with pytest.raises(ValueError, match="0 features|length 0"):
        model.predict(np.zeros(shape))
