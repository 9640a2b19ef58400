"""The first slow call of a cell's kernels is announced (logger always, stderr when asked)."""

import logging
import time

import numpy as np
import pytest

from tsrnn.kernels import announce


def _slow_kernel(x, seconds):
    time.sleep(seconds)
    return x.sum()


def _kernel(monkeypatch, seconds):
    monkeypatch.setattr(announce, "_done", set())
    monkeypatch.setattr(announce, "NOTICE_AFTER", 0.05)
    wrapped = announce.announcing(_slow_kernel, "lstm")
    return wrapped, (np.ones(3, np.float32), seconds)


def test_a_slow_first_call_is_announced_once(monkeypatch, caplog, capsys):
    wrapped, args = _kernel(monkeypatch, 0.3)
    with caplog.at_level(logging.INFO, logger="tsrnn"), announce.notes_to_stderr(True):
        assert wrapped(*args) == 3.0
        assert wrapped(*args) == 3.0  # the second call is not announced
    messages = [r.getMessage() for r in caplog.records]
    assert sum("compiling tsrnn's LSTM kernels (float32," in m for m in messages) == 1
    assert any("ready after" in m for m in messages)
    err = capsys.readouterr().err
    assert err.count("tsrnn: compiling tsrnn's LSTM kernels") == 1
    assert announce.cache_location() in err


def test_a_fast_first_call_says_nothing(monkeypatch, caplog, capsys):
    wrapped, args = _kernel(monkeypatch, 0.0)
    with caplog.at_level(logging.INFO, logger="tsrnn"), announce.notes_to_stderr(True):
        wrapped(*args)
    assert not caplog.records
    assert capsys.readouterr().err == ""


def test_stderr_only_when_asked(monkeypatch, capsys):
    wrapped, args = _kernel(monkeypatch, 0.3)
    wrapped(*args)
    assert capsys.readouterr().err == ""


def test_the_wrapper_keeps_the_kernel_signature_and_doc():
    import inspect

    from tsrnn.kernels import get_kernels

    for kernel in get_kernels("gru"):
        assert kernel.__name__.startswith("gru_")
        assert "Parameters" in kernel.__doc__
        assert "work" in inspect.signature(kernel).parameters


def test_warmup_reports_progress_and_times():
    from tsrnn.kernels.warmup import warmup

    lines = []
    times = warmup(["rnn"], ["float64"], progress=lines.append)
    assert list(times) == [("rnn", "float64")] and times["rnn", "float64"] >= 0
    assert lines[0] == "rnn float64 ..." and lines[-1].startswith("rnn float64: ")


@pytest.mark.slow
def test_warmup_in_parallel_processes():
    from tsrnn.kernels.warmup import warmup

    lines = []
    times = warmup(["rnn", "gru"], ["float64"], progress=lines.append, n_jobs=2)
    assert set(times) == {("rnn", "float64"), ("gru", "float64")}
    assert sorted(line.split(":")[0] for line in lines) == ["gru float64", "rnn float64"]
