"""What tsrnn knows about each sampling frequency, in one table.

For each pandas frequency code (the part of an offset's rule code before any ``-``:
``'MS'``, ``'QS'`` for ``'QS-JAN'``, ``'W'`` for ``'W-SUN'``, ...) :data:`FREQUENCIES` holds
the customary season length, the forecast horizon of the accuracy suite and the calendar
attributes :class:`~tsrnn.forecasting.RNNForecaster` encodes. Forecasters, metrics, the
datasets, the suite and the command line all read it through the functions below.
"""

from typing import NamedTuple

import pandas as pd

__all__ = [
    "FREQUENCIES",
    "Frequency",
    "calendar_attributes",
    "default_horizon",
    "default_season_length",
    "frequency_code",
]


class Frequency(NamedTuple):
    """One row of :data:`FREQUENCIES`.

    Parameters
    ----------
    season_length : int
        Observations per calendar cycle (a year for months, quarters and weeks, a week for
        days, a day for hours), for a step of one unit; 1 when there is no customary season.
    horizon : int or None, default=None
        Forecast horizon of the accuracy suite; None means two seasons.
    calendar : tuple of (str, float), default=()
        ``(DatetimeIndex attribute, period)`` pairs worth encoding as calendar features.
    """

    season_length: int
    horizon: int | None = None
    calendar: tuple = ()


_MONTH = (("month", 12),)
_QUARTER = (("quarter", 4),)
_DAY = (("dayofweek", 7), ("dayofyear", 365.25))

#: Frequency code -> :class:`Frequency`. Codes not listed have season 1 and no calendar terms.
FREQUENCIES = {
    # The suite's horizons: M4's 6 for yearly and 8 for quarterly data, a year for monthly.
    "MS": Frequency(12, 12, _MONTH),
    "ME": Frequency(12, 12, _MONTH),
    "M": Frequency(12, 12, _MONTH),  # pandas < 2.2 name of month end
    "SMS": Frequency(24),
    "SME": Frequency(24),
    "BMS": Frequency(12),
    "BME": Frequency(12),
    "QS": Frequency(4, 8, _QUARTER),
    "QE": Frequency(4, 8, _QUARTER),
    "Q": Frequency(4, 8, _QUARTER),  # pandas < 2.2 name of quarter end
    "BQS": Frequency(4),
    "BQE": Frequency(4),
    "YS": Frequency(1, 6),
    "YE": Frequency(1, 6),
    "W": Frequency(52, calendar=(("dayofyear", 365.25),)),
    "D": Frequency(7, calendar=_DAY),
    "B": Frequency(5, calendar=_DAY),
    "C": Frequency(5),
    "h": Frequency(24, calendar=(("hour", 24), ("dayofweek", 7))),
    "bh": Frequency(8),
    "min": Frequency(1, calendar=(("minute", 60), ("hour", 24))),
}

_NO_SEASON = Frequency(1)


def _offset(freq):
    """A pandas offset for an offset or an alias string; None for an integer step."""
    if isinstance(freq, str):
        return pd.tseries.frequencies.to_offset(freq)
    return freq if isinstance(freq, pd.offsets.BaseOffset) else None


def frequency_code(freq):
    """The code of a frequency in :data:`FREQUENCIES`.

    Parameters
    ----------
    freq : pandas offset, str or int
        An offset (``panel.freq``), an alias such as ``'MS'``, or the integer step of
        integer time.

    Returns
    -------
    code : str or None
        ``'QS'`` for ``'QS-JAN'``, ``'W'`` for ``'W-SUN'``, ...; None for integer time.
    """
    offset = _offset(freq)
    return None if offset is None else offset.rule_code.split("-")[0]


def _row(freq):
    return FREQUENCIES.get(frequency_code(freq), _NO_SEASON)


def default_season_length(freq):
    """Customary season length of a frequency (12 for monthly, 4 quarterly, ...); 1 if unknown.

    Parameters
    ----------
    freq : pandas offset, str or int
        See :func:`frequency_code`. Multiples (``2MS``) and integer time have no customary
        season: 1.

    Returns
    -------
    season_length : int
    """
    offset = _offset(freq)
    if offset is None or offset.n != 1:
        return 1
    return _row(offset).season_length


def default_horizon(freq):
    """Forecast horizon of the accuracy suite for a frequency (12 for monthly, 8 quarterly, ...).

    Parameters
    ----------
    freq : pandas offset, str or int
        See :func:`frequency_code`.

    Returns
    -------
    horizon : int
        The table's horizon, else two seasons of :func:`default_season_length`.
    """
    horizon = _row(freq).horizon
    return 2 * default_season_length(freq) if horizon is None else horizon


def calendar_attributes(freq):
    """Calendar attributes worth encoding for a frequency, with their periods.

    Parameters
    ----------
    freq : pandas offset or str
        See :func:`frequency_code`; any multiple shares the attributes of its unit (a
        two-monthly series still has a month of the year).

    Returns
    -------
    attributes : tuple of (str, float)
        ``(DatetimeIndex attribute, period)`` pairs, e.g. ``(('month', 12),)`` for monthly
        data; empty for integer time and for frequencies without calendar terms.
    """
    return _row(freq).calendar
