"""Token input (input_type='tokens') through the classifiers, and tsrnn.generate."""

import doctest
import pickle

import numpy as np
import pytest

import tsrnn
from tsrnn import GRUClassifier, GRURegressor, LSTMClassifier, RNNClassifier, RNNRegressor, generate, load_model

TOKENS = dict(input_type="tokens", vocab_size=6, embedding_dim=5)
QUICK = dict(hidden_size=16, max_epochs=40, learning_rate=0.02, batch_size=32, early_stopping=False, random_state=0)


def token_sequences(n=400, T=8, vocab_size=6, seed=0):
    return np.random.default_rng(seed).integers(0, vocab_size, (n, T))


# -- the classifier on tokens -------------------------------------------------------------


@pytest.mark.parametrize("estimator", [LSTMClassifier, GRUClassifier, RNNClassifier])
def test_classifier_learns_whether_token_3_appears(estimator):
    X = token_sequences(500, T=6)
    y = np.where((X == 3).any(axis=1), "has-3", "no-3")
    assert 0.4 < np.mean(y == "has-3") < 0.75  # both classes well represented
    model = estimator(**TOKENS, **QUICK).fit(X[:400], y[:400])
    assert model.score(X[400:], y[400:]) >= 0.9
    # the embedding trained: the row of token 3 moved away from its initial draw more than most
    assert model.network_.embedding.shape == (6, 5) and model.n_features_in_ == 1
    # sequences of another length, and float arrays of whole numbers, are accepted
    longer = token_sequences(50, T=11, seed=1)
    assert model.predict(longer).shape == (50,)
    np.testing.assert_array_equal(model.predict_proba(X[:5].astype(float)), model.predict_proba(X[:5]))


def test_per_step_token_labels():
    # label of step t: has token 3 appeared up to t (needs memory of the past)
    X = token_sequences(400, T=10)
    y = np.maximum.accumulate(X == 3, axis=1)
    model = GRUClassifier(return_sequences=True, **TOKENS, **QUICK).fit(X[:300], y[:300])
    assert model.predict_proba(X[300:]).shape == (100, 10, 2)
    assert model.score(X[300:], y[300:]) >= 0.95


@pytest.mark.parametrize(
    "params,X,match",
    [
        (dict(input_type="tokens", embedding_dim=4), None, "input_type='tokens' needs vocab_size"),
        (dict(input_type="tokens", vocab_size=6), None, "input_type='tokens' needs embedding_dim"),
        (dict(input_type="tokens"), None, "needs vocab_size and embedding_dim"),
        (dict(vocab_size=6), None, "vocab_size=6 apply to input_type='tokens' only"),
        (dict(embedding_dim=3), None, "embedding_dim=3 apply to input_type='tokens' only"),
        (dict(input_type="words"), None, "The 'input_type' parameter of GRUClassifier must be a str among"),
        (dict(**TOKENS) | dict(vocab_size=0), None, "The 'vocab_size' parameter of GRUClassifier must be an int"),
        (dict(**TOKENS) | dict(embedding_dim=2.5), None, "The 'embedding_dim' parameter"),
        (TOKENS, np.full((4, 3), 6), r"X holds token ids from 6 to 6, outside \[0, vocab_size\) = \[0, 6\)"),
        (TOKENS, np.full((4, 3), -1), r"X holds token ids from -1 to -1, outside"),
        (TOKENS, np.full((4, 3), 1.5), "X must hold integer token ids; got non-integer values such as 1.5"),
        (TOKENS, np.full((4, 3), np.nan), "X must hold integer token ids; got non-integer values"),
        (TOKENS, np.full((4, 3), "a"), "X must hold integer token ids; got an array of dtype <U1"),
        (TOKENS, np.ones((4, 3), dtype=bool), "X must hold integer token ids; got an array of dtype bool"),
        (TOKENS, np.ones((4, 3, 1), dtype=int), r"X must be an array of token ids of shape \(n_samples, seq_len\)"),
        (TOKENS, np.ones((4, 0), dtype=int), "holds no tokens"),
    ],
)
def test_token_parameters_and_ids_are_validated(params, X, match):
    X = token_sequences(4, T=3) if X is None else X
    with pytest.raises(ValueError, match=match):
        GRUClassifier(max_epochs=1, early_stopping=False, **params).fit(X, [0, 1, 0, 1])


def test_predict_refuses_ids_out_of_range():
    X = token_sequences(40, T=4)
    model = GRUClassifier(**TOKENS, max_epochs=2, early_stopping=False, random_state=0).fit(X, X[:, 0] > 2)
    with pytest.raises(ValueError, match=r"outside \[0, vocab_size\) = \[0, 6\)"):
        model.predict(np.array([[0, 1, 7]]))


@pytest.mark.parametrize("return_sequences", [False, True], ids=["final", "sequences"])
def test_token_models_save_load_and_pickle_exactly(tmp_path, return_sequences):
    X = token_sequences(120, T=7)
    y = np.maximum.accumulate(X == 3, axis=1) if return_sequences else (X == 3).any(axis=1)
    model = LSTMClassifier(return_sequences=return_sequences, **TOKENS, **QUICK | dict(max_epochs=3)).fit(X, y)
    path = tmp_path / "tokens.npz"
    model.save(path)
    loaded = load_model(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.network_.embedding, model.network_.embedding)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X), model.predict_proba(X))


def test_warm_start_continues_the_embedding_and_refuses_a_changed_vocabulary():
    X = token_sequences(200, T=6)
    y = (X == 3).any(axis=1)
    model = GRUClassifier(warm_start=True, **TOKENS, **QUICK | dict(max_epochs=2)).fit(X, y)
    first = model.network_.embedding.copy()
    model.fit(X, y)
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 4  # continued: epochs and curve grow
    assert not np.array_equal(model.network_.embedding, first)  # the embedding trained on
    model.set_params(vocab_size=7)
    with pytest.raises(ValueError, match=r"vocab_size=7 \(fitted with 6\)"):
        model.fit(X, y)


def test_partial_fit_on_tokens_continues():
    X = token_sequences(200, T=6)
    y = (X == 3).any(axis=1)
    model = GRUClassifier(**TOKENS, **QUICK)
    for _ in range(3):
        model.partial_fit(X, y)
    assert model.n_iter_ == 3 and model.loss_curve_[-1] < model.loss_curve_[0]


@pytest.mark.parametrize("return_sequences", [False, True], ids=["final", "sequences"])
def test_regressor_on_tokens_learns_a_count(tmp_path, return_sequences):
    # the target: how many 3s so far (per step), or in the whole sequence
    X = token_sequences(500, T=8)
    running = np.cumsum(X == 3, axis=1).astype(float)
    y = running if return_sequences else running[:, -1]
    model = GRURegressor(return_sequences=return_sequences, **TOKENS, **QUICK).fit(X[:400], y[:400])
    assert model.predict(X[400:]).shape == y[400:].shape
    assert model.score(X[400:], y[400:]) > 0.9
    model.save(tmp_path / "regressor.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "regressor.npz").predict(X), model.predict(X))
    with pytest.raises(ValueError, match="embedding_dim=4 apply to input_type='tokens' only"):
        RNNRegressor(embedding_dim=4).fit(X.astype(float), y)


# -- generation ---------------------------------------------------------------------------

# period 6: after 1 comes 2 or 0 and after 2 comes 3 or 1, depending on the token before
PATTERN = [0, 1, 2, 3, 2, 1]


def _next_token_data(text, T, stride=1):
    windows = np.lib.stride_tricks.sliding_window_view
    return windows(text[:-1], T)[::stride], windows(text[1:], T)[::stride]


@pytest.fixture(scope="module")
def cyclic_model():
    text = np.tile(PATTERN, 80)
    X, y = _next_token_data(text, 12, stride=2)
    params = dict(input_type="tokens", vocab_size=4, embedding_dim=4, return_sequences=True)
    return GRUClassifier(**params, **QUICK | dict(max_epochs=80)).fit(X, y)


@pytest.fixture(scope="module")
def random_model():
    # trained a little on random text: a next-token distribution far from one-hot
    rng = np.random.default_rng(0)
    text = rng.choice(5, 3000, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    X, y = _next_token_data(text, 10, stride=5)
    params = dict(input_type="tokens", vocab_size=5, embedding_dim=3, return_sequences=True)
    return LSTMClassifier(**params, **QUICK | dict(hidden_size=8, max_epochs=5)).fit(X, y)


def test_greedy_generation_reproduces_a_cycle_that_needs_memory(cyclic_model):
    assert cyclic_model.classes_.tolist() == [0, 1, 2, 3]
    for start in range(6):  # every phase of the cycle, from a prompt of two tokens
        prompt = [PATTERN[start], PATTERN[(start + 1) % 6]]
        expected = [PATTERN[(start + 2 + i) % 6] for i in range(18)]
        assert generate(cyclic_model, prompt, 18, temperature=0).tolist() == expected
        assert generate(cyclic_model, prompt, 18, temperature=1e-7, random_state=3).tolist() == expected
        assert generate(cyclic_model, prompt, 18, top_k=1, random_state=5).tolist() == expected


def test_the_step_api_equals_predict_on_the_concatenated_sequence(random_model):
    rng = np.random.default_rng(2)
    prompt = rng.integers(0, 5, 7)
    new = generate(random_model, prompt, 9, random_state=0)
    # generate's logits: the network read the prompt, then each new token one step at a time
    net = random_model.network_
    logits, state = net.run(prompt[:, None])
    steps = [logits[0]]
    for token in new[:-1]:
        out, state = net.step(np.array([token]), state)
        steps.append(out)
    stepped = np.concatenate(steps)
    full = np.concatenate([prompt, new[:-1]])[None]
    np.testing.assert_allclose(
        np.log(np.exp(stepped) / np.exp(stepped).sum(axis=1, keepdims=True)),
        random_model.predict_log_proba(full)[0],
        rtol=1e-5,
        atol=1e-6,
    )


def test_same_seed_same_tokens(random_model):
    a = generate(random_model, [0, 1], 40, random_state=7)
    assert a.dtype == np.int64 and a.shape == (40,) and a.min() >= 0 and a.max() < 5
    np.testing.assert_array_equal(generate(random_model, [0, 1], 40, random_state=7), a)
    assert not np.array_equal(generate(random_model, [0, 1], 40, random_state=8), a)  # control
    assert generate(random_model, [0, 1], 0).shape == (0,)


def test_top_k_only_draws_among_the_k_most_probable(random_model):
    prompt = [0, 1, 2]
    probs = random_model.predict_proba(np.array([prompt]))[0, -1]
    top2 = set(np.argsort(probs)[-2:])
    firsts = {int(generate(random_model, prompt, 1, top_k=2, random_state=s)[0]) for s in range(60)}
    assert firsts == top2  # both drawn, nothing else
    greedy = generate(random_model, prompt, 25, temperature=0)
    np.testing.assert_array_equal(generate(random_model, prompt, 25, top_k=1, random_state=1), greedy)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_sampling_frequencies_match_the_softmax_probabilities(random_model, temperature):
    # every generated token k adds 1 to its count and p_t(k) to its expectation: under the model,
    # count - expectation is a martingale of variance sum_t p_t(k) (1 - p_t(k)); z-scores stay small
    prompt = np.array([0, 1])
    n = 2500
    new = generate(random_model, prompt, n, temperature=temperature, random_state=11)
    log_p = random_model.predict_log_proba(np.concatenate([prompt, new[:-1]])[None])[0, 1:] / temperature
    p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)  # softmax(logits / temperature) at each step
    observed = np.bincount(new, minlength=5)
    expected = p.sum(axis=0)
    variance = (p * (1 - p)).sum(axis=0)
    z = (observed - expected) / np.sqrt(variance)
    assert np.all(np.abs(z) < 4.0), (observed, expected, z)
    assert np.sum(z**2) < 20.5  # chi-square with 5 degrees of freedom: p ~ 0.001
    assert expected.min() > 50  # the control: a spread distribution, not a near-deterministic one


def test_generation_errors(random_model, cyclic_model):
    values = GRUClassifier(return_sequences=True, **QUICK | dict(max_epochs=1)).fit(
        np.random.default_rng(0).standard_normal((20, 4)), np.tile([0, 1], (20, 2))
    )
    with pytest.raises(ValueError, match="generate needs a token model"):
        generate(values, [0], 3)
    final = GRUClassifier(**TOKENS, **QUICK | dict(max_epochs=1)).fit(token_sequences(20, 4), [0, 1] * 10)
    with pytest.raises(ValueError, match="return_sequences=True"):
        generate(final, [0], 3)
    X = token_sequences(20, 4, vocab_size=4)
    labelled = GRUClassifier(return_sequences=True, **TOKENS, **QUICK | dict(max_epochs=1)).fit(
        X, np.where(X > 1, "big", "small")
    )
    with pytest.raises(ValueError, match="classes are the next token ids"):
        generate(labelled, [0], 3)
    with pytest.raises(ValueError, match=r"prompt holds token ids from 0 to 5, outside \[0, vocab_size\) = \[0, 5\)"):
        generate(random_model, [0, 5], 3)
    with pytest.raises(ValueError, match=r"prompt must be an array of token ids of shape \(n_steps,\)"):
        generate(random_model, [[0, 1]], 3)
    with pytest.raises(ValueError, match="holds no tokens"):
        generate(random_model, [], 3)
    for bad in (-1, 2.0, True):
        with pytest.raises(ValueError, match="n_tokens must be an int >= 0"):
            generate(random_model, [0], bad)
    for bad in (-0.5, np.nan, "hot"):
        with pytest.raises(ValueError, match="temperature must be a float >= 0"):
            generate(random_model, [0], 3, temperature=bad)
    with pytest.raises(ValueError, match="top_k must be an int >= 1 or None"):
        generate(random_model, [0], 3, top_k=0)
    with pytest.raises(Exception, match="not fitted"):
        generate(RNNClassifier(**TOKENS), [0], 3)


def test_generate_is_public_and_its_example_runs():
    assert tsrnn.generate is generate and "generate" in tsrnn.__all__
    import tsrnn.estimators.generation as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
