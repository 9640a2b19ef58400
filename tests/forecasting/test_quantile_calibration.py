"""Calibrated quantile outputs: RNNForecaster(quantiles=...) conformalised on held-out windows (CQR)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from tsrnn.forecasting import RNNForecaster
from tsrnn.forecasting.conformal import (
    Calibration,
    ConformalIntervals,
    conformal_quantiles,
    quantile_windows_needed,
)


def ar1(n, phi=0.6, sigma=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = phi * y[t - 1] + sigma * rng.standard_normal()
    return y


def tiny(**params):
    defaults = dict(hidden_size=8, max_epochs=5, batch_size=32, random_state=0)
    return RNNForecaster(**{**defaults, **params})


@pytest.fixture(scope="module")
def air():
    from tsrnn.datasets import load_airpassengers

    return load_airpassengers()


def columns(out, series, name):
    return np.column_stack([out[(s, name)].to_numpy() for s in series])


# ---------------------------------------------------------------- the shift, by hand


def test_one_sided_conformal_shift_by_hand():
    # 9 windows, one step; errors y - q_hat of 1..9 for both quantiles
    errors = np.arange(1.0, 10.0)[:, None, None] * np.ones((1, 1, 2))
    calibration = Calibration([np.zeros((9, 1))], np.ones(1), "test", np.array([0.1, 0.9]), [errors])
    point = np.full((1, 1), 100.0)
    q = np.array([[[90.0, 110.0]]])
    out = conformal_quantiles(point, q, calibration, [0.1, 0.9])
    # upper: the ceil(10 * 0.9) = 9th smallest error (9): P(y <= q + 9) >= 0.9
    # lower: the ceil(10 * 0.9) = 9th largest error (1): P(y < q + 1) <= 1 / 10
    np.testing.assert_array_equal(out[0, 0], [91.0, 119.0])
    assert quantile_windows_needed(0.1) == quantile_windows_needed(0.9) == 9
    assert quantile_windows_needed(0.05) == 19 and quantile_windows_needed(0.5) == 0
    with pytest.raises(ValueError, match="holds no errors of the quantiles"):
        conformal_quantiles(point, q, Calibration([np.zeros((9, 1))], np.ones(1), "test"), [0.1, 0.9])


def test_too_few_windows_for_a_quantile_warn_and_use_the_largest_error():
    errors = np.arange(1.0, 5.0)[:, None, None]  # 4 windows: 0.9 needs 9
    calibration = Calibration([np.zeros((4, 1))], np.ones(1), "test", np.array([0.9]), [errors])
    with pytest.warns(UserWarning, match="cannot guarantee the 0.9 quantile"):
        out = conformal_quantiles(np.zeros((1, 1)), np.zeros((1, 1, 1)), calibration, [0.9])
    assert out[0, 0, 0] == 4.0


def test_adjusted_quantiles_never_cross_and_the_median_stays_put():
    rng = np.random.default_rng(0)
    probabilities = [0.05, 0.1, 0.5, 0.9, 0.95]
    # errors that push the lower quantiles up past the median and the upper ones down
    errors = rng.normal(size=(40, 3, 5)) + np.array([8.0, 3.0, 0.0, -6.0, -1.0])
    calibration = Calibration([np.zeros((40, 3))], np.ones(1), "test", np.array(probabilities), [errors])
    point = rng.normal(size=(1, 3))
    q = point[:, :, None] + np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    out = conformal_quantiles(point, q, calibration, probabilities)
    assert (np.diff(out, axis=2) >= 0).all()
    np.testing.assert_array_equal(out[:, :, 2], point)  # the median slice is the point, unshifted
    assert (out[:, :, :2] <= point[:, :, None]).all() and (out[:, :, 3:] >= point[:, :, None]).all()


def test_pooled_shifts_scale_with_each_series():
    errors = np.arange(1.0, 10.0)[:, None, None]
    calibration = Calibration(
        [np.zeros((9, 1)), np.zeros((9, 1))], np.array([1.0, 3.0]), "test", np.array([0.9]), [errors, 3 * errors]
    )
    out = conformal_quantiles(np.zeros((2, 1)), np.zeros((2, 1, 1)), calibration, [0.9], pooling="pooled")
    np.testing.assert_allclose(out[:, 0, 0], [9.0, 27.0])  # one scale-free distribution, scaled back


# ---------------------------------------------------------------- RNNForecaster


def test_the_band_covers_its_nominal_80_percent_on_held_out_ar1_data():
    """Heads barely trained (so far too narrow) are calibrated on the validation windows:
    the [0.1, 0.9] band covers 80 +/- 3 % of 9600 held-out points, rolling over 8 origins.

    (Series of 200 steps: on much shorter ones the validation errors come out a little
    optimistic, as the per-series scaling is learned on data that includes the validation
    windows; 400 series of 60 steps cover 77 %.)
    """
    n_series, length, h, origins = 300, 200, 4, 8
    wide = pd.DataFrame({f"s{i}": ar1(length + h * origins, seed=100 + i) for i in range(n_series)})
    wide.index = pd.date_range("2000-01-01", periods=len(wide), freq="D")
    params = dict(horizon=h, input_size=8, season_length=1, validation_fraction=0.2, max_epochs=2)
    model = tiny(**params, learning_rate=1e-5, batch_size=64, quantiles=[0.1, 0.9]).fit(wide.iloc[:length])
    coverage = {}
    for calibrate in (True, False):  # post hoc: the same fitted heads, shifted or not
        model.set_params(calibrate_quantiles=calibrate)
        inside = []
        for k in range(origins):
            end = length + k * h
            out = model.update(wide.iloc[:end]).predict()
            actual = wide.iloc[end : end + h].to_numpy()
            lo, hi = columns(out, wide.columns, "LSTM-q0.1"), columns(out, wide.columns, "LSTM-q0.9")
            assert (lo <= hi).all()
            inside.append((actual >= lo) & (actual <= hi))
        coverage[calibrate] = np.mean(inside)
    assert abs(coverage[True] - 0.80) <= 0.03, coverage
    assert coverage[False] < 0.5, coverage  # the heads alone are far too narrow


def test_point_forecast_is_the_same_with_and_without_calibration_or_the_median(air):
    params = dict(horizon=4, input_size=12, validation_fraction=0.3)
    calibrated = tiny(**params, quantiles=[0.1, 0.9]).fit(air).predict()
    raw = tiny(**params, quantiles=[0.1, 0.9], calibrate_quantiles=False).fit(air).predict()
    with_median = tiny(**params, quantiles=[0.1, 0.5, 0.9]).fit(air).predict()
    pd.testing.assert_series_equal(calibrated["LSTM"], raw["LSTM"])  # post hoc: identical
    pd.testing.assert_series_equal(calibrated["LSTM"], with_median["LSTM"])
    pd.testing.assert_series_equal(calibrated["LSTM-q0.9"], with_median["LSTM-q0.9"])
    pd.testing.assert_series_equal(with_median["LSTM-q0.5"], with_median["LSTM"], check_names=False)
    assert not np.allclose(calibrated["LSTM-q0.9"], raw["LSTM-q0.9"])  # the calibration moved it


def test_model_shift_is_the_conformal_shift_of_its_validation_errors(air):
    model = tiny(horizon=3, input_size=12, validation_fraction=0.3, quantiles=[0.2, 0.8]).fit(air)
    held_out = model.validation_residuals_
    assert held_out.quantile_residuals[0].shape == (held_out.residuals[0].shape[0], 3, 2)
    out = model.predict()
    raw = model.set_params(calibrate_quantiles=False).predict()
    errors = held_out.quantile_residuals[0]
    n = errors.shape[0]
    rank = int(np.ceil((n + 1) * 0.8))
    upper = np.sort(errors[:, :, 1], axis=0)[rank - 1]
    lower = -np.sort(-errors[:, :, 0], axis=0)[rank - 1]
    expected_hi = np.maximum(raw["LSTM-q0.8"].to_numpy() + upper, raw["LSTM"].to_numpy())
    expected_lo = np.minimum(raw["LSTM-q0.2"].to_numpy() + lower, raw["LSTM"].to_numpy())
    np.testing.assert_allclose(out["LSTM-q0.8"], expected_hi)
    np.testing.assert_allclose(out["LSTM-q0.2"], expected_lo)


def test_too_few_validation_windows_calibrate_on_refits(air):
    model = tiny(horizon=3, input_size=12, max_epochs=2, quantiles=[0.05, 0.5, 0.95]).fit(air)
    assert model.validation_residuals_.residuals[0].shape[0] < quantile_windows_needed(0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 19 refits give the windows 0.05 needs: no warning
        out = model.predict()
    refit = model.refit_calibration_
    assert refit.quantile_residuals[0].shape == (19, 3, 3)
    assert (out["LSTM-q0.05"] <= out["LSTM-q0.5"]).all() and (out["LSTM-q0.5"] <= out["LSTM-q0.95"]).all()
    # the refits calibrate the heads as trained: their quantiles were not calibrated in turn
    raw = model.set_params(calibrate_quantiles=False).predict()
    assert not np.allclose(out["LSTM-q0.95"], raw["LSTM-q0.95"])


def test_without_early_stopping_quantiles_calibrate_on_refits():
    y = pd.Series(ar1(120, seed=3) + 10, index=pd.date_range("2000-01-01", periods=120, freq="D"))
    model = tiny(horizon=2, input_size=6, season_length=1, early_stopping=False, max_epochs=2, quantiles=[0.25, 0.75])
    out = model.fit(y).predict()
    assert model.validation_residuals_ is None
    assert model.refit_calibration_.quantile_residuals[0].shape == (quantile_windows_needed(0.25), 2, 2)
    assert (out["LSTM-q0.25"] <= out["LSTM"]).all() and (out["LSTM"] <= out["LSTM-q0.75"]).all()


def test_prediction_intervals_refits_calibrate_the_quantiles_too(air):
    spec = ConformalIntervals(n_windows=10, step=1)
    model = tiny(horizon=3, input_size=12, max_epochs=2, quantiles=[0.1, 0.9], prediction_intervals=spec).fit(air)
    assert model.calibration_.quantile_residuals[0].shape == (10, 3, 2)
    out = model.predict()
    raw = model.set_params(calibrate_quantiles=False).predict()
    # 10 refit errors per step: the upper shift is the ceil(11 * 0.9) = 10th smallest (the largest)
    upper = model.calibration_.quantile_residuals[0][:, :, 1].max(axis=0)
    np.testing.assert_allclose(out["LSTM-q0.9"], np.maximum(raw["LSTM-q0.9"] + upper, raw["LSTM"]))


def test_save_and_load_keep_the_calibrated_quantiles_exactly(air, tmp_path):
    from tsrnn import load_forecaster

    model = tiny(horizon=3, input_size=12, max_epochs=2, quantiles=[0.05, 0.95]).fit(air)
    before = model.predict(level=80)  # refits for the 0.05/0.95 quantiles, kept in refit_calibration_
    model.save(tmp_path / "m.npz")
    loaded = load_forecaster(tmp_path / "m.npz")
    assert loaded.calibrate_quantiles is True
    np.testing.assert_array_equal(
        loaded.refit_calibration_.quantile_residuals[0], model.refit_calibration_.quantile_residuals[0]
    )
    np.testing.assert_array_equal(loaded.validation_residuals_.probabilities, [0.05, 0.95])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the saved refits are reused: nothing refits or warns
        pd.testing.assert_frame_equal(loaded.predict(level=80), before)


def test_held_out_only_calibration_without_validation_windows_says_what_to_do():
    y = pd.Series(ar1(80, seed=4) + 5, index=pd.date_range("2000-01-01", periods=80, freq="D"))
    spec = ConformalIntervals(n_windows=None)
    params = dict(horizon=2, input_size=6, season_length=1, early_stopping=False, max_epochs=1, quantiles=[0.2, 0.8])
    model = tiny(**params, prediction_intervals=spec).fit(y)
    with pytest.raises(ValueError, match=r"early_stopping=True .* calibrate_quantiles=False"):
        model.predict()
    raw = model.set_params(calibrate_quantiles=False).predict()  # the fix it names works
    assert list(raw.columns) == ["LSTM", "LSTM-q0.2", "LSTM-q0.8"]


def test_a_calibration_slices_by_series_with_its_quantile_errors():
    errors = [np.full((3, 2, 1), float(i)) for i in range(4)]
    calibration = Calibration([np.zeros((3, 2))] * 4, np.arange(1.0, 5.0), "test", np.array([0.9]), errors)
    part = calibration.take(1, 3)
    assert [r[0, 0, 0] for r in part.quantile_residuals] == [1.0, 2.0]
    np.testing.assert_array_equal(part.scale, [2.0, 3.0])
    assert len(part.residuals) == 2 and part.source == "test" and part.probabilities.tolist() == [0.9]
    assert Calibration([np.zeros((3, 2))], np.ones(1), "plain").take(0, 1).quantile_residuals is None
