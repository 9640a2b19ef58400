"""Every row of the README's "When the input is wrong" table raises what the table says."""

import re
from pathlib import Path

import numpy as np
import pytest

import tsrnn
from tsrnn import LSTMRegressor, RNNForecaster, compare
from tsrnn.forecasting import ETS, SeasonalNaive

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = README.read_text().split("## When the input is wrong", 1)[1].split("\n## ", 1)[0]
ROWS = re.findall(r"^\| (.+?) \| `(.+?)` \| `(\w+): (.+?)` \|$", SECTION, flags=re.M)


def _pattern(message):
    """The table's message as a regex: literal text, '...' standing for any details."""
    return ".*".join(re.escape(part.strip()) for part in message.split("..."))


def test_the_table_has_its_rows():
    assert len(ROWS) >= 15
    assert len(ROWS) == SECTION.count("\n| ") - 2  # every row parsed (the header and rule aside)


@pytest.mark.parametrize(("case", "code", "error", "message"), ROWS, ids=[row[0] for row in ROWS])
def test_the_readme_says_what_you_get(case, code, error, message):
    namespace = {
        "np": np,
        "tsrnn": tsrnn,
        "y": tsrnn.load_dataset("airpassengers"),
        "m": SeasonalNaive(season_length=12),
        "RNNForecaster": lambda **kw: RNNForecaster(**{"max_epochs": 1, "hidden_size": 4, **kw}),
        "SeasonalNaive": SeasonalNaive,
        "ETS": ETS,
        "LSTMRegressor": LSTMRegressor,
        "compare": compare,
    }
    with pytest.raises(Exception) as raised:  # noqa: B017 -- the type is checked by name below
        exec(code, namespace)
    assert type(raised.value).__name__ == error, raised.value
    assert re.search(_pattern(message), str(raised.value), flags=re.S), str(raised.value)
