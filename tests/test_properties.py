"""Property-based tests (hypothesis): every public call on generated inputs returns finite
output of the right shape and index, or raises the documented exception type with a message.

The default profile keeps the examples few (the suite stays fast); set
``TSRNN_HYPOTHESIS_PROFILE=long`` for a thorough run (``ci`` is the default).
"""

import os
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from tsrnn import LSTMRegressor, RNNClassifier, RNNForecaster, RNNRegressor, load_forecaster, load_model
from tsrnn.forecasting import Naive, SeasonalNaive
from tsrnn.metrics import coverage, interval_score, mae, mase, rmse, smape

settings.register_profile(
    "ci", max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("long", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("TSRNN_HYPOTHESIS_PROFILE", "ci"))

FREQUENCIES = ["D", "W-SUN", "MS", "QS-DEC", "YS", "h"]
DOCUMENTED = (ValueError, TypeError, NotFittedError)

# values of any magnitude float64 can hold, as the series or the sequences carry them
MAGNITUDES = st.sampled_from([1e-300, 1e-6, 1.0, 1e6, 1e300])
UNIT_VALUES = st.floats(-1.0, 1.0, allow_nan=False, width=64)


@st.composite
def series_values(draw, min_size=1, max_size=60):
    n = draw(st.integers(min_size, max_size))
    values = np.array(draw(st.lists(UNIT_VALUES, min_size=n, max_size=n))) * draw(MAGNITUDES)
    return values + draw(st.sampled_from([0.0, 1.0, -1e3])) * draw(MAGNITUDES)


@st.composite
def panels(draw):
    """(y, layout, lengths, freq): a Series, a wide frame or a long frame (series of unequal lengths)."""
    freq = draw(st.sampled_from(FREQUENCIES))
    layout = draw(st.sampled_from(["series", "wide", "long"]))
    n_series = 1 if layout == "series" else draw(st.integers(1, 3))
    values = [draw(series_values()) for _ in range(n_series)]
    if layout != "long":
        n = min(len(v) for v in values)
        values = [v[:n] for v in values]
    start = pd.Timestamp("2001-01-01")
    if layout == "series":
        y = pd.Series(values[0], index=pd.date_range(start, periods=len(values[0]), freq=freq), name="s")
    elif layout == "wide":
        index = pd.date_range(start, periods=len(values[0]), freq=freq)
        y = pd.DataFrame({f"s{k}": v for k, v in enumerate(values)}, index=index)
    else:
        y = pd.concat(
            [
                pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range(start, periods=len(v), freq=freq), "y": v})
                for k, v in enumerate(values)
            ],
            ignore_index=True,
        )
    return y, layout, [len(v) for v in values], freq


def _check_forecast(out, y, layout, freq, horizon, alias):
    """The forecast has the future index of every series, in order, with finite values."""
    if layout == "series":
        assert isinstance(out, pd.Series) and out.name == alias
        expected = pd.date_range(y.index[-1], periods=horizon + 1, freq=freq)[1:]
        pd.testing.assert_index_equal(out.index, expected, check_names=False)
    elif layout == "wide":
        assert list(out.columns) == list(y.columns)
        expected = pd.date_range(y.index[-1], periods=horizon + 1, freq=freq)[1:]
        pd.testing.assert_index_equal(out.index, expected, check_names=False)
    else:
        assert list(out.columns) == ["unique_id", "ds", alias]
        for uid, rows in out.groupby("unique_id", sort=False):
            last = y.loc[y["unique_id"] == uid, "ds"].iloc[-1]
            expected = pd.date_range(last, periods=horizon + 1, freq=freq)[1:]
            np.testing.assert_array_equal(rows["ds"].to_numpy(), expected.to_numpy())
        assert list(out["unique_id"].unique()) == list(y["unique_id"].unique())
    numbers = out if isinstance(out, pd.Series) else out.select_dtypes("number")
    assert np.isfinite(np.asarray(numbers, dtype=float)).all()


@given(panels(), st.integers(1, 6), st.integers(1, 4), st.booleans())
def test_naive_baselines_forecast_or_say_why(panel, horizon, season_length, seasonal):
    y, layout, lengths, freq = panel
    model = SeasonalNaive(season_length=season_length) if seasonal else Naive()
    needed = season_length if seasonal else 1
    if min(lengths) < needed:
        with pytest.raises(ValueError, match="needs at least"):
            model.fit(y)
        return
    _check_forecast(model.fit(y).predict(horizon), y, layout, freq, horizon, model.alias)


@given(panels(), st.integers(1, 4), st.integers(2, 6), st.sampled_from(["lstm", "gru", "rnn"]))
def test_the_network_forecaster_forecasts_or_says_why(panel, horizon, input_size, cell):
    y, layout, lengths, freq = panel
    model = RNNForecaster(
        cell=cell, horizon=horizon, input_size=input_size, base_forecast="naive", hidden_size=3, max_epochs=1
    )
    try:
        out = model.fit(y).predict()
    except DOCUMENTED as error:
        # the only documented refusal on finite data: too little of it for one window
        assert min(lengths) < input_size + horizon and "needs at least" in str(error), error
        return
    assert min(lengths) >= input_size + horizon
    _check_forecast(out, y, layout, freq, horizon, model.alias)


@given(panels(), st.integers(0, 59))
def test_non_finite_values_are_refused_where_they_are(panel, position):
    y, layout, _, _ = panel
    y = y.copy()
    column = "y" if layout == "long" else None
    if layout == "series":
        y.iloc[position % len(y)] = np.nan
    elif layout == "wide":
        y.iloc[position % len(y), 0] = np.inf
    else:
        y.loc[position % len(y), column] = -np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        SeasonalNaive(season_length=1).fit(y)


@given(
    st.integers(2, 12),
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(0, 2),
    MAGNITUDES,
    st.sampled_from(["lstm", "gru", "rnn"]),
)
def test_regressors_predict_finite_outputs_of_the_target_shape(n, T, D, k, magnitude, cell):
    rng = np.random.default_rng(n * 100 + T * 10 + D)
    X = rng.standard_normal((n, T, D)) * magnitude
    y = rng.standard_normal((n, k) if k else n)
    model = RNNRegressor(cell=cell, hidden_size=3, max_epochs=2, random_state=0)
    if magnitude > np.finfo(np.float32).max:  # the default dtype cannot hold them: said, not cast to inf
        with pytest.raises(ValueError, match="too large for dtype\\('float32'\\)"):
            model.fit(X, y)
        model.set_params(dtype="float64")
    elif np.max(np.abs(X)) < np.finfo(np.float32).tiny:  # nor flushed to zero
        with pytest.raises(ValueError, match="float32 keeps no precision"):
            model.fit(X, y)
        model.set_params(dtype="float64")
    pred = model.fit(X, y).predict(X[: n // 2 + 1])
    assert pred.shape == ((n // 2 + 1, k) if k else (n // 2 + 1,))
    assert np.isfinite(pred).all()


LABEL_SETS = st.sampled_from([["a", "b"], ["no", "yes", "maybe"], [3, 7, 11, 2], [1.0, -2.0], [True, False]])


@given(st.integers(4, 20), st.integers(2, 5), LABEL_SETS)
def test_the_classifier_returns_probabilities_over_its_classes(n, T, labels):
    rng = np.random.default_rng(n + T)
    X = rng.standard_normal((n, T))
    y = np.array([labels[i % len(labels)] for i in range(n)])
    model = RNNClassifier(hidden_size=3, max_epochs=2, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (n, len(model.classes_)) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(model.predict(X)) <= set(model.classes_)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
    st.floats(-10, 10, allow_nan=False),
    st.integers(1, 4),
)
def test_metrics_are_finite_non_negative_or_nan_by_rule(values, shift, season_length):
    y_true = np.array(values)
    y_pred = y_true + shift
    for metric in (mae, rmse):
        assert metric(y_true, y_pred) == pytest.approx(abs(shift), rel=1e-6, abs=1e-6)
    assert 0.0 <= smape(y_true, y_pred) <= 200.0 * (1 + 1e-12)
    lo, hi = y_pred - 1.0, y_pred + 1.0
    assert 0.0 <= coverage(y_true, lo, hi) <= 1.0
    assert interval_score(y_true, lo, hi, level=80) >= 2.0 - 1e-9  # at least the width
    train = np.r_[y_true, y_true[::-1]]
    if len(train) <= season_length:
        with pytest.raises(ValueError, match="longer than season_length"):
            mase(y_true, y_pred, train, season_length=season_length)
        return
    score = mase(y_true, y_pred, train, season_length=season_length)
    scale = np.mean(np.abs(train[season_length:] - train[:-season_length]))
    if scale > 0:
        assert score == pytest.approx(abs(shift) / scale, rel=1e-6)
    else:  # undefined, and says so: x / 0 is inf, 0 / 0 NaN (never a number that ranks)
        assert np.isinf(score) if shift else np.isnan(score)


@given(panels(), st.sampled_from(["naive", "rnn"]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_save_and_load_forecast_exactly(tmp_path_factory, panel, kind):
    y, _, lengths, _ = panel
    if kind == "naive":
        model = SeasonalNaive(season_length=1)
    else:
        model = RNNForecaster(horizon=2, input_size=2, base_forecast="naive", hidden_size=3, max_epochs=1)
        if min(lengths) < 6:
            return
    model.fit(y)
    path = tmp_path_factory.mktemp("m") / "model.npz"
    model.save(path)
    out, loaded = model.predict(2), load_forecaster(path).predict(2)
    if isinstance(out, pd.Series):
        pd.testing.assert_series_equal(loaded, out)
    else:
        pd.testing.assert_frame_equal(loaded, out)


@given(st.integers(3, 10), st.integers(1, 4))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_regressors_save_load_and_predict_from_threads_as_in_serial(tmp_path_factory, n, T):
    rng = np.random.default_rng(n * T)
    X, y = rng.standard_normal((n, T, 2)), rng.standard_normal(n)
    model = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("r") / "model.npz"
    model.save(path)
    expected = model.predict(X)
    np.testing.assert_array_equal(load_model(path).predict(X), expected)
    results = [None] * 4

    def run(i):
        results[i] = [model.predict(X) for _ in range(5)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for per_thread in results:
        for pred in per_thread:
            np.testing.assert_array_equal(pred, expected)
