"""Character-level text generation: a token GRU learns the next character, then writes.

The model reads windows of the opening of *Alice's Adventures in Wonderland* (Lewis
Carroll, 1865, public domain; ``datasets/alice_chapter1.txt``, provenance in
``datasets/README.md``) as character ids and predicts, at every step, the next one
(``input_type='tokens'``, ``return_sequences=True``). :func:`tsrnn.generate` then reads a
prompt once and samples one character at a time, carrying the hidden state forward, at
two temperatures and with ``top_k``.

Run ``python examples/text_generation.py`` (under a minute on 2 cores), or with
``--smoke`` (or ``TSRNN_EXAMPLE_SMOKE=1``) for a seconds-long check that it runs.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from tsrnn import GRUClassifier, generate

TEXT = Path(__file__).resolve().parents[1] / "datasets" / "alice_chapter1.txt"


def main(smoke=False):
    text = " ".join(TEXT.read_text(encoding="utf-8").split())  # one line, single spaces
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text])
    print(f"{len(text)} characters, a vocabulary of {len(chars)}")

    # every third window of T characters, its targets the same window shifted by one
    T = 48
    windows = np.lib.stride_tricks.sliding_window_view
    X, y = windows(ids[:-1], T)[::3], windows(ids[1:], T)[::3]
    model = GRUClassifier(
        hidden_size=16 if smoke else 64,
        input_type="tokens",
        vocab_size=len(chars),
        embedding_dim=16,
        return_sequences=True,
        learning_rate=0.01,
        batch_size=32,
        max_epochs=2 if smoke else 25,
        early_stopping=False,
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(X, y)
    print(f"trained {model.n_iter_} epochs on {len(X)} windows in {time.perf_counter() - start:.1f} s")
    curve = model.loss_curve_
    shown = sorted({0, *range(0, len(curve), max(1, len(curve) // 6)), len(curve) - 1})
    print("training loss (cross-entropy per character):", ", ".join(f"{i + 1}: {curve[i]:.3f}" for i in shown))

    prompt = "Alice was "
    tokens = [chars.index(c) for c in prompt]
    for temperature, top_k in ((0.5, None), (1.0, 5)):
        new = generate(model, tokens, 40 if smoke else 160, temperature=temperature, top_k=top_k, random_state=0)
        sample = prompt + "".join(chars[i] for i in new)
        print(f"\ntemperature={temperature}, top_k={top_k}:\n{sample}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the example works")
    args = parser.parse_args()
    main(smoke=args.smoke or os.environ.get("TSRNN_EXAMPLE_SMOKE") == "1")
