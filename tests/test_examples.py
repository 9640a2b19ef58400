"""The scripts in examples/ run (in their smoke mode) and print what they promise."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name):
    env = {**os.environ, "TSRNN_EXAMPLE_SMOKE": "1"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _assert_two_accuracies(out, baseline, network):
    """The output of a classification example: a test accuracy in [0, 1] for its baseline and its network."""
    accuracies = [float(a) for a in re.findall(r"test accuracy (\d\.\d+)", out)]
    assert len(accuracies) == 2 and all(0.0 <= a <= 1.0 for a in accuracies)
    assert baseline in out and network in out


@pytest.mark.slow
def test_sentiment_classification_prints_both_accuracies():
    _assert_two_accuracies(_run("sentiment_classification.py"), "bag-of-words logistic regression", "LSTM on word ids")


@pytest.mark.slow
def test_text_generation_prints_the_loss_and_two_samples():
    out = _run("text_generation.py")
    losses = [float(v) for v in re.findall(r"\d+: (\d+\.\d+)", out.split("training loss")[1].splitlines()[0])]
    assert len(losses) >= 2 and losses[-1] < losses[0]  # the loss falls
    samples = re.findall(r"temperature=[\d.]+, top_k=\w+:\n(Alice was .+)", out)
    assert len(samples) == 2 and all(len(s) > len("Alice was ") + 20 for s in samples)


@pytest.mark.slow
def test_digits_classification_prints_both_accuracies():
    # smoke mode trains 3 epochs: whether the GRU beats the baseline then is not robust, so only the format
    _assert_two_accuracies(_run("digits_classification.py"), "logistic regression on 64 pixels", "GRU over image rows")


@pytest.mark.slow
def test_word_segmentation_prints_both_scores_and_a_respaced_sentence():
    out = _run("word_segmentation.py")
    scores = re.findall(r"^(.+): per-character accuracy (\d\.\d+), boundary F1 (\d\.\d+)$", out, flags=re.MULTILINE)
    assert [name for name, _, _ in scores] == ["logistic regression", "bidirectional GRU"]
    assert all(0.0 <= float(v) <= 1.0 for _, accuracy, f1 in scores for v in (accuracy, f1))
    assert out.splitlines()[-1].startswith("bidirectional GRU:")
    despaced = re.search(r"held out, spaces removed: (\S+)", out).group(1)
    respaced = out.splitlines()[-1].split(":", 1)[1].strip()  # the last line: the GRU's re-spaced sentence
    assert respaced.replace(" ", "") == despaced  # re-spacing only inserts spaces
