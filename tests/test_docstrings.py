"""The Examples sections of the public docstrings run and print what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "tsrnn.datasets",
    "tsrnn.estimators.regressors",
    "tsrnn.estimators.classifier",
    "tsrnn.nn.training",
    "tsrnn.forecasting.rnn",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
