"""scikit-learn contract and behaviour of the recurrent sequence classifiers, and their loss."""

import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tsrnn import GRUClassifier, LSTMClassifier, RNNClassifier, load_model
from tsrnn.nn import log_softmax, softmax_cross_entropy

from ._checks import expected_failed_checks

SMALL = dict(hidden_size=8, max_epochs=60, learning_rate=0.02, batch_size=32, early_stopping=False, random_state=0)


def spike_half(n=400, T=12, seed=0):
    """Noisy sequences with one spike; the label says which half of the sequence holds it."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, T))
    late = rng.integers(0, 2, n)
    X[np.arange(n), rng.integers(0, T // 2, n) + late * (T // 2)] += 5.0
    return X, late


@parametrize_with_checks(
    [LSTMClassifier(**SMALL), GRUClassifier(**SMALL), RNNClassifier(cell="rnn", dtype="float64", **SMALL)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# -- the loss -------------------------------------------------------------------------------


def test_cross_entropy_gradient_matches_finite_differences(rng):
    pred = rng.standard_normal((5, 3))
    target = np.eye(3)[rng.integers(0, 3, 5)] * rng.uniform(0.5, 2.0, (5, 1))
    _, grad = softmax_cross_entropy(pred, target)
    eps, numeric = 1e-6, np.empty_like(pred)
    for i in np.ndindex(pred.shape):
        up, down = pred.copy(), pred.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (softmax_cross_entropy(up, target)[0] - softmax_cross_entropy(down, target)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_cross_entropy_matches_torch(rng, n_classes):
    torch = pytest.importorskip("torch", reason="torch is the oracle for this test")
    pred = rng.standard_normal((7, n_classes)) * 3
    labels = rng.integers(0, n_classes, 7)
    weight = rng.uniform(0.2, 3.0, n_classes)
    logits = torch.tensor(pred, requires_grad=True)
    expected = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight), reduction="sum")(logits, torch.tensor(labels)) / 7
    expected.backward()
    value, grad = softmax_cross_entropy(pred, np.eye(n_classes)[labels] * weight[labels][:, None])
    np.testing.assert_allclose(value, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, logits.grad.numpy(), rtol=1e-10, atol=1e-14)
    # unweighted, torch's default mean reduction
    unweighted = torch.nn.CrossEntropyLoss()(torch.tensor(pred), torch.tensor(labels)).item()
    np.testing.assert_allclose(softmax_cross_entropy(pred, np.eye(n_classes)[labels])[0], unweighted, rtol=1e-12)


def test_cross_entropy_is_stable_for_large_logits():
    pred = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=np.float32)
    value, grad = softmax_cross_entropy(pred, np.eye(2))
    assert np.isfinite(value) and value == 0.0 and grad.dtype == np.float32 and np.all(np.isfinite(grad))
    np.testing.assert_allclose(np.exp(log_softmax(pred.astype(float))).sum(axis=1), 1.0)


# -- behaviour ------------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [GRUClassifier, LSTMClassifier])
def test_learns_which_half_holds_the_spike(Estimator):
    X, y = spike_half(n=600)
    model = Estimator(hidden_size=16, learning_rate=0.02, max_epochs=60, early_stopping=True, random_state=0)
    model.fit(X[:400], y[:400])
    assert model.score(X[400:], y[400:]) >= 0.9
    assert 1 <= model.n_iter_ <= 60 and len(model.validation_scores_) == model.n_iter_
    assert all(0.0 <= s <= 1.0 for s in model.validation_scores_)
    assert model.best_loss_ == min(model.validation_loss_curve_)


@pytest.mark.parametrize(
    "labels", [np.array(["early", "late"]), np.array([3, -7]), np.array([False, True]), np.array(["a", "b"], object)]
)
def test_any_label_type(labels):
    X, late = spike_half(n=200)
    y = labels[late]
    model = GRUClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    pred = model.predict(X)
    assert pred.dtype == model.classes_.dtype and set(pred) <= set(labels)
    assert model.score(X, y) >= 0.9


def test_multiclass_probabilities_sum_to_one_and_agree_with_predict(rng):
    X = rng.standard_normal((300, 6, 2))
    y = np.argmax(X[:, -1], axis=1) + 2 * (X[:, 0, 0] > 0)  # 4 classes
    model = RNNClassifier(cell="gru", **SMALL).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (300, 4) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[np.argmax(proba, axis=1)])
    assert model.n_outputs_ == 4 and model.score(X, y) > 0.7


def test_class_weight_moves_predictions_to_the_heavy_class(rng):
    # overlapping classes: the weight decides on which side the ambiguous samples fall
    X = rng.standard_normal((400, 5))
    y = (X.sum(axis=1) + 2.0 * rng.standard_normal(400) > 0).astype(int)
    plain = GRUClassifier(**SMALL).fit(X, y).predict(X).mean()
    heavy = GRUClassifier(class_weight={1: 10.0}, **SMALL).fit(X, y).predict(X).mean()
    light = GRUClassifier(class_weight={0: 10.0}, **SMALL).fit(X, y).predict(X).mean()
    assert light < plain - 0.1 and heavy > plain + 0.1


def test_balanced_class_weight_recovers_the_minority_class(rng):
    X, late = spike_half(n=400)
    keep = (late == 0) | (rng.random(400) < 0.1)  # ~10 % of the late spikes: a minority
    X, y = X[keep], late[keep]
    model = GRUClassifier(class_weight="balanced", **SMALL).fit(X, y)
    recall = np.mean(model.predict(X[y == 1]) == 1)
    assert recall >= 0.8


def test_save_load_and_pickle_give_identical_probabilities(tmp_path):
    X, late = spike_half(n=150)
    y = np.array(["early", "late"])[late]
    model = RNNClassifier(cell="lstm", class_weight={"late": 2.0}, **{**SMALL, "max_epochs": 3}).fit(X, y)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert type(loaded) is RNNClassifier and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded.classes_.dtype == model.classes_.dtype
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))
    # int and bool labels keep their types through the JSON metadata, class_weight its int keys
    ints = GRUClassifier(class_weight={3: 2.0}, **{**SMALL, "max_epochs": 2}).fit(X, np.array([-1, 3])[late])
    ints.save(tmp_path / "ints.npz")
    again = load_model(tmp_path / "ints.npz")
    assert again.class_weight == {3: 2.0} and again.classes_.dtype == ints.classes_.dtype
    np.testing.assert_array_equal(again.predict(X), ints.predict(X))


def test_partial_fit_takes_the_classes_up_front():
    X, late = spike_half(n=200)
    model = GRUClassifier(hidden_size=8, random_state=0)
    model.partial_fit(X[late == 0], late[late == 0], classes=[0, 1])
    model.partial_fit(X, late)
    assert model.n_iter_ == 2 and list(model.classes_) == [0, 1]
    with pytest.raises(ValueError, match=r"labels \[2\] that are not among the classes"):
        model.partial_fit(X[:3], [0, 1, 2])
    with pytest.raises(ValueError, match="differ from the classes"):
        model.partial_fit(X, late, classes=[0, 1, 2])


def test_warm_start_continues_with_the_first_fits_classes():
    # as the warm_start docstring says: fit continues the network; labels must be among classes_
    X, late = spike_half(n=200)
    model = GRUClassifier(warm_start=True, **{**SMALL, "max_epochs": 2}).fit(X, late)
    weights = model.network_.params.copy()
    model.fit(X[late == 1], late[late == 1])  # a label missing: allowed
    assert model.n_iter_ == 4 and list(model.classes_) == [0, 1]
    assert not np.array_equal(model.network_.params, weights)
    with pytest.raises(ValueError, match=r"labels \[2\] .* continued fit \(warm_start=True, partial_fit\) keeps"):
        model.fit(X[:3], [0, 1, 2])
    model.set_params(warm_start=False).fit(X[:30], np.arange(30) % 3)  # afresh: new classes are fine
    assert list(model.classes_) == [0, 1, 2]


def test_a_failed_fit_leaves_the_model_as_it_was():
    X, late = spike_half(n=100)
    model = GRUClassifier(**{**SMALL, "max_epochs": 2}).fit(X, late)
    before = model.predict_proba(X)
    with pytest.raises(ValueError, match="only one class"):
        model.fit(X, np.zeros(100))
    np.testing.assert_array_equal(model.predict_proba(X), before)
    assert list(model.classes_) == [0, 1]


def test_bad_inputs_name_the_problem():
    X, late = spike_half(n=60)
    with pytest.raises(ValueError, match="Unknown label type"):
        GRUClassifier(max_epochs=1).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="only one class"):
        GRUClassifier(max_epochs=1).fit(X, np.ones(60))
    with pytest.raises(ValueError, match="The 'class_weight' parameter of GRUClassifier must be"):
        GRUClassifier(class_weight="even").fit(X, late)
    with pytest.raises(ValueError, match="finite positive weight"):
        GRUClassifier(class_weight={0: 0.0}, max_epochs=1).fit(X, late)
    with pytest.raises(ValueError, match="not in class_weight|are not in classes"):
        GRUClassifier(class_weight={5: 1.0}, max_epochs=1).fit(X, late)
    with pytest.raises(ValueError, match="different numbers of samples"):
        GRUClassifier(max_epochs=1).fit(X, late[:-1])
    with pytest.raises(ValueError, match="applies to cell='rnn' only"):
        RNNClassifier(cell="gru", activation="relu").fit(X, late)
    model = GRUClassifier(max_epochs=1).fit(X[:, :, None], late)
    with pytest.raises(ValueError, match="2 features per step, but GRUClassifier is expecting 1"):
        model.predict(np.stack([X, X], axis=2))


def test_classifiers_are_siblings_with_explicit_parameters():
    assert not issubclass(GRUClassifier, LSTMClassifier) and not issubclass(LSTMClassifier, RNNClassifier)
    lstm, gru = LSTMClassifier(hidden_size=3), GRUClassifier(hidden_size=3)
    assert lstm.get_params() == gru.get_params() and "cell" not in lstm.get_params()
    assert set(RNNClassifier().get_params()) == set(lstm.get_params()) | {"cell", "activation"}


def test_concurrent_predict_proba_equals_serial():
    from concurrent.futures import ThreadPoolExecutor

    X, late = spike_half(n=200)
    model = GRUClassifier(**{**SMALL, "max_epochs": 2}).fit(X, late)
    serial = model.predict_proba(X)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: model.predict_proba(X), range(8)))
    for result in results:
        np.testing.assert_array_equal(result, serial)
