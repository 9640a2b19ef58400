"""The chunked linear stage (issue 15): equal to a one-shot scikit-learn fit, bounded in memory.

The oracle is scikit-learn itself on every window at once: ``RidgeCV(alphas=ALPHAS)``
(its default efficient leave-one-out cross-validation) with at least 3 windows,
``Ridge(alpha=1.0)`` below. The forecaster tests fit the same model twice, once
through the chunked stage with tiny chunks and once through :func:`one_shot_linear_base`
(the stage as it was before it was chunked: every window materialised, sklearn's own
``predict``), and compare what comes out.
"""

import tracemalloc

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV

import tsrnn.forecasting.rnn as rnn_module
import tsrnn.forecasting.windows as windows_module
from tsrnn.datasets import load_airpassengers, load_macrodata
from tsrnn.forecasting import RNNForecaster
from tsrnn.forecasting.linear import ALPHAS, LinearBase, fit_linear_base
from tsrnn.forecasting.windows import SeriesWindows, base_offsets, window_starts


def random_windows(n, input_size=6, n_targets=3, seed=0):
    """Windows, levels and targets shaped like the stage's inputs, with signal to choose a penalty on."""
    rng = np.random.default_rng(seed)
    window = rng.standard_normal((n, input_size)).cumsum(axis=1)
    last = 2.0 + 3.0 * rng.standard_normal(n)
    y = 0.5 * window[:, -2:-1] - 0.2 * last[:, None] + rng.standard_normal((n, n_targets))
    return window, last, y


def sklearn_ridge(window, last, y, use_level):
    X = np.column_stack([window, last]) if use_level else window
    return (RidgeCV(alphas=ALPHAS) if len(X) >= 3 else Ridge(alpha=1.0)).fit(X, y)


def penalty(ridge):
    return ridge.alpha_ if isinstance(ridge, RidgeCV) else ridge.alpha


def assert_same_ridge(ridge, expected, score=True):
    assert type(ridge) is type(expected)
    assert penalty(ridge) == penalty(expected)
    assert np.shape(ridge.coef_) == np.shape(expected.coef_)
    assert np.shape(ridge.intercept_) == np.shape(expected.intercept_)
    np.testing.assert_allclose(ridge.coef_, expected.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ridge.intercept_, expected.intercept_, rtol=1e-8, atol=1e-12)
    assert ridge.n_features_in_ == expected.n_features_in_
    if score and isinstance(expected, RidgeCV):  # minus the chosen penalty's mean squared LOO error
        np.testing.assert_allclose(ridge.best_score_, expected.best_score_, rtol=1e-8)


# ------------------------------------------------------- equal to the one-shot sklearn fit


@pytest.mark.parametrize("use_level", [False, True])
@pytest.mark.parametrize("chunk_size", [1, 64, 97, 500, 501, 100_000])
@pytest.mark.parametrize("n_targets", [1, 3])
def test_chunked_fit_equals_one_shot_ridgecv(use_level, chunk_size, n_targets):
    """Chunks smaller than, dividing, not dividing, equal to and larger than the 500 windows."""
    window, last, y = random_windows(500, n_targets=n_targets)
    fitted = LinearBase(use_level).fit(window, last, y, chunk_size=chunk_size).ridge_
    assert_same_ridge(fitted, sklearn_ridge(window, last, y, use_level))


@pytest.mark.parametrize("seed", range(6))
def test_chosen_penalty_equals_ridgecv_across_the_grid(seed):
    """Signal to noise from none to nearly noiseless, so the chosen penalty spans the grid."""
    rng = np.random.default_rng(seed)
    window = rng.standard_normal((300, 8))
    y = window @ rng.standard_normal((8, 2)) * [0.0, 0.05, 0.3, 1.0, 5.0, 50.0][seed] + rng.standard_normal((300, 2))
    last = rng.standard_normal(300)
    chosen = set()
    for use_level in (False, True):
        expected = sklearn_ridge(window, last, y, use_level)
        assert_same_ridge(LinearBase(use_level).fit(window, last, y, chunk_size=37).ridge_, expected)
        chosen.add(expected.alpha_)
    assert chosen <= set(ALPHAS)


def test_a_constant_column_and_a_large_mean_change_nothing():
    """A window relative to its last value has an all-zero last column (a zero eigenvalue of
    the Gram matrix), and levels far from 0 must not cost digits (the chunks are centred)."""
    window, last, y = random_windows(400, n_targets=2, seed=3)
    window = window - window[:, -1:]
    last = last + 1e4
    for use_level in (False, True):
        fitted = LinearBase(use_level).fit(window, last, y, chunk_size=33).ridge_
        assert_same_ridge(fitted, sklearn_ridge(window, last, y, use_level))


@pytest.mark.parametrize("n", [1, 2, 3, 6, 7, 8, 20])
def test_few_windows_equal_sklearn(n):
    """< 3 windows: Ridge(alpha=1); no more windows than features: RidgeCV on all of them."""
    window, last, y = random_windows(n, input_size=6, n_targets=2, seed=n)
    for use_level in (False, True):
        fitted = LinearBase(use_level).fit(window, last, y, chunk_size=2).ridge_
        assert_same_ridge(fitted, sklearn_ridge(window, last, y, use_level))


def test_predict_equals_sklearn_predict():
    window, last, y = random_windows(200, n_targets=1)
    for use_level in (False, True):
        linear = LinearBase(use_level).fit(window, last, y)
        expected = sklearn_ridge(window, last, y, use_level)
        X = np.column_stack([window, last]) if use_level else window
        np.testing.assert_allclose(linear.predict(window, last), expected.predict(X).reshape(200, -1), rtol=1e-8)
        assert linear.predict(window, last).shape == (200, 1)


# ----------------------------------------------------------- on series windows


def series_windows(n_series=40, length=80, input_size=12, horizon=4, season=6, seed=0, validation_fraction=0.2):
    """Training and validation windows of random-walk series with a season, as RNNForecaster builds them."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    values = (rng.standard_normal((n_series, length)).cumsum(axis=1) + 3 * np.sin(2 * np.pi * t / season)).ravel()
    indptr = np.arange(n_series + 1) * length
    features = values[:, None].astype(np.float32)
    train, val = window_starts(indptr, input_size, horizon, validation_fraction)
    layout = dict(input_size=input_size, horizon=horizon, base_offsets=base_offsets(horizon, season))
    return SeriesWindows(features, values, train, **layout), SeriesWindows(features, values, val, **layout)


def one_shot_linear_base(kind, train, validation):
    """The linear stage before issue 15, as the oracle: all windows at once, sklearn's predict."""
    window, last, y = train.linear_inputs(np.arange(train.n_samples))
    candidates = {"changes": [False], "levels": [True], "auto": [False, True]}[kind]
    fitted = [OneShotLinear(use_level).fit(window, last, y) for use_level in candidates]
    if validation is None or len(candidates) == 1:
        fitted[0].validation_mse_ = None
        return fitted[0]
    v_window, v_last, v_y = validation.linear_inputs(np.arange(validation.n_samples))
    errors = [float(np.mean((m.predict(v_window, v_last) - v_y) ** 2)) for m in fitted]
    linear = fitted[int(np.argmin(errors))]
    linear.validation_mse_ = dict(zip(["changes", "levels"], errors))
    return linear


class OneShotLinear:
    def __init__(self, use_level):
        self.use_level = use_level

    def fit(self, window, last, y):
        self.ridge_ = sklearn_ridge(window, last, y, self.use_level)
        return self

    def predict(self, window, last):
        X = np.column_stack([window, last]) if self.use_level else window
        return self.ridge_.predict(X).reshape(len(window), -1)


@pytest.mark.parametrize("kind", ["auto", "changes", "levels"])
@pytest.mark.parametrize("chunk_size", [50, 333, 10_000])
def test_fit_linear_base_on_series_windows_equals_one_shot(kind, chunk_size):
    train, validation = series_windows()
    assert train.n_samples > 2 * 333 and validation.n_samples > 50  # several chunks of each
    linear = fit_linear_base(kind, train, validation, chunk_size=chunk_size)
    expected = one_shot_linear_base(kind, train, validation)
    assert linear.use_level == expected.use_level
    assert_same_ridge(linear.ridge_, expected.ridge_)
    if kind == "auto":
        assert set(linear.validation_mse_) == {"changes", "levels"}
        for name, mse in expected.validation_mse_.items():
            assert linear.validation_mse_[name] == pytest.approx(mse, rel=1e-10)
    else:
        assert linear.validation_mse_ is None
    # auto without validation windows reads changes only
    alone = fit_linear_base("auto", train, None, chunk_size=chunk_size)
    assert alone.use_level is False and alone.validation_mse_ is None


def test_training_targets_in_chunks_equal_one_shot(monkeypatch):
    """A batch larger than a chunk (the validation set is one batch) gets the same targets."""
    train, validation = series_windows()
    linear = fit_linear_base("levels", train, validation)
    idx = np.arange(validation.n_samples)
    validation.linear_base = None
    X_plain, y_plain = validation.batch(idx)
    validation.linear_base = linear
    X_whole, y_whole = validation.batch(idx)
    monkeypatch.setattr(windows_module, "BATCH_CHUNK", 7)
    X_chunked, y_chunked = validation.batch(idx)
    np.testing.assert_array_equal(X_chunked, X_whole)
    np.testing.assert_array_equal(X_whole, X_plain)  # the linear stage changes only the targets
    # the same products over fewer rows: BLAS may round the last bit differently
    np.testing.assert_allclose(y_chunked, y_whole, rtol=0, atol=1e-12)
    window, last, _ = validation.linear_inputs(idx)
    np.testing.assert_allclose(y_whole, y_plain - linear.predict(window, last), rtol=0, atol=1e-12)
    assert X_chunked.flags.c_contiguous and X_chunked.shape == (12, validation.n_samples, 1)


# --------------------------------------------------------------- the forecaster


CASES = {
    "airpassengers": (load_airpassengers, dict(horizon=12)),
    "macrodata": (load_macrodata, dict(horizon=4, input_size=8)),
    "macrodata-recursive": (load_macrodata, dict(horizon=4, input_size=8, strategy="recursive")),
}


def column(frame, model):
    """The point forecast of ``model`` in a predict()/predict_in_sample() result, as floats."""
    return np.asarray(frame[model.alias] if getattr(frame, "ndim", 1) == 2 else frame, dtype=float)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", ["auto", "levels"])
def test_forecasts_equal_the_one_shot_linear_stage(case, kind, monkeypatch):
    """Forecasts, in-sample fits and calibration residuals of the chunked path (tiny chunks
    everywhere) equal those of a model whose linear stage is the one-shot sklearn fit."""
    load, params = CASES[case]
    y = load()
    params = dict(cell="gru", hidden_size=8, max_epochs=3, dtype="float64", random_state=0, linear_base=kind, **params)

    with monkeypatch.context() as patched:
        patched.setattr(rnn_module, "fit_linear_base", one_shot_linear_base)
        expected = RNNForecaster(**params).fit(y)
        expected_forecast = expected.predict()
        expected_in_sample = expected.predict_in_sample()

    real_fit = fit_linear_base
    monkeypatch.setattr(rnn_module, "fit_linear_base", lambda *a: real_fit(*a, chunk_size=13))
    monkeypatch.setattr(windows_module, "BATCH_CHUNK", 5)
    monkeypatch.setattr(RNNForecaster, "_in_sample_chunk", 11)
    model = RNNForecaster(**params).fit(y)

    assert model.linear_base_.use_level == expected.linear_base_.use_level
    assert_same_ridge(model.linear_base_.ridge_, expected.linear_base_.ridge_)
    np.testing.assert_allclose(column(model.predict(), model), column(expected_forecast, model), rtol=1e-9)
    in_sample = column(model.predict_in_sample(), model)
    assert np.isfinite(in_sample).sum() > 0
    np.testing.assert_allclose(in_sample, column(expected_in_sample, model), rtol=1e-9)
    for got, want in zip(model.validation_residuals_.residuals, expected.validation_residuals_.residuals):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-9)


def test_saved_linear_stage_loads_back(tmp_path):
    model = RNNForecaster(hidden_size=8, max_epochs=2, horizon=12, random_state=0).fit(load_airpassengers())
    path = tmp_path / "model.npz"
    model.save(path)
    from tsrnn import load_forecaster

    loaded = load_forecaster(path)
    assert_same_ridge(loaded.linear_base_.ridge_, model.linear_base_.ridge_, score=False)  # not saved
    np.testing.assert_array_equal(loaded.predict().to_numpy(), model.predict().to_numpy())


# ------------------------------------------------------------------- memory


def test_linear_stage_memory_does_not_grow_with_the_windows():
    """400k windows: the fit and the validation error of 'auto' (both candidates) hold far
    less than one float64 copy of the windows; the one-shot fit held several."""
    n_series, length, input_size, horizon = 1000, 436, 28, 7
    rng = np.random.default_rng(0)
    values = rng.standard_normal(n_series * length).cumsum()
    indptr = np.arange(n_series + 1) * length
    train_starts, val_starts = window_starts(indptr, input_size, horizon, 0.1)
    layout = dict(input_size=input_size, horizon=horizon, base_offsets=base_offsets(horizon, 7))
    features = values[:, None].astype(np.float32)
    train = SeriesWindows(features, values, train_starts, **layout)
    validation = SeriesWindows(features, values, val_starts, **layout)
    nominal = (train.n_samples + validation.n_samples) * input_size * 8  # the windows in float64
    assert train.n_samples > 350_000 and nominal > 80e6

    tracemalloc.start()
    try:
        linear = fit_linear_base("auto", train, validation, chunk_size=4096)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert linear.validation_mse_ is not None
    # 4096-window chunks need ~8 MB (0.09x); the one-shot fit before issue 15 took 6.2x `nominal`
    assert peak < 0.25 * nominal, f"peak {peak / 1e6:.0f} MB for {nominal / 1e6:.0f} MB of windows"
