"""The regressors' point prediction with quantile heads: a median head, never a tail quantile (issue 13)."""

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from tsrnn import LSTMRegressor, RNNRegressor, load_model

DATA = Path(__file__).parent / "data"

QUICK = dict(hidden_size=6, max_epochs=8, learning_rate=0.02, batch_size=32, early_stopping=False, random_state=0)


def noisy_windows(n=300, window=8, horizon=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n + window + horizon)
    series = np.sin(0.3 * t) + 0.3 * rng.standard_normal(t.size)
    X = np.lib.stride_tricks.sliding_window_view(series, window)[:n]
    y = np.lib.stride_tricks.sliding_window_view(series[window:], horizon)[:n]
    return X, y


def test_tail_quantiles_keep_the_median_point_prediction():
    X, y = noisy_windows()
    tails = RNNRegressor(cell="gru", loss="quantile", quantiles=[0.9, 0.1], **QUICK).fit(X, y)
    full = RNNRegressor(cell="gru", loss="quantile", quantiles=[0.1, 0.5, 0.9], **QUICK).fit(X, y)
    # the same network (a median head is trained beside the tails) and the same loss: the same model
    assert tails.network_.output_size == full.network_.output_size == 2 * 3
    point = tails.predict(X)
    np.testing.assert_allclose(point, full.predict(X), rtol=1e-6, atol=1e-7)
    q = tails.predict_quantiles(X)
    assert q.shape == (len(X), 2, 2)  # exactly the requested quantiles, the median head not among them
    np.testing.assert_allclose(q, full.predict_quantiles(X)[:, :, [0, 2]], rtol=1e-6, atol=1e-7)
    # never crossing, the point prediction between the tails, and not the 0.1 quantile it was before
    assert np.all(q[:, :, 0] <= point) and np.all(point <= q[:, :, 1])
    assert np.mean(point - q[:, :, 0]) > 0.1 * np.mean(q[:, :, 1] - q[:, :, 0])
    # the median head is a median: about half of the training targets lie below it
    assert 0.35 < np.mean(y < point) < 0.65


def test_a_single_tail_quantile_and_per_step_heads():
    X, y = noisy_windows(n=120)
    model = LSTMRegressor(loss="quantile", quantiles=[0.8], **QUICK).fit(X, y[:, 0])
    q = model.predict_quantiles(X)
    assert q.shape == (120, 1, 1) and model.predict(X).shape == (120,)
    assert np.all(model.predict(X) <= q[:, 0, 0])
    seq = np.ascontiguousarray(X[:, :, None])
    per_step = LSTMRegressor(return_sequences=True, loss="quantile", quantiles=[0.1, 0.9], **QUICK)
    per_step.fit(seq, seq[:, :, 0] * 0.5)
    q = per_step.predict_quantiles(seq[:5])
    point = per_step.predict(seq[:5])
    assert q.shape == (5, 8, 1, 2) and point.shape == (5, 8)
    assert np.all(q[..., 0, 0] <= point) and np.all(point <= q[..., 0, 1])


def test_tail_quantiles_save_load_and_pickle_exactly(tmp_path):
    X, y = noisy_windows(n=120)
    model = RNNRegressor(cell="lstm", loss="quantile", quantiles=[0.05, 0.95], dtype="float64", **QUICK).fit(X, y)
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as archive:
        assert json.loads(str(archive["meta"]))["head_quantiles"] == [0.05, 0.5, 0.95]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a current file loads without the legacy warning
        loaded = load_model(path)
        unpickled = pickle.loads(pickle.dumps(model))
    for other in (loaded, unpickled):
        np.testing.assert_array_equal(other.predict(X), model.predict(X))
        np.testing.assert_array_equal(other.predict_quantiles(X), model.predict_quantiles(X))
    loaded.partial_fit(X, y)  # continues with the saved head layout
    assert loaded.predict_quantiles(X).shape == (120, 2, 2)


def test_tampered_head_quantiles_are_refused(tmp_path):
    X, y = noisy_windows(n=60)
    model = RNNRegressor(cell="rnn", loss="quantile", quantiles=[0.1, 0.9], **{**QUICK, "max_epochs": 1}).fit(X, y)
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as archive:
        params, meta = archive["params"], json.loads(str(archive["meta"]))
    meta["head_quantiles"] = [0.1, 0.9]
    np.savez(tmp_path / "bad.npz", params=params, meta=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match=r"damaged or tampered with .*head_quantiles \[0.1, 0.9\] do not match"):
        load_model(tmp_path / "bad.npz")


def test_files_and_pickles_from_before_the_median_head_still_load_as_they_predicted():
    # lstm_quantile_tails_format1.npz: written before the median head existed, by
    # LSTMRegressor(hidden_size=4, max_epochs=3, dtype="float64", loss="quantile",
    # quantiles=[0.9, 0.1], random_state=0) fitted on 6 lags of sin(0.3 t) (100 windows);
    # the .npy files hold its predict (then the 0.1 quantile) and predict_quantiles of 5 rows.
    t = np.arange(120.0)
    X = np.lib.stride_tricks.sliding_window_view(np.sin(0.3 * t), 6)[:5]
    with pytest.warns(UserWarning, match=r"trained no median head .* returns the quantile nearest 0.5 \(0.1\)"):
        model = load_model(DATA / "lstm_quantile_tails_format1.npz")
    assert model.network_.output_size == 2
    stored_quantiles = np.load(DATA / "lstm_quantile_tails_format1_quantiles.npy")
    np.testing.assert_allclose(model.predict_quantiles(X), stored_quantiles, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X), np.load(DATA / "lstm_quantile_tails_format1_predictions.npy"))
    # a pickle of that time: its state has no _quantile_columns
    state = model.__getstate__()
    del state["_quantile_columns"]
    old = LSTMRegressor.__new__(LSTMRegressor)
    with pytest.warns(UserWarning, match="trained no median head"):
        old.__setstate__(state)
    np.testing.assert_allclose(old.predict_quantiles(X), stored_quantiles, rtol=1e-12)
    # continued training keeps the layout its weights have
    y = np.sin(0.3 * (t[6:11]))
    model.partial_fit(X, y)
    assert model.network_.output_size == 2 and model.predict_quantiles(X).shape == (5, 1, 2)
