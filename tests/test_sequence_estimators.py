"""Per-step outputs (return_sequences) and bidirectional layers through the scikit-learn estimators."""

import pickle

import numpy as np
import pytest
from sklearn.metrics import r2_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from tsrnn import GRUClassifier, GRURegressor, LSTMClassifier, LSTMRegressor, RNNClassifier, RNNRegressor, load_model

QUICK = dict(hidden_size=12, max_epochs=40, learning_rate=0.02, batch_size=32, early_stopping=False, random_state=0)


def sequences(n=400, T=12, seed=0):
    return np.random.default_rng(seed).standard_normal((n, T))


def cumsum_sign(X):
    """Label of each step: is the running sum of the inputs so far positive (needs the past only)."""
    return np.cumsum(X, axis=1) > 0


def next_is_positive(X):
    """Label of step t: is x[t+1] > 0 (needs the future; the last step looks at itself)."""
    return np.concatenate([X[:, 1:], X[:, -1:]], axis=1) > 0


# -- classifier, one label per step ---------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [np.array(["neg", "pos"]), np.array([-3, 7]), np.array([False, True]), np.array(["a", "b"], dtype=object)],
    ids=["str", "int", "bool", "object"],
)
def test_per_step_classifier_learns_the_running_sum_sign_with_any_label_type(labels):
    X = sequences()
    y = labels[cumsum_sign(X).astype(int)]
    model = GRUClassifier(return_sequences=True, **QUICK).fit(X[:300], y[:300])
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    pred = model.predict(X[300:])
    assert pred.shape == (100, 12) and pred.dtype == model.classes_.dtype and set(pred.ravel()) <= set(labels)
    assert model.score(X[300:], y[300:]) >= 0.9
    np.testing.assert_allclose(model.score(X[300:], y[300:]), np.mean(pred == y[300:]))


def test_per_step_probabilities_sum_to_one_and_agree_with_predict():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 8, 2))
    y = np.argmax(X, axis=2) + 2 * (np.cumsum(X[:, :, 0], axis=1) > 0)  # 4 classes per step
    model = RNNClassifier(cell="lstm", return_sequences=True, **{**QUICK, "max_epochs": 5}).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (200, 8, 4) and np.all(proba >= 0) and model.n_outputs_ == 4
    np.testing.assert_allclose(proba.sum(axis=2), 1.0, rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[np.argmax(proba, axis=2)])
    # classes_ gathers the labels of all steps, including one that appears at a single step
    y[0, 3] = 9
    assert list(RNNClassifier(return_sequences=True, max_epochs=1).fit(X, y).classes_) == [0, 1, 2, 3, 9]


def test_bidirectional_beats_unidirectional_when_the_label_needs_the_future():
    X = sequences()
    y = next_is_positive(X)
    scores = {}
    for bidirectional in (False, True):
        model = GRUClassifier(bidirectional=bidirectional, return_sequences=True, **QUICK).fit(X[:300], y[:300])
        scores[bidirectional] = model.score(X[300:], y[300:])
    # a forward reading can only guess the next input (chance: ~0.5, ~0.54 with the last step)
    assert scores[True] >= 0.95 and scores[False] <= 0.65, scores


def test_per_step_early_stopping_and_class_weight_count_steps():
    X = sequences(n=200)
    y = cumsum_sign(X)
    model = GRUClassifier(
        return_sequences=True, class_weight="balanced", **{**QUICK, "early_stopping": True, "max_epochs": 15}
    ).fit(X, y)
    assert 1 <= model.n_iter_ <= 15 and len(model.validation_scores_) == model.n_iter_
    assert all(0.0 <= s <= 1.0 for s in model.validation_scores_)
    assert model.best_loss_ == min(model.validation_loss_curve_)
    weights = np.linspace(0.5, 2.0, 200)
    pred = model.predict(X)
    expected = np.average(pred == y, weights=np.repeat(weights, 12).reshape(200, 12))
    np.testing.assert_allclose(model.score(X, y, sample_weight=weights), expected, rtol=1e-12)


# -- regressor, targets at every step -------------------------------------------------------


def test_per_step_regressor_shapes_and_learning():
    X = sequences()
    y2 = np.cumsum(X, axis=1) / 3.0
    model = GRURegressor(return_sequences=True, **QUICK).fit(X[:300], y2[:300])
    pred = model.predict(X[300:])
    assert pred.shape == (100, 12)
    assert model.score(X[300:], y2[300:]) >= 0.95
    np.testing.assert_allclose(
        model.score(X[300:], y2[300:]), r2_score(y2[300:].reshape(-1, 1), pred.reshape(-1, 1)), rtol=1e-12
    )
    y3 = np.stack([y2, -X], axis=2)  # two targets per step
    model3 = RNNRegressor(cell="lstm", return_sequences=True, **{**QUICK, "max_epochs": 3}).fit(X, y3)
    assert model3.predict(X[:5]).shape == (5, 12, 2) and model3.n_outputs_ == 2
    with pytest.raises(ValueError, match="y has 1 targets, but RNNRegressor was fitted with 2"):
        model3.partial_fit(X, y2)


def test_per_step_quantiles():
    X = sequences(n=150)
    y = np.cumsum(X, axis=1) / 3.0
    model = LSTMRegressor(return_sequences=True, loss="quantile", quantiles=[0.9, 0.1, 0.5], **QUICK)
    model.fit(X, y)
    q = model.predict_quantiles(X[:7])
    assert q.shape == (7, 12, 1, 3) and np.all(np.diff(q, axis=-1) >= 0)
    np.testing.assert_array_equal(model.predict(X[:7]), q[:, :, 0, 1])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["final-state", "sequences"])
def test_bidirectional_estimator_predicts_as_torch(cell, return_sequences):
    # end to end: the fitted estimator's predictions are torch's bidirectional module + Linear head
    torch = pytest.importorskip("torch", reason="torch is the oracle for this test")
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 7, 3))
    y = rng.standard_normal((40, 7, 2) if return_sequences else (40, 2))
    model = RNNRegressor(
        cell=cell, hidden_size=5, num_layers=2, bidirectional=True, return_sequences=return_sequences,
        dtype="float64", max_epochs=2, early_stopping=False, random_state=0,
    ).fit(X, y)  # fmt: skip
    net = model.network_
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        3, 5, num_layers=2, batch_first=True, bidirectional=True
    ).double()
    head = torch.nn.Linear(10, 2).double()
    with torch.no_grad():
        for suffix, weights in zip(net.layer_names(), net.layers, strict=True):
            for name, w in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights, strict=True):
                getattr(module, f"{name}_{suffix}").copy_(torch.tensor(w))
        head.weight.copy_(torch.tensor(net.W_out))
        head.bias.copy_(torch.tensor(net.b_out))
        out, final = module(torch.tensor(X))
        h_n = final[0] if cell == "lstm" else final
        expected = head(out) if return_sequences else head(torch.cat([h_n[-2], h_n[-1]], dim=1))
    np.testing.assert_allclose(model.predict(X), expected.numpy(), rtol=1e-10, atol=1e-12)


# -- persistence, continuation, errors -------------------------------------------------------


def test_save_load_and_pickle_round_trip_exactly(tmp_path):
    X = sequences(n=120, T=9)
    y = np.array(["down", "up"])[next_is_positive(X).astype(int)]
    model = LSTMClassifier(bidirectional=True, return_sequences=True, num_layers=2, **{**QUICK, "max_epochs": 2})
    model.fit(X, y)
    model.save(tmp_path / "clf.npz")
    loaded = load_model(tmp_path / "clf.npz")
    assert type(loaded) is LSTMClassifier and loaded.get_params() == model.get_params()
    assert loaded.bidirectional and loaded.return_sequences and loaded.network_.num_directions == 2
    np.testing.assert_array_equal(loaded.network_.params, model.network_.params)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict_proba(X), model.predict_proba(X))
    # a regressor with several targets per step
    y3 = np.stack([np.cumsum(X, axis=1), X], axis=2)
    reg = RNNRegressor(
        cell="gru", bidirectional=True, return_sequences=True, dtype="float64", **{**QUICK, "max_epochs": 2}
    )
    reg.fit(X, y3).save(tmp_path / "reg.npz")
    again = load_model(tmp_path / "reg.npz")
    assert again.get_params() == reg.get_params()
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))
    again.partial_fit(X, y3)  # a loaded per-step model continues training
    assert again.n_iter_ == 1


@pytest.mark.parametrize("changed", [{"bidirectional": True}, {"return_sequences": True}])
def test_warm_start_and_partial_fit_refuse_a_changed_structure(changed):
    X = sequences(n=60, T=6)
    y = cumsum_sign(X) if changed.get("return_sequences") else cumsum_sign(X)[:, -1]
    model = GRUClassifier(warm_start=True, **{**QUICK, "max_epochs": 1}).fit(X, cumsum_sign(X)[:, -1])
    before = model.predict_proba(X)
    model.set_params(**changed)
    name, value = next(iter(changed.items()))
    with pytest.raises(ValueError, match=rf"cannot take changed {name}={value} \(fitted with False\)"):
        model.fit(X, y)
    with pytest.raises(ValueError, match=rf"changed {name}={value}"):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.set_params(**{name: False}).predict_proba(X), before)
    model.set_params(warm_start=False, **changed).fit(X, y)  # a fresh fit takes it
    assert model.network_.num_directions == (2 if name == "bidirectional" else 1)


def test_bad_shapes_and_parameters_name_the_problem():
    X = sequences(n=30, T=6)
    steps = cumsum_sign(X)
    with pytest.raises(ValueError, match=r"X has sequences of 6 steps, but y has 5 steps per sample \(y's"):
        GRUClassifier(return_sequences=True, max_epochs=1).fit(X, steps[:, :5])
    with pytest.raises(ValueError, match=r"X has sequences of 6 steps, but y has 7 steps"):
        GRURegressor(return_sequences=True, max_epochs=1).fit(X, np.zeros((30, 7, 2)))
    with pytest.raises(ValueError, match=r"y must hold one label per step, shape \(n_samples, seq_len\); got y of"):
        GRUClassifier(return_sequences=True, max_epochs=1).fit(X, steps[:, -1])
    with pytest.raises(ValueError, match=r"y must hold one label per step"):
        GRUClassifier(return_sequences=True, max_epochs=1).fit(X, steps[:, :, None])
    with pytest.raises(
        ValueError, match=r"y must have shape \(n_samples, seq_len\) or \(n_samples, seq_len, n_targets"
    ):
        GRURegressor(return_sequences=True, max_epochs=1).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="one label per sequence.*set return_sequences=True"):
        GRUClassifier(max_epochs=1).fit(X, steps)
    with pytest.raises(ValueError, match="y must be 1-D or 2-D.*set return_sequences=True"):
        GRURegressor(max_epochs=1).fit(X, np.zeros((30, 6, 1)))
    with pytest.raises(ValueError, match="different numbers of samples"):
        GRUClassifier(return_sequences=True, max_epochs=1).fit(X, steps[:-1])
    with pytest.raises(ValueError, match="The 'bidirectional' parameter of GRURegressor must be an instance of"):
        GRURegressor(bidirectional="yes").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="The 'return_sequences' parameter of RNNClassifier must be an instance of"):
        RNNClassifier(return_sequences=1).fit(X, steps)
    model = GRUClassifier(return_sequences=True, max_epochs=1).fit(X, steps)
    with pytest.raises(ValueError, match=r"y of shape \(30, 5\) does not match the predictions' shape \(30, 6\)"):
        model.score(X, steps[:, :5])
    # per-step predictions follow the length of the (3-D) sequences asked about
    model = GRUClassifier(return_sequences=True, max_epochs=1).fit(X[:, :, None], steps)
    assert model.predict(X[:, :4, None]).shape == (30, 4)


def test_models_pickled_before_the_new_parameters_load_as_final_state_unidirectional():
    X = sequences(n=40, T=6)
    model = GRURegressor(**{**QUICK, "max_epochs": 1}).fit(X, X[:, -1])
    state = dict(model.__getstate__())  # a copy: BaseEstimator's is the instance's own __dict__
    del state["bidirectional"], state["return_sequences"]
    old = GRURegressor.__new__(GRURegressor)
    old.__setstate__(state)
    assert old.get_params() == model.get_params()
    np.testing.assert_array_equal(old.predict(X), model.predict(X))
    assert old.score(X, X[:, -1]) == model.score(X, X[:, -1])


def test_every_estimator_takes_the_new_parameters():
    for cls in (RNNRegressor, LSTMRegressor, GRURegressor, RNNClassifier, LSTMClassifier, GRUClassifier):
        params = cls().get_params()
        assert params["bidirectional"] is False and params["return_sequences"] is False
        assert cls(bidirectional=True, return_sequences=True).get_params()["bidirectional"] is True


SMALL = dict(hidden_size=6, max_epochs=30, learning_rate=0.02, batch_size=32, early_stopping=False, random_state=0)


@parametrize_with_checks(
    [
        GRURegressor(bidirectional=True, dtype="float64", **SMALL),
        GRUClassifier(bidirectional=True, dtype="float64", **SMALL),
    ]
)
def test_bidirectional_estimators_are_sklearn_compatible(estimator, check):
    check(estimator)
