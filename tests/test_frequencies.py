"""The one frequency table gives what the three former tables gave (season, horizon, calendar)."""

import pandas as pd
import pytest

from tsrnn.frequencies import FREQUENCIES, calendar_attributes, default_horizon, default_season_length, frequency_code

# The tables this one replaced, as they were: the season lengths of the forecasting panel,
# the suite's horizons and RNNForecaster's calendar attributes (looked up after stripping
# 'S'/'E' from the code).
OLD_SEASONS = {
    "MS": 12,
    "ME": 12,
    "SMS": 24,
    "SME": 24,
    "BMS": 12,
    "BME": 12,
    "QS": 4,
    "QE": 4,
    "BQS": 4,
    "BQE": 4,
    "W": 52,
    "D": 7,
    "B": 5,
    "C": 5,
    "h": 24,
    "bh": 8,
}
OLD_HORIZONS = {"MS": 12, "ME": 12, "QS": 8, "QE": 8, "YS": 6, "YE": 6}
OLD_CALENDAR = {
    "M": (("month", 12),),
    "Q": (("quarter", 4),),
    "W": (("dayofyear", 365.25),),
    "D": (("dayofweek", 7), ("dayofyear", 365.25)),
    "B": (("dayofweek", 7), ("dayofyear", 365.25)),
    "h": (("hour", 24), ("dayofweek", 7)),
    "min": (("minute", 60), ("hour", 24)),
}
ALIASES = [
    "MS",
    "ME",
    "2MS",
    "SMS",
    "SME",
    "BMS",
    "BME",
    "CBMS",
    "QS",
    "QE",
    "QS-JAN",
    "QE-MAR",
    "BQS",
    "BQE",
    "YS",
    "YE",
    "BYS",
    "YS-JUL",
    "W",
    "W-MON",
    "2W",
    "D",
    "3D",
    "B",
    "C",
    "h",
    "2h",
    "bh",
    "min",
    "15min",
    "s",
    "ms",
    "us",
    "ns",
    "WOM-1MON",
]


@pytest.mark.parametrize("alias", ALIASES)
def test_the_table_reproduces_the_tables_it_replaced(alias):
    offset = pd.tseries.frequencies.to_offset(alias)
    code = offset.rule_code.split("-")[0]
    assert frequency_code(offset) == frequency_code(alias) == code
    assert default_season_length(offset) == (OLD_SEASONS.get(code, 1) if offset.n == 1 else 1)
    assert calendar_attributes(offset) == OLD_CALENDAR.get(code.rstrip("SE"), ())
    assert default_horizon(alias) == OLD_HORIZONS.get(code, 2 * default_season_length(alias))


def test_integer_time_has_no_season_or_calendar():
    assert frequency_code(1) is None
    assert default_season_length(2) == 1 and calendar_attributes(1) == () and default_horizon(1) == 2


def test_every_row_is_complete():
    for code, row in FREQUENCIES.items():
        assert row.season_length >= 1, code
        assert row.horizon is None or row.horizon >= 1, code
        assert all(isinstance(attribute, str) and period > 0 for attribute, period in row.calendar), code
