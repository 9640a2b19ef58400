"""The validation windows that calibrate RNNForecaster's intervals never shape the model (issue 13).

Their targets judge early stopping and calibrate the conformal intervals and the quantiles (CQR);
a model scaled with statistics that include them would be calibrated optimistically.
"""

import numpy as np
import pytest

from tsrnn.forecasting import RNNForecaster

# airpassengers: 144 months. With input_size=24 and horizon=6 there are 144 - 24 - 6 + 1 = 115
# windows; validation_fraction=0.1 holds out the last ceil(11.5) = 12 (starts 103..114), whose
# first target is row 103 + 24 = 127; the last training window (start 97, the 5 before the
# validation ones dropped) predicts rows 121..126.
FIRST_VALIDATION_TARGET = 127


@pytest.fixture(scope="module")
def air():
    from tsrnn.datasets import load_airpassengers

    return load_airpassengers()


def quick(**params):
    # one epoch: early stopping then keeps that epoch's weights, whatever the validation loss,
    # and linear_base='changes' (no choice on the validation windows), so that only the
    # scaling could carry the validation targets into the model
    defaults = dict(horizon=6, input_size=24, hidden_size=4, max_epochs=1, linear_base="changes", random_state=0)
    return RNNForecaster(**{**defaults, **params})


def test_perturbing_the_validation_targets_changes_only_the_calibration(air):
    perturbed = air.copy()
    perturbed.iloc[FIRST_VALIDATION_TARGET:] *= 1.5
    params = dict(quantiles=[0.1, 0.9])
    model, other = quick(**params).fit(air), quick(**params).fit(perturbed)
    np.testing.assert_array_equal(other.scale_loc_, model.scale_loc_)
    np.testing.assert_array_equal(other.scale_scale_, model.scale_scale_)
    np.testing.assert_array_equal(other.networks_[0].params, model.networks_[0].params)
    np.testing.assert_array_equal(other.linear_base_.ridge_.coef_, model.linear_base_.ridge_.coef_)
    # the same trained model: on the same history it forecasts the same
    point = model.predict()
    np.testing.assert_array_equal(other.update(air).predict()[model.alias], point[model.alias])
    # only the calibration scores moved: the validation errors are those of the changed targets
    residuals, moved = model.validation_residuals_.residuals[0], other.validation_residuals_.residuals[0]
    assert residuals.shape == moved.shape and not np.allclose(residuals, moved)


def test_the_scaling_comes_from_the_rows_before_the_first_validation_target(air):
    values = air.to_numpy(dtype=float)
    model = quick().fit(air)
    np.testing.assert_allclose(model.scale_loc_, [values[:FIRST_VALIDATION_TARGET].mean()], rtol=1e-12)
    np.testing.assert_allclose(model.scale_scale_, [values[:FIRST_VALIDATION_TARGET].std()], rtol=1e-12)
    # the last training target (row 126) is inside: changing it changes the scaling
    changed = air.copy()
    changed.iloc[FIRST_VALIDATION_TARGET - 1] += 100.0
    assert quick().fit(changed).scale_loc_[0] != model.scale_loc_[0]
    # without a validation split the scaling is the whole series', as before
    whole = quick(early_stopping=False).fit(air)
    np.testing.assert_allclose(whole.scale_loc_, [values.mean()], rtol=1e-12)
    np.testing.assert_allclose(whole.scale_scale_, [values.std()], rtol=1e-12)
