"""One internal representation for every input format, and the way back.

Users hand forecasters a ``pd.Series`` (one series), a wide ``pd.DataFrame`` (one column
per series) or a long frame ``unique_id, ds, y`` (further columns are exogenous
covariates). :func:`to_panel` validates any of them and turns it into a :class:`Panel`:
all values in one float64 buffer plus ``indptr`` offsets, the layout of statsforecast's
``GroupedArray``, so models loop over series without pandas. :func:`format_forecast`
turns forecast arrays back into the shape family of the input, naming quantile columns
with :func:`quantile_column` and :func:`interval_column` (read back by :func:`model_columns`).

This is the one layout every forecaster, the backtest, the metrics and the plots share; a
new forecaster sees only a :class:`Panel` (see :mod:`tsrnn.forecasting.base`).

Nothing is reordered, filled or dropped here: anything that is not a clean, regular,
sorted series raises a ``ValueError``/``TypeError`` that names the problem.
"""

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = [
    "LONG_COLUMNS",
    "Panel",
    "format_forecast",
    "format_in_sample",
    "future_exog",
    "interval_column",
    "long_columns",
    "model_columns",
    "quantile_column",
    "to_panel",
]

LONG_COLUMNS = ("unique_id", "ds", "y")


def quantile_column(alias, q):
    """Name of the column holding quantile ``q`` of model ``alias``.

    Parameters
    ----------
    alias : str
        Model alias (the point forecast column).
    q : float
        Probability in (0, 1).

    Returns
    -------
    column : str
        ``f"{alias}-q{q}"`` with ``q`` in the shortest form that reads back as the same
        float, e.g. ``'ETS-q0.1'``: distinct quantiles always get distinct names
        (``'{:g}'`` would give 0.1 and 0.1000001 the same one).
    """
    return f"{alias}-q{float(q)!r}"


def interval_column(alias, level, bound):
    """Name of the ``bound`` ('lo' or 'hi') column of model ``alias`` at ``level`` percent.

    Parameters
    ----------
    alias : str
    level : float
        Level in percent, e.g. 80.
    bound : {'lo', 'hi'}

    Returns
    -------
    column : str
        ``f"{alias}-{bound}-{level:g}"`` (statsforecast's naming), e.g. ``'ETS-lo-80'``.
    """
    return f"{alias}-{bound}-{level:g}"


def _owned_suffix(models, column):
    """(owner alias, suffix) when ``column`` is a quantile or bound column of a known model."""
    for alias in models:
        for tag in ("-q", "-lo-", "-hi-"):
            if column.startswith(alias + tag):
                return alias, column[len(alias) :]
    return None, None


def _read_suffix(alias, column, suffix):
    """('q', q) or ('lo'/'hi', level) from a column suffix, checked against the naming functions."""
    try:
        kind, value = ("q", float(suffix[2:])) if suffix.startswith("-q") else (suffix[1:3], float(suffix[4:]))
    except ValueError:
        kind = None
    named = {"q": lambda: quantile_column(alias, value)}
    named.update({b: (lambda b=b: interval_column(alias, value, b)) for b in ("lo", "hi")})
    if kind is None or named[kind]() != column:
        raise ValueError(f"Cannot read column {column!r} as a quantile or interval bound of {alias!r}.")
    return kind, value


def model_columns(columns, intervals=False):
    """Group forecast columns by model: the inverse of :func:`quantile_column` and :func:`interval_column`.

    Parameters
    ----------
    columns : iterable of str
        Forecast columns, in frame order, without the key columns (``unique_id``, ``ds``,
        ...): each model's point column followed by its ``<alias>-q<q>`` and
        ``<alias>-lo-<level>``/``<alias>-hi-<level>`` columns.
    intervals : bool, default=False
        Also return the interval bound columns.

    Returns
    -------
    models : dict
        ``{alias: {q: column}}`` in column order; ``{}`` for a model without quantiles.
    bounds : dict
        Only with ``intervals=True``: ``{alias: {level: (lower column, upper column)}}``
        for the levels with both bounds.

    Raises
    ------
    ValueError
        If a column looks like a quantile or bound of a model but is not named by
        :func:`quantile_column` / :func:`interval_column`, or a level lacks one bound.
    """
    models, found = {}, {}
    for column in columns:
        owner, suffix = _owned_suffix(models, str(column))
        if owner is None:
            models[column], found[column] = {}, {}
            continue
        kind, value = _read_suffix(owner, str(column), suffix)
        if kind == "q":
            models[owner][value] = column
        else:
            found[owner].setdefault(value, {})[kind] = column
    bounds = {}
    for alias, levels in found.items():
        bounds[alias] = {}
        for level, pair in levels.items():
            if set(pair) != {"lo", "hi"}:
                raise ValueError(
                    f"Model {alias!r} has only one bound of its {level:g} % interval: {list(pair.values())}."
                )
            bounds[alias][level] = (pair["lo"], pair["hi"])
    return (models, bounds) if intervals else models


@dataclass(eq=False)
class Panel:
    """Several series in one buffer.

    Series ``i`` is ``values[indptr[i]:indptr[i + 1]]`` with timestamps
    ``ds[indptr[i]:indptr[i + 1]]``, oldest first. Built by :func:`to_panel`.

    Parameters
    ----------
    values : ndarray of shape (n_obs,)
        float64 observations, series after series.
    indptr : ndarray of shape (n_series + 1,)
        int64 offsets of each series in ``values``.
    ds : pd.Index of shape (n_obs,)
        Timestamps (``DatetimeIndex``) or integer time points of every observation.
    ids : pd.Index of shape (n_series,)
        Series identifiers: the Series name, the wide frame's columns or the
        ``unique_id`` values in order of first appearance.
    freq : pandas offset or int
        Time step: a pandas offset for timestamps, an integer step for integer time.
    kind : {'series', 'wide', 'long'}
        Input format, so outputs come back in the same shape family.
    exog : ndarray of shape (n_obs, n_exog) or None
        float64 exogenous covariates aligned with ``values``.
    exog_names : tuple of str
        Covariate names, in column order.
    exog_per_series : bool
        Wide input only: ``X`` had ``(series, covariate)`` columns (else one shared set).
    index_name : hashable
        Name of the input's time index (Series/wide), reused for forecast indexes.
    period_freq : pandas offset or None
        The period frequency when the input's time axis was a ``PeriodIndex`` (or a long
        frame's Period column): ``ds`` then holds the periods' start timestamps, so every
        model sees one kind of time axis, and :meth:`input_time` turns timestamps back
        into periods for the outputs. None for timestamp and integer input.
    columns : tuple of str
        Names of the id, time and target columns of a long input (``unique_id, ds, y``
        unless the user gave others); long outputs use them.
    """

    values: np.ndarray
    indptr: np.ndarray
    ds: pd.Index
    ids: pd.Index
    freq: object
    kind: str
    exog: np.ndarray | None = None
    exog_names: tuple = ()
    exog_per_series: bool = False
    index_name: Hashable = None
    period_freq: object = None
    columns: tuple = LONG_COLUMNS

    @property
    def n_series(self):
        return len(self.ids)

    @property
    def lengths(self):
        """ndarray of shape (n_series,): observations per series."""
        return np.diff(self.indptr)

    @property
    def last_ds(self):
        """pd.Index of shape (n_series,): last timestamp of each series."""
        return self.ds[self.indptr[1:] - 1]

    @property
    def is_datetime(self):
        return isinstance(self.ds, pd.DatetimeIndex)

    def series(self, i):
        """Values of series ``i`` (a view)."""
        return self.values[self.indptr[i] : self.indptr[i + 1]]

    def exog_of(self, i):
        """Covariates of series ``i``, shape (length_i, n_exog), or None."""
        if self.exog is None:
            return None
        return self.exog[self.indptr[i] : self.indptr[i + 1]]

    def input_time(self, index):
        """``index`` (timestamps of this panel's time axis) in the input's own time type.

        Periods when the input had a ``PeriodIndex`` or a Period ``ds`` column, ``index``
        unchanged otherwise: what every output (forecasts, long frames, cutoffs) shows.
        """
        if self.period_freq is None:
            return index
        return pd.DatetimeIndex(index).to_period(self.period_freq)

    @property
    def input_ds(self):
        """pd.Index of shape (n_obs,): ``ds`` in the input's own time type (see :meth:`input_time`)."""
        return self.input_time(self.ds)

    def future_ds(self, h):
        """Timestamps of the next ``h`` steps of every series, series after series.

        Internal time (start timestamps for period input, as ``ds``); outputs convert them
        with :meth:`input_time`.

        Returns
        -------
        ds : pd.Index of shape (n_series * h,)
        """
        last = self.last_ds
        if not self.is_datetime:
            steps = self.freq * np.arange(1, h + 1)
            return pd.Index((last.to_numpy()[:, None] + steps).ravel())
        # Calendar offsets (months, quarters) cannot be added to an array at once: build
        # the range after each distinct end date once (few distinct ends in practice).
        _, first, inverse = np.unique(last.asi8, return_index=True, return_inverse=True)
        blocks = [pd.date_range(start=last[f], periods=h + 1, freq=self.freq)[1:] for f in first]
        positions = (inverse.ravel()[:, None] * h + np.arange(h)).ravel()
        return blocks[0].append(blocks[1:])[positions]

    def future_index(self, h):
        """Forecast index of Series/wide outputs (all series end together), in the input's time type."""
        if self.is_datetime:
            index = pd.date_range(start=self.last_ds[0], periods=h + 1, freq=self.freq, name=self.index_name)[1:]
            return self.input_time(index)
        last = int(self.last_ds[0])
        return pd.RangeIndex(last + self.freq, last + self.freq * (h + 1), self.freq, name=self.index_name)

    def to_long(self, exog=True):
        """The panel as a long frame ``unique_id, ds, y`` (+ covariate columns).

        Always the standard column names (the frame tsrnn passes between its own parts),
        with ``ds`` in the input's time type (periods for period input).
        """
        frame = pd.DataFrame(
            {
                "unique_id": np.repeat(self.ids.to_numpy(), self.lengths),
                "ds": self.input_ds,
                "y": self.values,
            }
        )
        if exog and self.exog is not None:
            for j, name in enumerate(self.exog_names):
                frame[name] = self.exog[:, j]
        return frame


# ---------------------------------------------------------------- validation helpers


def _describe(ids, indptr, flat_position, ds):
    """'series 'a' at 1960-01-01' for an error message."""
    series = int(np.searchsorted(indptr, flat_position, side="right") - 1)
    return f"series {ids[series]!r} at {ds[flat_position]}"


def _as_float(values, what):
    """Numeric array-like -> float64 ndarray, or a TypeError naming ``what``."""
    if ptypes.is_bool_dtype(values.dtype) or not ptypes.is_numeric_dtype(values.dtype):
        raise TypeError(f"{what} must be numeric; got dtype {values.dtype}.")
    if ptypes.is_complex_dtype(values.dtype):  # the cast below would drop the imaginary part
        raise TypeError(f"{what} must be real numbers; got dtype {values.dtype}.")
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.float64)


def _check_finite(values, what, locate):
    """Raise if ``values`` holds NaN/inf; ``locate(flat_position)`` names the first."""
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{what} contains {int(bad.sum())} NaN or infinite value(s) (first: "
            f"{locate(first)}). Fill or drop them explicitly before fitting; tsrnn does "
            "not guess."
        )


def _check_order(t, same_series, locate, what):
    """Strictly increasing time within each series, or a ValueError."""
    step = np.diff(t)
    duplicate = (step == 0) & same_series
    if duplicate.any():
        raise ValueError(f"{what} has duplicate timestamps ({locate(int(np.flatnonzero(duplicate)[0]) + 1)}).")
    backwards = (step < 0) & same_series
    if backwards.any():
        raise ValueError(
            f"{what} is not sorted by time ({locate(int(np.flatnonzero(backwards)[0]) + 1)} "
            "comes after a later timestamp). Sort it first; tsrnn never reorders data."
        )


def _infer_offset(index):
    """pd.infer_freq as an offset (or None), without pandas' future-change warning."""
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            freq = pd.infer_freq(index)
    except pd.errors.OptionError:  # pandas versions without the option return a str
        freq = pd.infer_freq(index)
    return None if freq is None else pd.tseries.frequencies.to_offset(freq)


def _index_axis(index, what):
    """Validate the time index of a Series/wide frame; return (index, freq, period_freq).

    A ``PeriodIndex`` is validated and returned as its periods' start timestamps, with its
    period frequency as ``period_freq`` (None for other indexes).
    """
    if isinstance(index, pd.PeriodIndex):
        if index.hasnans:
            raise ValueError(f"The index of {what} contains missing periods (NaT).")
        locate = lambda k: f"at {index[k]}"
        _check_order(index.asi8, np.ones(len(index) - 1, bool), locate, what)
        if len(index) > 1 and (np.diff(index.asi8) != 1).any():
            first = int(np.flatnonzero(np.diff(index.asi8) != 1)[0]) + 1
            raise ValueError(f"The PeriodIndex of {what} has a gap ({locate(first)}); every period must be present.")
        stamps = index.to_timestamp(how="start")
        # the timestamp offset of one period step, from two consecutive periods (a
        # one-period index gets them from the period after it)
        pair = pd.period_range(index[0], periods=3, freq=index.freq).to_timestamp(how="start")
        stamps.name = index.name
        return stamps, _infer_offset(pair), index.freq
    if isinstance(index, pd.DatetimeIndex):
        if index.hasnans:
            raise ValueError(f"The index of {what} contains missing timestamps (NaT).")
        locate = lambda k: f"at {index[k]}"
        _check_order(index.asi8, np.ones(len(index) - 1, bool), locate, what)
        freq = index.freq
        if freq is None and len(index) >= 3:
            freq = _infer_offset(index)
        if freq is None:
            raise ValueError(
                f"Cannot determine the frequency of {what}: its DatetimeIndex has no freq and "
                "none can be inferred (irregular spacing, gaps, or fewer than 3 timestamps). "
                "Give it a regular index, e.g. y.asfreq('MS') after checking for gaps."
            )
        return index, pd.tseries.frequencies.to_offset(freq), None
    if ptypes.is_integer_dtype(index.dtype):
        t = index.to_numpy(np.int64)
        locate = lambda k: f"at {t[k]}"
        _check_order(t, np.ones(len(t) - 1, bool), locate, what)
        return index, _integer_step(t, np.ones(len(t) - 1, bool), locate, what), None
    raise TypeError(
        f"The index of {what} must be a DatetimeIndex, a PeriodIndex or an integer index; got "
        f"{type(index).__name__} of dtype {index.dtype}."
    )


def _integer_step(t, same_series, locate, what):
    """The one step between consecutive integer time points, or a ValueError."""
    step = np.diff(t)[same_series]
    if step.size == 0:
        return 1
    if (step != step[0]).any():
        first = int(np.flatnonzero(same_series & (np.diff(t) != step[0]))[0]) + 1
        raise ValueError(f"{what} has irregular spacing ({locate(first)}); expected a step of {step[0]}.")
    return int(step[0])


# ---------------------------------------------------------------- input formats


def _from_series(y, X, use_exog):
    if y.empty:
        raise ValueError("y is an empty Series.")
    index, freq, period_freq = _index_axis(y.index, "y")
    values = _as_float(y, "y")
    _check_finite(values, "y", lambda k: f"{index[k]}")
    name = y.name if y.name is not None else "y"
    panel = Panel(
        values=values,
        indptr=np.array([0, len(values)], dtype=np.int64),
        ds=index,
        ids=pd.Index([name]),
        freq=freq,
        kind="series",
        index_name=y.index.name,
        period_freq=period_freq,
    )
    if use_exog and X is not None:
        X = _aligned_exog(X, y.index)
        panel.exog = _exog_values(X, lambda k: f"{index[k // X.shape[1]]}")
        panel.exog_names = tuple(X.columns)
    return panel


def _from_wide(y, X, use_exog):
    if y.shape[1] == 0 or y.shape[0] == 0:
        raise ValueError(f"y is an empty DataFrame (shape {y.shape}).")
    if y.columns.has_duplicates:
        raise ValueError(f"y has duplicate column names: {list(y.columns[y.columns.duplicated()])}.")
    for column in y.columns:
        if ptypes.is_bool_dtype(y[column].dtype) or not ptypes.is_numeric_dtype(y[column].dtype):
            raise TypeError(
                f"Column {column!r} of y must be numeric; got dtype {y[column].dtype}. y has no "
                f"{LONG_COLUMNS[0]!r} or {LONG_COLUMNS[1]!r} column, so it is read as a wide frame (one "
                "column per series); for a long frame with other column names pass id_col=, time_col= and "
                "target_col=."
            )
    index, freq, period_freq = _index_axis(y.index, "y")
    n_time, n_series = y.shape
    # Column-major ravel: series after series.
    values = np.ascontiguousarray(y.to_numpy(dtype=np.float64, na_value=np.nan).T).ravel()
    _check_finite(values, "y", lambda k: f"column {y.columns[k // n_time]!r} at {index[k % n_time]}")
    panel = Panel(
        values=values,
        indptr=np.arange(n_series + 1, dtype=np.int64) * n_time,
        ds=index[np.tile(np.arange(n_time), n_series)],
        ids=y.columns,
        freq=freq,
        kind="wide",
        index_name=y.index.name,
        period_freq=period_freq,
    )
    if use_exog and X is not None:
        X = _aligned_exog(X, y.index)
        if isinstance(X.columns, pd.MultiIndex):
            blocks, names = _per_series_exog(X, y.columns)
            panel.exog = np.concatenate(blocks, axis=0)
            panel.exog_per_series = True
        else:
            names = tuple(X.columns)
            panel.exog = np.tile(_exog_values(X, lambda k: f"row {k // X.shape[1]}"), (n_series, 1))
        panel.exog_names = names
    return panel


def _per_series_exog(X, series_ids):
    """Split (series, covariate) columns into one block per series."""
    if X.columns.nlevels != 2:
        raise ValueError("X with MultiIndex columns must have exactly two levels: (series, covariate).")
    blocks, names = [], None
    for sid in series_ids:
        if sid not in X.columns.get_level_values(0):
            raise ValueError(f"X has no covariates for series {sid!r}; expected columns ({sid!r}, <covariate>).")
        block = X[sid]
        if names is None:
            names = tuple(block.columns)
        elif tuple(block.columns) != names:
            raise ValueError(
                f"Every series needs the same covariates in X; series {sid!r} has "
                f"{list(block.columns)}, expected {list(names)}."
            )
        # called at once, but bind this iteration's values anyway (bugbear B023)
        blocks.append(_exog_values(block, lambda k, sid=sid, block=block: f"series {sid!r}, row {k // block.shape[1]}"))
    return blocks, names


def _from_long(df, X, use_exog, columns):
    id_col, time_col, target_col = columns
    if X is not None:
        raise TypeError(
            f"With a long frame, covariates are its extra columns (beside {id_col}, {time_col}, {target_col}); "
            "do not pass X as well."
        )
    if df.empty:
        raise ValueError("y is an empty DataFrame.")
    if df.columns.has_duplicates:
        raise ValueError(f"y has duplicate column names: {list(df.columns[df.columns.duplicated()])}.")
    if df[id_col].isna().any():
        raise ValueError(f"Column {id_col!r} contains missing values.")
    codes, uniques = pd.factorize(df[id_col], sort=False)
    if (np.diff(codes) < 0).any():
        raise ValueError(
            f"The rows of each {id_col} must be contiguous and sorted by {time_col} (tsrnn never "
            f"reorders data). Sort first: df.sort_values([{id_col!r}, {time_col!r}])."
        )
    indptr = np.concatenate([[0], np.cumsum(np.bincount(codes))]).astype(np.int64)
    ds = pd.Index(df[time_col])
    if ds.hasnans:
        raise ValueError(f"Column {time_col!r} contains missing timestamps.")
    same_series = codes[1:] == codes[:-1]
    locate = lambda k: _describe(uniques, indptr, k, ds)
    period_freq = None
    if isinstance(ds, pd.PeriodIndex):
        _check_order(ds.asi8, same_series, locate, "y")
        gap = (np.diff(ds.asi8) != 1) & same_series
        if gap.any():
            raise ValueError(f"y has a gap in its periods ({locate(int(np.flatnonzero(gap)[0]) + 1)}).")
        period_freq = ds.freq
        # the timestamp offset of one period step, from consecutive periods
        freq = _infer_offset(pd.period_range(ds[0], periods=3, freq=period_freq).to_timestamp(how="start"))
        ds = ds.to_timestamp(how="start")
    elif isinstance(ds, pd.DatetimeIndex):
        _check_order(ds.asi8, same_series, locate, "y")
        freq = _long_frequency(ds, indptr, same_series, locate, uniques)
    elif ptypes.is_integer_dtype(ds.dtype):
        t = ds.to_numpy(np.int64)
        _check_order(t, same_series, locate, "y")
        freq = _integer_step(t, same_series, locate, "y")
    else:
        raise TypeError(
            f"Column {time_col!r} must hold timestamps (datetime64), periods or integers; got dtype {ds.dtype}. "
            f"Convert it with pd.to_datetime(df[{time_col!r}])."
        )
    values = _as_float(df[target_col], f"Column {target_col!r}")
    _check_finite(values, f"Column {target_col!r}", locate)
    panel = Panel(
        values=values,
        indptr=indptr,
        ds=ds,
        ids=pd.Index(uniques, name="unique_id"),
        freq=freq,
        kind="long",
        period_freq=period_freq,
        columns=tuple(columns),
    )
    exog_columns = [c for c in df.columns if c not in columns]
    if use_exog and exog_columns:
        panel.exog = _exog_values(df[exog_columns], lambda k: locate(k // len(exog_columns)))
        panel.exog_names = tuple(exog_columns)
    return panel


def _long_frequency(ds, indptr, same_series, locate, ids):
    """Infer the frequency from the longest series, then check every series against it."""
    lengths = np.diff(indptr)
    longest = int(np.argmax(lengths))
    if lengths[longest] < 3:
        raise ValueError("Cannot infer the frequency: every series has fewer than 3 timestamps.")
    sample = ds[indptr[longest] : indptr[longest + 1]]
    freq = _infer_offset(sample)
    if freq is None:
        raise ValueError(
            f"Cannot infer a regular frequency from the timestamps of series {ids[longest]!r} "
            f"(the longest; first ones: {[str(t) for t in sample[:3]]}): irregular spacing or gaps."
        )
    if isinstance(freq, pd.offsets.Tick):
        # Fixed-length steps: compare the differences directly.
        expected = pd.Timedelta(freq) // pd.Timedelta(1, unit=ds.unit)  # in ds.asi8 units
        off_grid = (np.diff(ds.asi8) != expected) & same_series
    else:
        # Calendar steps: positions on one grid spanning all series must advance by one.
        grid = pd.date_range(ds.min(), ds.max(), freq=freq)
        position = grid.get_indexer(ds)
        if (position < 0).any():
            raise ValueError(
                f"y has a timestamp off the {freq.freqstr} grid ({locate(int(np.flatnonzero(position < 0)[0]))})."
            )
        off_grid = (np.diff(position) != 1) & same_series
    if off_grid.any():
        raise ValueError(
            f"y has irregular spacing or a gap for frequency {freq.freqstr} "
            f"({locate(int(np.flatnonzero(off_grid)[0]) + 1)})."
        )
    return freq


def _aligned_exog(X, index):
    """X as a DataFrame on exactly ``index`` (Series/wide input)."""
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
    if not X.index.equals(index):
        raise ValueError(
            "X must have exactly the same index as y (same timestamps, same order); "
            f"y has {len(index)} rows from {index[0]}, X has {len(X)} rows"
            + (f" from {X.index[0]}." if len(X) else ".")
        )
    return X


def _exog_values(frame, locate):
    for column in frame.columns:
        dtype = frame[column].dtype
        if ptypes.is_bool_dtype(dtype) or not ptypes.is_numeric_dtype(dtype):
            raise TypeError(f"Covariate {column!r} must be numeric; got dtype {dtype}.")
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_finite(values, "The covariates", locate)
    return values


def to_panel(y, X=None, use_exog=True, id_col=None, time_col=None, target_col=None):
    """Validate any supported input and convert it to a :class:`Panel`.

    Parameters
    ----------
    y : pd.Series, pd.DataFrame (wide) or pd.DataFrame (long ``unique_id, ds, y``)
        The series. A DataFrame is long when it has an id or time column (``unique_id``,
        ``ds`` or the names given below; then it needs all three), wide otherwise. The
        time axis is a ``DatetimeIndex``/datetime column, a ``PeriodIndex``/Period column
        (outputs keep periods) or integers.
    X : pd.DataFrame or None, default=None
        Covariates for Series/wide input, on the same index as ``y``. For wide input,
        plain columns are shared by all series and ``(series, covariate)``
        MultiIndex columns give each series its own. Long frames carry covariates as
        extra columns instead.
    use_exog : bool, default=True
        If False, covariates are not read (models that do not use them).
    id_col, time_col, target_col : str or None, default=None
        Names of a long frame's series id, time and target columns (as in mlforecast);
        None means ``'unique_id'``, ``'ds'`` and ``'y'``. Long outputs use the same names.

    Returns
    -------
    panel : Panel
    """
    columns = long_columns(id_col, time_col, target_col)
    named = (id_col, time_col, target_col) != (None, None, None)
    if isinstance(y, pd.Series):
        if named:
            raise TypeError("id_col, time_col and target_col name the columns of a long DataFrame; y is a Series.")
        return _from_series(y, X, use_exog)
    if not isinstance(y, pd.DataFrame):
        raise TypeError(
            "y must be a pd.Series, a wide pd.DataFrame (one column per series) or a long "
            f"pd.DataFrame with columns {', '.join(columns)}; got {type(y).__name__}."
        )
    if isinstance(y.columns, pd.MultiIndex):
        raise ValueError("y must not have MultiIndex columns.")
    if named or set(columns[:2]) & set(y.columns):
        missing = [c for c in columns if c not in y.columns]
        if missing:
            raise ValueError(
                f"A long frame needs columns {', '.join(map(str, columns))}; missing {missing} (got {list(y.columns)})."
                + ("" if named else " Name yours with id_col=, time_col= and target_col=.")
            )
        return _from_long(y, X, use_exog, columns)
    return _from_wide(y, X, use_exog)


def long_columns(id_col=None, time_col=None, target_col=None):
    """The (id, time, target) column names of a long frame, None meaning ``unique_id, ds, y``.

    Raises
    ------
    TypeError
        If a name is not a string.
    ValueError
        If two of them are the same.
    """
    columns = tuple(
        default if name is None else name for name, default in zip((id_col, time_col, target_col), LONG_COLUMNS)
    )
    for label, name in zip(("id_col", "time_col", "target_col"), columns):
        if not isinstance(name, str) or not name:
            raise TypeError(f"{label} must be a non-empty str or None; got {name!r}.")
    if len(set(columns)) < 3:
        raise ValueError(f"id_col, time_col and target_col must be three different columns; got {columns}.")
    return columns


# ---------------------------------------------------------------- future covariates


def future_exog(panel, X_future, h, names=None):
    """Covariates ``names`` (default: all) of the next ``h`` steps, shape (n_series, h, n_names).

    ``X_future`` follows the fit input: a DataFrame indexed by the future timestamps
    (Series/wide; extra later rows are ignored) or a long frame ``unique_id, ds`` plus
    the covariate columns.
    """
    names = list(panel.exog_names) if names is None else list(names)
    if X_future is None:
        raise ValueError(
            f"The model was fitted with covariates {names}; predict needs X_future with their "
            f"values for the {h} forecast steps."
        )
    if not isinstance(X_future, pd.DataFrame):
        if isinstance(X_future, pd.Series):
            X_future = X_future.to_frame()
        else:
            raise TypeError(f"X_future must be a pandas DataFrame; got {type(X_future).__name__}.")
    if panel.kind == "long":
        return _future_exog_long(panel, X_future, h, names)
    index = panel.future_index(h)
    missing = index.difference(X_future.index)
    if len(missing):
        raise ValueError(
            f"X_future lacks {len(missing)} of the {h} forecast timestamps (first missing: "
            f"{missing[0]}); it needs a row for each of {index[0]} .. {index[-1]}."
        )
    rows = X_future.loc[index]
    if panel.exog_per_series:
        blocks = [_select(rows[sid], names, f"X_future[{sid!r}]") for sid in panel.ids]
        return np.stack(blocks)
    block = _select(rows, names, "X_future")
    return np.broadcast_to(block, (panel.n_series, *block.shape)).copy()


def _select(frame, names, what):
    absent = [n for n in names if n not in frame.columns]
    if absent:
        raise ValueError(f"{what} lacks covariate column(s) {absent}.")
    return _exog_values(frame[names], lambda k: f"row {k // len(names)}")


def _future_exog_long(panel, X_future, h, names):
    id_col, time_col, _ = panel.columns
    absent = [c for c in [id_col, time_col, *names] if c not in X_future.columns]
    if absent:
        raise ValueError(f"X_future lacks column(s) {absent}.")
    provided = X_future[[id_col, time_col, *names]]
    if provided.duplicated([id_col, time_col]).any():
        raise ValueError(f"X_future has duplicate ({id_col}, {time_col}) rows.")
    expected_ids = np.repeat(panel.ids.to_numpy(), h)
    expected_ds = panel.input_time(panel.future_ds(h))
    keys = pd.MultiIndex.from_arrays([provided[id_col], provided[time_col]])
    rows = keys.get_indexer(pd.MultiIndex.from_arrays([expected_ids, expected_ds]))
    if (rows < 0).any():
        first = int(np.flatnonzero(rows < 0)[0])
        raise ValueError(
            f"X_future lacks {int((rows < 0).sum())} of the {len(rows)} required rows (first "
            f"missing: {id_col}={expected_ids[first]!r}, {time_col}={expected_ds[first]})."
        )
    merged = provided.iloc[rows]
    values = _exog_values(merged[names], lambda k: f"row {k // len(names)}")
    return values.reshape(panel.n_series, h, len(names))


# ---------------------------------------------------------------- outputs


def format_forecast(panel, point, quantile_forecasts, alias, quantiles, bounds=None, levels=()):
    """Wrap forecast arrays in the input's shape family.

    Parameters
    ----------
    panel : Panel
        The panel the model was fitted on.
    point : ndarray of shape (n_series, h)
    quantile_forecasts : ndarray of shape (n_series, h, n_quantiles) or None
    alias : str
    quantiles : sequence of float
        Probabilities matching the last axis of ``quantile_forecasts``.
    bounds : ndarray of shape (n_series, h, 2 * n_levels) or None, default=None
        Interval bounds: lower and upper of the first level, then of the next, ...
    levels : sequence of float, default=()
        Levels in percent matching ``bounds``.

    Returns
    -------
    forecast : pd.Series or pd.DataFrame
        Series input: a Series named ``alias`` (a DataFrame with columns ``alias``,
        ``alias-q0.1``, ..., ``alias-lo-80``, ``alias-hi-80``, ... when there are
        quantiles or intervals). Wide input: a DataFrame with the same columns (with
        quantiles or intervals: MultiIndex columns ``(series, column)``). Long input: a
        long frame ``unique_id, ds, alias[, alias-q..., alias-lo-..., alias-hi-...]``.
    """
    h = point.shape[1]
    columns = [alias] + [quantile_column(alias, q) for q in quantiles]
    columns += [interval_column(alias, level, bound) for level in levels for bound in ("lo", "hi")]
    # stacked[i, t, c]: series i, step t, column c (point first, then quantiles, then bounds)
    blocks = [point[:, :, None]] + [b for b in (quantile_forecasts, bounds) if b is not None]
    stacked = np.concatenate(blocks, axis=2)
    if stacked.shape[2] != len(columns):
        raise ValueError(f"Got {stacked.shape[2]} forecast columns for the names {columns}.")
    if panel.kind == "long":
        id_col, time_col, _ = panel.columns
        out = pd.DataFrame({id_col: np.repeat(panel.ids.to_numpy(), h), time_col: panel.input_time(panel.future_ds(h))})
        for c, name in enumerate(columns):
            out[name] = stacked[:, :, c].ravel()
        return out
    index = panel.future_index(h)
    if panel.kind == "series":
        if len(columns) == 1:
            return pd.Series(point[0], index=index, name=alias)
        return pd.DataFrame(stacked[0], index=index, columns=columns)
    if len(columns) == 1:
        return pd.DataFrame(point.T, index=index, columns=panel.ids.copy())
    wide_columns = pd.MultiIndex.from_product([panel.ids, columns], names=[panel.ids.name, None])
    # (n_series, h, n_columns) -> (h, n_series * n_columns), series-major columns
    data = stacked.transpose(1, 0, 2).reshape(h, -1)
    return pd.DataFrame(data, index=index, columns=wide_columns)


def format_in_sample(panel, fitted, alias):
    """Wrap in-sample fitted values in the input's shape family, on the training time axis.

    Parameters
    ----------
    panel : Panel
        The panel the values belong to.
    fitted : ndarray of shape (n_obs,)
        One value per observation of ``panel`` (NaN where there is none).
    alias : str

    Returns
    -------
    fitted : pd.Series or pd.DataFrame
        Series input: a Series named ``alias``. Wide input: a DataFrame with the same
        columns. Long input: a frame of the input's id, time and target columns and a
        column ``alias``. The time axis is the input's (periods for period input).
    """
    if panel.kind == "long":
        id_col, time_col, target_col = panel.columns
        return pd.DataFrame(
            {
                id_col: np.repeat(panel.ids.to_numpy(), panel.lengths),
                time_col: panel.input_ds,
                target_col: panel.values,
                alias: fitted,
            }
        )
    # Series/wide input: every series shares the first one's time axis
    index = panel.input_time(panel.ds[panel.indptr[0] : panel.indptr[1]])
    index = index.rename(panel.index_name)
    if panel.kind == "series":
        return pd.Series(fitted, index=index, name=alias)
    return pd.DataFrame(fitted.reshape(panel.n_series, -1).T, index=index, columns=panel.ids.copy())
