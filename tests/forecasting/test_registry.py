"""The named model line-up that the command line and the accuracy suite share."""

import subprocess
import sys

import pytest

from tsrnn.forecasting import AutoARIMA, RNNForecaster, SeasonalNaive
from tsrnn.forecasting.registry import MODEL_NAMES, MODELS, make_models


def test_make_models_builds_fresh_defaults():
    lstm, auto, naive = make_models(["lstm", "autoarima", "seasonalnaive"], horizon=6, season_length=4, seed=3)
    assert isinstance(lstm, RNNForecaster) and isinstance(auto, AutoARIMA) and isinstance(naive, SeasonalNaive)
    assert (lstm.cell, lstm.horizon, lstm.season_length, lstm.random_state) == ("lstm", 6, 4, 3)
    assert auto.season_length == naive.season_length == 4
    assert make_models(["lstm"], 6, 4, 3)[0] is not lstm


def test_only_the_networks_depend_on_the_seed():
    assert MODEL_NAMES == ("lstm", "gru", "rnn", "autoarima", "ets", "seasonalnaive")
    assert [name for name in MODEL_NAMES if MODELS[name].seeded] == ["lstm", "gru", "rnn"]


def test_unknown_names_are_listed():
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['prophet'\]; choose from lstm, gru"):
        make_models(["ets", "prophet"], 6, 4, 0)


def test_the_command_line_starts_without_numba_or_statsmodels():
    # the parser lists the model names; reading them must not load the heavy modules
    code = "import sys, tsrnn.cli; tsrnn.cli.build_parser(); print(' '.join({m.split('.')[0] for m in sys.modules}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(result.stdout.split())
    # top-level package names (numba-cuda's import redirector module is not numba itself)
    assert not {"numba", "statsmodels", "sklearn"} & loaded
