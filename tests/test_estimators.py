"""scikit-learn contract and behaviour of the recurrent regressors."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from tsrnn import GRURegressor, LSTMRegressor, RNNClassifier, RNNRegressor, load_model

from ._checks import expected_failed_checks


def noisy_sine_windows(n=700, window=24, horizon=6, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    series = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 9) + noise * rng.standard_normal(n)
    X = np.lib.stride_tricks.sliding_window_view(series, window)[: n - window - horizon + 1]
    y = np.lib.stride_tricks.sliding_window_view(series[window:], horizon)
    return X, y[: len(X)]


# Small and quick; no early stopping, whose 20-sample validation split is too noisy for the
# 200-sample dataset of check_regressors_train.
SMALL = dict(hidden_size=8, max_epochs=60, learning_rate=0.02, batch_size=32, early_stopping=False, random_state=0)


@parametrize_with_checks(
    [
        LSTMRegressor(**SMALL),
        GRURegressor(**SMALL),
        RNNRegressor(cell="rnn", **SMALL),
        LSTMRegressor(dtype="float64", **SMALL),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(
    [LSTMRegressor(), GRURegressor(), RNNRegressor(), RNNClassifier()],
    expected_failed_checks=expected_failed_checks,
)
def test_default_estimators_pass_every_check(estimator, check):
    """Default-constructed, as a user gets them: they learn the checks' small problems too
    (check_regressors_train needs training R^2 > 0.5; early_stopping='auto' trains without a
    20-sample validation split there)."""
    check(estimator)


def test_auto_early_stopping_holds_out_a_validation_set_from_1000_samples():
    rng = np.random.default_rng(0)
    for n, expected in [(999, False), (1000, True)]:
        X, y = rng.standard_normal((n, 3)), rng.standard_normal(n)
        model = GRURegressor(hidden_size=2, max_epochs=2, random_state=0).fit(X, y)
        assert (model.validation_loss_curve_ is not None and len(model.validation_loss_curve_) > 0) == expected
    with pytest.raises(ValueError, match="early_stopping"):
        GRURegressor(early_stopping="sometimes").fit(X, y)


def test_lstm_learns_noisy_sine_to_r2_095():
    X, y = noisy_sine_windows()
    split = int(0.8 * len(X))
    model = LSTMRegressor(hidden_size=32, learning_rate=0.01, max_epochs=150, early_stopping=True, random_state=0)
    model.fit(X[:split], y[:split])
    assert model.score(X[split:], y[split:]) >= 0.95
    assert model.predict(X[split:]).shape == (len(X) - split, 6)
    assert 1 <= model.n_iter_ <= 150 and len(model.loss_curve_) == model.n_iter_
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_loss_ == min(model.validation_loss_curve_)


@pytest.mark.parametrize("Estimator", [LSTMRegressor, GRURegressor])
def test_same_random_state_gives_identical_models(Estimator):
    X, y = noisy_sine_windows(n=200)
    kwargs = dict(hidden_size=8, max_epochs=5, dropout=0.0, random_state=3)
    a = Estimator(**kwargs).fit(X, y)
    b = Estimator(**kwargs).fit(X, y)
    np.testing.assert_array_equal(a.network_.params, b.network_.params)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = Estimator(**{**kwargs, "random_state": 4}).fit(X, y)
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_pipeline_and_grid_search_with_time_series_split():
    X, y = noisy_sine_windows(n=300)
    pipe = Pipeline(
        [("scale", FunctionTransformer(lambda a: a / 2.0)), ("rnn", GRURegressor(max_epochs=10, random_state=0))]
    )
    search = GridSearchCV(pipe, {"rnn__hidden_size": [4, 8]}, cv=TimeSeriesSplit(n_splits=2))
    search.fit(X, y)
    assert search.best_params_["rnn__hidden_size"] in (4, 8)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(X[:3]).shape == (3, 6)


def test_three_d_input_with_several_features(rng):
    X = rng.standard_normal((120, 10, 3))
    y = X[:, -1, 0] + 0.5 * X[:, -2, 1]
    model = RNNRegressor(cell="gru", hidden_size=16, learning_rate=0.02, max_epochs=60, random_state=0).fit(X, y)
    assert model.n_features_in_ == 3 and model.predict(X).shape == (120,)
    assert model.score(X, y) > 0.8
    with pytest.raises(ValueError, match="2 features per step, but RNNRegressor is expecting 3"):
        model.predict(X[:, :, :2])


def test_quantile_loss_gives_ordered_calibrated_quantiles(rng):
    X = rng.standard_normal((600, 5))
    y = X[:, -1] + rng.standard_normal(600)
    model = LSTMRegressor(
        loss="quantile", quantiles=[0.9, 0.1, 0.5], hidden_size=8, learning_rate=0.02, max_epochs=60, random_state=0
    ).fit(X, y)
    q = model.predict_quantiles(X)
    assert q.shape == (600, 1, 3)
    assert np.all(np.diff(q, axis=2) >= 0)
    coverage = np.mean((y >= q[:, 0, 0]) & (y <= q[:, 0, 2]))
    assert 0.65 <= coverage <= 0.95
    np.testing.assert_array_equal(model.predict(X), q[:, 0, 1])


def test_parameter_errors_name_the_problem():
    X, y = noisy_sine_windows(n=100)
    with pytest.raises(
        ValueError,
        match=r"The 'hidden_size' parameter of LSTMRegressor must be an int in the range \[1, inf\)\. Got 0 instead\.",
    ):
        LSTMRegressor(hidden_size=0).fit(X, y)
    with pytest.raises(ValueError, match="The 'optimizer' parameter of GRURegressor must be a str among"):
        GRURegressor(optimizer="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="loss='quantile' and quantiles go together"):
        LSTMRegressor(loss="quantile").fit(X, y)
    with pytest.raises(ValueError, match="applies to cell='rnn' only"):
        RNNRegressor(cell="lstm", activation="relu").fit(X, y)


def test_device_without_a_gpu(rng):
    """'cuda' without a usable GPU: one error naming what is missing, and the model unchanged;
    'auto' trains on the CPU. (The CUDA fits themselves: tests/nn/test_device_training.py.)"""
    from tsrnn.kernels import cuda_usable

    if cuda_usable():
        pytest.skip("numba.cuda is usable here (a GPU or the simulator)")
    X, y = rng.standard_normal((20, 5, 1)), rng.standard_normal(20)
    model = LSTMRegressor(device="cuda", max_epochs=2, random_state=0)
    with pytest.raises(RuntimeError, match="device='cuda' needs"):
        model.fit(X, y)
    assert not hasattr(model, "network_")
    auto = LSTMRegressor(device="auto", max_epochs=2, random_state=0).fit(X, y)
    cpu = LSTMRegressor(max_epochs=2, random_state=0).fit(X, y)
    assert auto.device_ == "cpu"
    np.testing.assert_array_equal(auto.predict(X), cpu.predict(X))


def test_bad_data_errors(rng):
    X, y = noisy_sine_windows(n=100)
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LSTMRegressor(max_epochs=1).fit(bad, y)
    with pytest.raises(ValueError, match="different numbers of samples"):
        LSTMRegressor(max_epochs=1).fit(X, y[:-1])
    with pytest.raises(ValueError, match="1D array"):
        LSTMRegressor(max_epochs=1).fit(X[:, 0], y)
    model = LSTMRegressor(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="inf"):
        model.predict(np.full_like(X, np.inf))


def test_divergence_restores_best_weights_or_raises(rng):
    X, y = noisy_sine_windows(n=200)
    with pytest.raises(FloatingPointError, match="Training diverged"):
        RNNRegressor(
            cell="rnn",
            activation="relu",
            optimizer="sgd",
            learning_rate=1e30,
            clip_norm=None,
            max_epochs=3,
            random_state=0,
        ).fit(X * 1e20, y)


def test_partial_fit_and_warm_start_continue_training():
    X, y = noisy_sine_windows(n=200)
    model = GRURegressor(hidden_size=8, random_state=0)
    for _ in range(3):
        model.partial_fit(X, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    first = GRURegressor(hidden_size=8, max_epochs=3, early_stopping=False, warm_start=True, random_state=0).fit(X, y)
    before = first.network_.params.copy()
    first.fit(X, y)
    assert first.n_iter_ == 6
    assert not np.array_equal(before, first.network_.params)
    with pytest.raises(ValueError, match="targets"):
        model.partial_fit(X, y[:, :2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_and_pickle_give_identical_predictions(tmp_path, dtype):
    X, y = noisy_sine_windows(n=150)
    model = RNNRegressor(cell="gru", hidden_size=8, max_epochs=3, dtype=dtype, random_state=0).fit(X, y)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = load_model(path)
    assert type(loaded) is RNNRegressor and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))


DATA = Path(__file__).parent / "data"


def test_files_saved_by_earlier_versions_still_load():
    # lstm_format1.npz: format version 1, written before persistence had its own module, by
    # LSTMRegressor(hidden_size=4, max_epochs=3, dtype="float64", random_state=0) fitted on a
    # DataFrame of 6 lags of sin(0.3 t); the .npy holds its predictions for the first 5 rows.
    t = np.arange(80.0)
    X = np.lib.stride_tricks.sliding_window_view(np.sin(0.3 * t), 6)[:5]
    frame = pd.DataFrame(X, columns=[f"lag{k}" for k in range(6, 0, -1)])
    model = load_model(DATA / "lstm_format1.npz")
    assert type(model) is LSTMRegressor and model.hidden_size == 4 and model.dtype == "float64"
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    # to rounding, not bit for bit: the stored predictions came from the kernels of that time
    np.testing.assert_allclose(model.predict(frame), np.load(DATA / "lstm_format1_predictions.npy"), rtol=1e-12)


def test_a_loaded_model_continues_training(tmp_path):
    X, y = noisy_sine_windows(n=150)
    model = GRURegressor(hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    loaded.partial_fit(X, y)  # a fresh optimizer: the file keeps none
    assert loaded.n_iter_ == 1 and not np.array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="format version 99, newer than this tsrnn reads"):
        np.savez(tmp_path / "other.npz", params=np.zeros(3), meta=np.array('{"format_version": 99}'))
        load_model(tmp_path / "other.npz")


def test_foreign_files_are_refused_without_advising_unsafe_loading(tmp_path):
    from tsrnn import load_forecaster

    readme = Path(__file__).resolve().parents[1] / "README.md"
    short = tmp_path / "short.npz"
    short.write_bytes(b"PK\x03")  # a zip signature cut short
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array("{}"), params=np.array([{"x": 1}], dtype=object))
    cases = [
        (readme, "is not a readable tsrnn {kind} file: it is not a NumPy .npz archive"),
        (short, "is not a readable tsrnn {kind} file: it is not a NumPy .npz archive"),
        (pickled, "is not a readable tsrnn {kind} file: it holds pickled \\(object\\) data, which tsrnn never loads"),
    ]
    for path, message in cases:
        for load, kind in ((load_model, "model"), (load_forecaster, "forecaster")):
            with pytest.raises(ValueError, match=message.format(kind=kind)) as caught:
                load(path)
            text = str(caught.value)
            assert str(path) in text and "allow_pickle" not in text and "unsafe" not in text


def test_regressors_are_siblings_with_explicit_parameters():
    assert not issubclass(GRURegressor, LSTMRegressor) and not issubclass(LSTMRegressor, RNNRegressor)
    lstm, gru = LSTMRegressor(hidden_size=3), GRURegressor(hidden_size=3)
    assert lstm.get_params() == gru.get_params() and "cell" not in lstm.get_params()
    assert set(RNNRegressor().get_params()) == set(lstm.get_params()) | {"cell", "activation"}
    assert (lstm.cell, gru.cell) == ("lstm", "gru")


def test_dataframe_input_keeps_feature_names():
    X, y = noisy_sine_windows(n=120, window=5, horizon=1)
    frame = pd.DataFrame(X, columns=[f"lag{k}" for k in range(5, 0, -1)])
    model = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(frame, y.ravel())
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(frame)


def test_float64_training_matches_float32_closely():
    X, y = noisy_sine_windows(n=200)
    kwargs = dict(hidden_size=8, max_epochs=3, early_stopping=False, random_state=0)
    p32 = LSTMRegressor(dtype="float32", **kwargs).fit(X, y).predict(X)
    p64 = LSTMRegressor(dtype="float64", **kwargs).fit(X, y).predict(X)
    np.testing.assert_allclose(p32, p64, rtol=1e-3, atol=1e-3)
