"""CUDA fits and predictions of bidirectional and token-input networks against the CPU's.

As tests/test_cuda_training.py (whose problems and tolerances this module reuses): CI runs it
on the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) with small launches; a fit without dropout
draws the same batches in the same order on both devices, so the weights agree to float64
rounding. The CPU path these mirror (``RecurrentNetwork._train_step``, ``_predict_chunk`` and
the embedding's scatter-add) is itself checked against ``torch.nn`` in tests/nn/. The new
kernels are checked against NumPy in tests/kernels/test_cuda_train_ops.py.
"""

import numpy as np
import pytest

from ._cuda import require_cuda
from ._cuda import small_launches as _small_launches

cuda = require_cuda()

from tsrnn import RNNClassifier  # noqa: E402
from tsrnn.nn import ArrayWindows, RecurrentNetwork, Trainer, seeded_generator  # noqa: E402
from tsrnn.nn import device as device_module  # noqa: E402

from .test_cuda_training import TOL, estimator_data, problem  # noqa: E402

VOCAB = 6


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    _small_launches(monkeypatch)


def fit(device, X, y, cell="gru", hidden=3, layers=1, per_step=False, bidirectional=True, vocab_size=None,
        validation=None, **options):  # fmt: skip
    rng = seeded_generator(0)
    D = 2 if vocab_size is not None else X.shape[2]  # the embedding dimension for token input
    network = RecurrentNetwork(
        cell, D, hidden, layers, y.shape[-1], dtype=np.float64, bidirectional=bidirectional,
        return_sequences=per_step, vocab_size=vocab_size,
    )  # fmt: skip
    network.initialize(rng)
    trainer = Trainer(**{"batch_size": 4, "max_epochs": 1, **options}, device=device)
    history = trainer.fit(network, trainer.start(network, rng), ArrayWindows(X, y), validation)
    return network, history


def assert_fits_agree(X, y, **options):
    cpu, h_cpu = fit("cpu", X, y, **options)
    gpu, h_gpu = fit("cuda", X, y, **options)
    np.testing.assert_allclose(gpu.params, cpu.params, **TOL[np.float64])
    np.testing.assert_allclose(h_gpu.loss_curve, h_cpu.loss_curve, **TOL[np.float64])
    return (cpu, h_cpu), (gpu, h_gpu)


def token_problem(rng, T=3, N=7):
    """Ids ``(T, N)`` in ``[0, VOCAB - 1)`` (the last id unused), each batch of 4 repeating ids, and targets."""
    tokens = rng.integers(0, VOCAB - 1, (T, N))
    tokens[0, 0] = tokens[-1, 1] = tokens[-1, 3] = 2  # an id repeated across steps and samples
    y = np.stack([(tokens[-1] == 2).astype(float), tokens.mean(axis=0) / VOCAB], axis=1)
    return tokens, y


# --- bidirectional layers ---------------------------------------------------------------------


# every cell once; 2 layers (the reverse input gradient added back, the 2H-feature layer input)
# once; a per-step head (the split of its gradient over time) once
@pytest.mark.parametrize(
    "cell, layers, per_step", [("rnn", 1, True), ("lstm", 2, False), ("gru", 1, False)], ids=["rnn-per-step",
    "lstm-2-layers", "gru"],
)  # fmt: skip
def test_bidirectional_fit_matches_cpu(cell, layers, per_step, rng):
    X, y = problem(rng, np.float64, per_step=per_step)
    assert_fits_agree(X, y, cell=cell, layers=layers, per_step=per_step)


def test_bidirectional_dropout_is_reproducible(rng):
    """Masks on both directions' outputs (2H features) are drawn on the device: the same seed gives the same
    weights, and they differ from a fit without dropout."""
    X, y = problem(rng, np.float64, T=2, N=4)  # one batch
    options = dict(cell="rnn", hidden=2, layers=2, batch_size=4)
    first, _ = fit("cuda", X, y, dropout=0.5, **options)
    again, _ = fit("cuda", X, y, dropout=0.5, **options)
    without, _ = fit("cuda", X, y, **options)
    np.testing.assert_array_equal(first.params, again.params)
    assert np.all(np.isfinite(first.params))
    assert not np.allclose(first.params, without.params)


def test_bidirectional_network_predicts_on_the_device(rng, monkeypatch):
    monkeypatch.setattr(device_module, "PREDICT_CHUNK", 3)  # chunks of 3 and 2 samples
    X, _ = problem(rng, np.float64, N=5)
    for per_step in (False, True):
        # 3 layers: the alternating layer outputs and the reversed input of layers 1..
        network = RecurrentNetwork("gru", 2, 3, 3, 2, dtype=np.float64, bidirectional=True, return_sequences=per_step)
        network.initialize(seeded_generator(1))
        np.testing.assert_allclose(network.predict(X, device="cuda"), network.predict(X), **TOL[np.float64])


# --- token input ------------------------------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True], ids=["unidirectional", "bidirectional"])
def test_token_fit_matches_cpu(bidirectional, rng):
    """The embedding's gradient: a repeated id summed, the unused id's row 0 (so Adam leaves it alone)."""
    tokens, y = token_problem(rng)
    options = dict(vocab_size=VOCAB, bidirectional=bidirectional, cell="lstm" if bidirectional else "rnn")
    (cpu, _), (gpu, _) = assert_fits_agree(tokens, y, **options)
    initial, _ = fit("cpu", tokens, y, max_epochs=0, **options)
    np.testing.assert_array_equal(gpu.embedding[VOCAB - 1], initial.embedding[VOCAB - 1])  # unused: untouched
    assert not np.allclose(gpu.embedding[2], initial.embedding[2])


def test_token_fit_with_validation_matches_cpu(rng):
    """Validation ids are embedded on the device by the validation predictions (early stopping agrees)."""
    tokens, y = token_problem(rng)
    validation = ArrayWindows(*token_problem(rng, N=4))
    (_, h_cpu), (_, h_gpu) = assert_fits_agree(
        tokens, y, vocab_size=VOCAB, cell="gru", bidirectional=False, validation=validation, max_epochs=2,
        learning_rate=0.1, batch_size=8,
    )  # fmt: skip
    np.testing.assert_allclose(h_gpu.validation_loss_curve, h_cpu.validation_loss_curve, **TOL[np.float64])
    np.testing.assert_allclose(h_gpu.best_params, h_cpu.best_params, **TOL[np.float64])


def test_token_network_predicts_on_the_device(rng, monkeypatch):
    monkeypatch.setattr(device_module, "PREDICT_CHUNK", 3)  # each chunk's columns embedded on the device
    tokens, _ = token_problem(rng, N=5)
    network = RecurrentNetwork("lstm", 2, 3, 2, 2, dtype=np.float64, bidirectional=True, vocab_size=VOCAB)
    network.initialize(seeded_generator(1))
    np.testing.assert_allclose(network.predict(tokens, device="cuda"), network.predict(tokens), **TOL[np.float64])


def test_token_ids_are_checked_as_on_the_cpu(rng):
    tokens, y = token_problem(rng)
    for bad, match in [(tokens + VOCAB, r"Token ids must lie in \[0, vocab_size\)"), (tokens[..., None] * 1.0,
                       "takes integer ids of shape")]:  # fmt: skip
        for device in ("cpu", "cuda"):
            with pytest.raises(ValueError, match=match):
                fit(device, bad, y, vocab_size=VOCAB)
    network = RecurrentNetwork("gru", 2, 3, 1, 2, vocab_size=VOCAB)
    with pytest.raises(ValueError, match=r"Token ids must lie in \[0, vocab_size\)"):
        network.predict(tokens - 1, device="cuda")


def test_token_positions_travel_with_the_order(rng, monkeypatch):
    """Per epoch one transfer to the device (the order and every batch's token positions)."""
    tokens, y = token_problem(rng, T=2, N=6)
    calls = {"to_device": 0}
    to_device = device_module.cuda.to_device

    def counting_to_device(*args, **kwargs):
        calls["to_device"] += 1
        return to_device(*args, **kwargs)

    monkeypatch.setattr(device_module.cuda, "to_device", counting_to_device)
    counts = []
    for epochs in (1, 2):
        calls["to_device"] = 0
        fit("cuda", tokens, y, vocab_size=VOCAB, bidirectional=False, cell="rnn", hidden=2, max_epochs=epochs,
            batch_size=2)  # fmt: skip
        counts.append(calls["to_device"])
    assert counts[1] - counts[0] == 1


# --- the estimators ---------------------------------------------------------------------------


def test_bidirectional_classifier_on_cuda_predicts_as_on_cpu(rng):
    X, y = estimator_data(rng, n=9)
    labels = np.array(["low", "high"])[(y > np.median(y)).astype(int)]
    params = dict(cell="gru", hidden_size=3, max_epochs=1, batch_size=5, random_state=0, bidirectional=True,
                  dtype="float64")  # fmt: skip
    cpu = RNNClassifier(**params).fit(X, labels)
    gpu = RNNClassifier(**params, device="cuda").fit(X, labels)
    assert gpu.device_ == "cuda"
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), **TOL[np.float64])


def test_token_classifier_on_cuda_predicts_as_on_cpu(rng):
    tokens = rng.integers(0, VOCAB - 1, (9, 3))
    labels = np.where(tokens[:, -1] >= 2, "big", "small")
    params = dict(cell="rnn", hidden_size=3, max_epochs=1, batch_size=5, random_state=0, input_type="tokens",
                  vocab_size=VOCAB, embedding_dim=2, dtype="float64")  # fmt: skip
    cpu = RNNClassifier(**params).fit(tokens, labels)
    gpu = RNNClassifier(**params, device="cuda").fit(tokens, labels)
    assert gpu.device_ == "cuda"
    np.testing.assert_allclose(gpu.predict_proba(tokens), cpu.predict_proba(tokens), **TOL[np.float64])
