"""Reliability: a fit, partial_fit or update that raises or is interrupted leaves the model as it was;
warm_start refuses changes the fitted network cannot take; load_model names what is wrong with a file."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tsrnn import LSTMRegressor, RNNForecaster, load_model
from tsrnn.forecasting import SeasonalNaive
from tsrnn.nn import RecurrentNetwork


def _windows(n=120, window=12, n_features=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n + window)
    series = np.sin(0.3 * t)[:, None] + 0.05 * rng.standard_normal((n + window, n_features))
    X = np.stack([series[i : i + window] for i in range(n)])
    return X, series[window : window + n, 0]


def _interrupt_after(monkeypatch, n_calls):
    """Make training raise KeyboardInterrupt (as Ctrl-C would) from inside the epoch loop."""
    original, calls = RecurrentNetwork.loss_and_grad, []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > n_calls:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RecurrentNetwork, "loss_and_grad", interrupted)


def _state(model):
    return {k: (v.params.copy() if isinstance(v, RecurrentNetwork) else v) for k, v in vars(model).items()}


# -- regressors ------------------------------------------------------------------------------


def test_failed_refit_keeps_the_fitted_regressor():
    X, y = _windows()
    model = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    before, params = model.predict(X), model.network_.params.copy()
    X3, y3 = _windows(n_features=3)
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.fit(X3, y3[:-5])
    with pytest.raises(ValueError, match="early_stopping needs at least 2 samples"):
        model.set_params(early_stopping=True).fit(X3[:1], y3[:1])
    assert model.n_features_in_ == 1
    with pytest.raises(ValueError, match="is expecting 1 features"):
        model.predict(X3)  # was accepted on the 1-feature network after a failed refit
    np.testing.assert_array_equal(model.predict(X), before)
    np.testing.assert_array_equal(model.network_.params, params)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "warm_start"])
def test_interrupted_training_keeps_the_fitted_regressor(monkeypatch, method):
    X, y = _windows()
    model = LSTMRegressor(hidden_size=4, max_epochs=3, random_state=0).fit(X, y)
    model.partial_fit(X, y)  # a training history to continue
    before, state = model.predict(X), _state(model)
    history = model._history
    _interrupt_after(monkeypatch, 1)
    if method == "warm_start":
        model.set_params(warm_start=True)
        state["warm_start"] = True
    with pytest.raises(KeyboardInterrupt):
        (model.partial_fit if method == "partial_fit" else model.fit)(X, y)
    assert model._history is history and history.n_iter == 4  # the optimizer state did not advance
    np.testing.assert_array_equal(model.predict(X), before)
    after = _state(model)
    assert after.keys() == state.keys()
    np.testing.assert_array_equal(after.pop("network_"), state.pop("network_"))
    assert after == state


def test_failed_first_fit_leaves_the_regressor_unfitted(monkeypatch):
    X, y = _windows()
    model = LSTMRegressor(hidden_size=4, max_epochs=2)
    _interrupt_after(monkeypatch, 0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert not hasattr(model, "n_features_in_") and not hasattr(model, "network_")
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_warm_start_refuses_a_changed_network_and_applies_a_changed_learning_rate():
    X, y = _windows()
    model = LSTMRegressor(hidden_size=4, max_epochs=2, warm_start=True, random_state=0).fit(X, y)
    params = model.network_.params.copy()
    for change in (dict(hidden_size=8), dict(num_layers=2), dict(optimizer="sgd"), dict(dtype="float64")):
        name = next(iter(change))
        original = {name: model.get_params()[name]}
        with pytest.raises(ValueError, match=f"cannot take changed {name}="):
            model.set_params(**change).fit(X, y)
        with pytest.raises(ValueError, match=f"{name}="):
            model.partial_fit(X, y)
        model.set_params(**original)
    np.testing.assert_array_equal(model.network_.params, params)
    model.set_params(learning_rate=0.05).fit(X, y)
    assert model._history.optimizer.learning_rate == 0.05
    model.set_params(warm_start=False, hidden_size=8).fit(X, y)  # a new network: allowed
    assert model.network_.hidden_size == 8


# -- forecasters -----------------------------------------------------------------------------


@pytest.fixture
def monthly():
    t = np.arange(96)
    return pd.Series(100 + 10 * np.sin(2 * np.pi * t / 12) + t, index=pd.date_range("2000-01", periods=96, freq="MS"))


def test_failed_or_interrupted_refit_keeps_the_fitted_forecaster(monkeypatch, monthly):
    model = RNNForecaster(horizon=6, hidden_size=8, max_epochs=3, random_state=0).fit(monthly)
    before, keys = model.predict(), set(vars(model))
    with pytest.raises(ValueError, match="observations"):
        model.fit(monthly[:10])  # too short
    pd.testing.assert_series_equal(model.predict(), before)
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        model.fit(monthly * 2 + 7)
    pd.testing.assert_series_equal(model.predict(), before)
    assert set(vars(model)) == keys


def test_failed_first_forecaster_fit_leaves_it_unfitted(monkeypatch, monthly):
    model = RNNForecaster(horizon=6, hidden_size=8, max_epochs=3)
    _interrupt_after(monkeypatch, 0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(monthly)
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict()


def test_failed_update_keeps_the_forecaster(monkeypatch, monthly):
    model = SeasonalNaive(season_length=12).fit(monthly)
    before = model.predict(6)

    def fail(self, panel):
        self.last_season_ = None  # half-done work that must not be committed
        raise KeyboardInterrupt

    monkeypatch.setattr(SeasonalNaive, "_fit_panel", fail)
    with pytest.raises(KeyboardInterrupt):
        model.update(monthly + 50)
    pd.testing.assert_series_equal(model.predict(6), before)


# -- load_model ------------------------------------------------------------------------------


def test_load_model_names_what_is_wrong_with_a_file(tmp_path):
    import json

    X, y = _windows()
    path = tmp_path / "model.npz"
    LSTMRegressor(hidden_size=4, max_epochs=1).fit(X, y).save(path)
    data = path.read_bytes()
    with np.load(path) as archive:
        params, meta = archive["params"], json.loads(str(archive["meta"]))

    def write(name, **arrays):
        target = tmp_path / name
        np.savez(target, **arrays)
        return target

    cases = {
        "truncated": (tmp_path / "cut.npz", "truncated or damaged"),
        "text": (tmp_path / "notes.txt", "not a readable tsrnn model file"),
        "other archive": (write("other.npz", a=np.zeros(3)), "lacks"),
        "newer": (write("new.npz", params=params, meta=np.array(json.dumps({**meta, "format_version": 99}))), "newer"),
        "tampered": (
            write("bad.npz", params=params, meta=np.array(json.dumps({**meta, "params": {"nope": 1}}))),
            "damaged or tampered",
        ),
        "weights": (write("w.npz", params=params[:-1], meta=np.array(json.dumps(meta))), "does not fit"),
        "pickle": (
            write("p.npz", params=np.array([{"x": 1}], dtype=object), meta=np.array(json.dumps(meta))),
            "pickled",
        ),
    }
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.txt").write_text("hello")
    for file, message in cases.values():
        with pytest.raises(ValueError, match=message):
            load_model(file)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


def test_load_model_refuses_non_finite_weights(tmp_path):
    import json

    X, y = _windows()
    path = tmp_path / "model.npz"
    LSTMRegressor(hidden_size=4, max_epochs=1).fit(X, y).save(path)
    with np.load(path) as archive:
        params, meta = archive["params"], str(archive["meta"])
    np.savez(tmp_path / "nan.npz", params=np.full_like(params, np.nan), meta=np.array(meta))
    with pytest.raises(ValueError, match="NaN or inf"):
        load_model(tmp_path / "nan.npz")
    json.loads(meta)  # the metadata itself was left valid


def test_a_failed_save_leaves_the_existing_file_intact(tmp_path):
    from tsrnn import GRUClassifier

    X = np.random.default_rng(0).standard_normal((60, 8))
    path = tmp_path / "model.npz"
    good = GRUClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, X[:, -1] > 0)
    good.save(path)
    labels = np.where(X[:, -1] > 0, np.datetime64("2020-01-01"), np.datetime64("2021-01-01"))
    bad = GRUClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, labels)
    with pytest.raises(ValueError, match="cannot be written"):
        bad.save(path)
    np.testing.assert_array_equal(load_model(path).predict(X), good.predict(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary file left


def test_forecast_from_several_threads_on_one_forecaster_returns_each_callers_forecast():
    """forecast() fits and predicts on a staged copy: a thread never gets the forecast of
    another thread's y, even on one shared forecaster."""
    from concurrent.futures import ThreadPoolExecutor

    from tsrnn.forecasting import ETS

    index = pd.date_range("2000-01-31", periods=48, freq="ME")
    base = 100 + np.arange(48) + 10 * np.sin(2 * np.pi * np.arange(48) / 12)
    ys = [pd.Series(base * k, index=index) for k in (1, 2, 3, 4)]
    for make in (lambda: SeasonalNaive(12), lambda: ETS(season_length=12, auto=False, trend="add")):
        serial = [make().forecast(y, 6).to_numpy() for y in ys]
        shared = make()
        for _ in range(3):
            with ThreadPoolExecutor(4) as pool:
                parallel = list(pool.map(lambda y, m=shared: m.forecast(y, 6).to_numpy(), ys))
            for a, b in zip(serial, parallel):
                np.testing.assert_array_equal(a, b)
