"""Sentiment of short token sentences, where word order matters ("not good" is negative).

A synthetic corpus: sentences of neutral words with one or three sentiment words, each
possibly negated by a preceding "not"; a sentence is positive when its (negation-flipped)
sentiment words are mostly positive. An LSTM over the word ids (``input_type='tokens'``)
reads the order; a bag-of-words logistic regression, the baseline, sees only counts and
cannot tell "not good ... bad" from "good ... not bad".

Run ``python examples/sentiment_classification.py`` (seconds on 2 cores), or with
``--smoke`` (or ``TSRNN_EXAMPLE_SMOKE=1``) for a smaller run.
"""

import argparse
import os
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from tsrnn import LSTMClassifier

POSITIVE = ["good", "great", "excellent", "fun", "lovely"]
NEGATIVE = ["bad", "awful", "boring", "dull", "terrible"]
NEUTRAL = ["the", "movie", "film", "plot", "was", "is", "really", "very", "and", "acting", "story", "quite"]
VOCAB = ["<pad>", "not", *POSITIVE, *NEGATIVE, *NEUTRAL]
LENGTH = 14  # sentences are left-padded with <pad> to this many words


def make_corpus(n, rng):
    """``n`` sentences as word-id rows ``(n, LENGTH)`` and their labels ('positive', 'negative')."""
    X = np.zeros((n, LENGTH), dtype=np.int64)
    labels = []
    for i in range(n):
        words, score = [], 0
        for _ in range(rng.choice([1, 3])):
            polarity = rng.choice([1, -1])
            negated = rng.random() < 0.3
            words += [str(w) for w in rng.choice(NEUTRAL, rng.integers(0, 3))]
            words += ["not"] * negated + [str(rng.choice(POSITIVE if polarity > 0 else NEGATIVE))]
            score += -polarity if negated else polarity
        words = words[-LENGTH:]
        X[i, LENGTH - len(words) :] = [VOCAB.index(w) for w in words]
        labels.append("positive" if score > 0 else "negative")
    return X, np.array(labels)


def main(smoke=False):
    rng = np.random.default_rng(0)
    n_train, n_test = (400, 200) if smoke else (3000, 1000)
    X, y = make_corpus(n_train + n_test, rng)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    print(f"{n_train} training and {n_test} test sentences, e.g.:")
    for row, label in zip(X_test[:3], y_test[:3], strict=True):
        print(f"  {label:8s} | {' '.join(VOCAB[i] for i in row if i)}")

    # the baseline: logistic regression on word counts (no order)
    counts = [np.stack([np.bincount(row, minlength=len(VOCAB)) for row in part]) for part in (X_train, X_test)]
    baseline = LogisticRegression(max_iter=1000).fit(counts[0], y_train)
    print(f"bag-of-words logistic regression: test accuracy {baseline.score(counts[1], y_test):.3f}")

    model = LSTMClassifier(
        hidden_size=16 if smoke else 32,
        input_type="tokens",
        vocab_size=len(VOCAB),
        embedding_dim=8,
        learning_rate=0.01,
        batch_size=32,
        max_epochs=3 if smoke else 40,
        n_iter_no_change=5,
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"LSTM on word ids: {model.n_iter_} epochs in {time.perf_counter() - start:.1f} s")
    print(f"LSTM on word ids: test accuracy {model.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a small run that checks the example works")
    args = parser.parse_args()
    main(smoke=args.smoke or os.environ.get("TSRNN_EXAMPLE_SMOKE") == "1")
