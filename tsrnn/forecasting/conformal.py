"""Split-conformal prediction intervals from held-out forecast errors.

A forecaster's residuals on windows it did not train on, one set per forecast step,
calibrate an interval around any later point forecast: for level ``l`` (in percent),
step ``k`` gets ``point +/- s_k``, with ``s_k`` the ``ceil((n + 1) * l / 100)``-th
smallest of the ``n`` absolute residuals of that step (the finite-sample correction of
split conformal prediction, Vovk et al. 2005; Lei et al. 2018). If the calibration
errors and the future error are exchangeable, the interval covers the truth with
probability at least ``l / 100``.

Where the residuals come from is the forecaster's business (see
:class:`ConformalIntervals`): :class:`~tsrnn.forecasting.rnn.RNNForecaster` keeps the
errors on its early-stopping validation windows, the naive forecasts (no parameters)
use every earlier forecast origin, and any forecaster can refit itself at ``n_windows``
earlier cutoffs (:func:`refit_residuals`, a backtest).

Too few windows for a level: a ``level`` % guarantee needs at least
:func:`windows_needed` residuals per step (19 for 95 %, 4 for 80 %); with fewer, the
largest residual is used and a warning says what it guarantees (``n / (n + 1)``).
A default RNNForecaster does not stop there: when its validation windows (pooled over
series) are too few for a requested level, it calibrates on refits at enough earlier
cutoffs one step apart, when the series are long enough (see its
``prediction_intervals`` parameter).

Caveats, as the guarantee is only as good as exchangeability:

- Time series errors are not exchangeable in general: a level shift or a change of
  volatility after the calibration windows breaks the guarantee. The most recent
  windows are the calibration set, which keeps them as close as possible to the future.
- Overlapping windows (consecutive origins) give correlated residuals; coverage stays
  right on average but varies more than ``n`` independent residuals would suggest.
- The early-stopping windows also chose the stopping epoch and the linear stage, a mild
  selection that makes their errors slightly optimistic.

Quantile forecasts (conformalised quantile regression, Romano, Patterson & Candes 2019):
a forecaster's quantile outputs are calibrated the same way, on the held-out errors of
each quantile forecast, ``y - q_hat``, per forecast step (:func:`conformal_quantiles`).
With the one-sided score of each quantile (the asymmetric variant of CQR, which
calibrates every quantile alone rather than only symmetric pairs), an upper quantile
``q > 0.5`` is shifted by the ``ceil((n + 1) q)``-th smallest error, so that
``P(y <= q_hat + shift) >= q``; a lower one by the ``ceil((n + 1) (1 - q))``-th largest,
so that ``P(y < q_hat + shift) <= q``; a ``[q, 1 - q]`` band then covers at least
``1 - 2 q``. The median (the point forecast) is not shifted, and the shifted quantiles
are rearranged so they never cross: the lower ones are clipped at the point forecast and
sorted, the upper ones likewise. Each quantile needs :func:`quantile_windows_needed`
residuals per step (9 for 0.1 or 0.9, 19 for 0.05 or 0.95).

Pooling: with few windows per series, the residuals of all series are pooled after
dividing each by its series' scale (the mean absolute one-step change of the training
data) and the interval is multiplied back by it, so series of different magnitudes share
one error distribution. With ``pooling='auto'`` series are calibrated one by one when
every series has at least :data:`MIN_WINDOWS_PER_SERIES` windows, pooled otherwise.
"""

import math
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone

from .panel import quantile_column

__all__ = [
    "MIN_WINDOWS_PER_SERIES",
    "Calibration",
    "ConformalIntervals",
    "check_levels",
    "conformal_bounds",
    "conformal_quantiles",
    "quantile_windows_needed",
    "refit_residuals",
    "calibration_windows",
    "series_scale",
    "windows_needed",
]

#: Fewest calibration windows per series and step for ``pooling='auto'`` to calibrate
#: series separately (below it, one pooled, scale-free distribution is more stable).
MIN_WINDOWS_PER_SERIES = 50


def check_levels(level):
    """Validate interval levels given in percent.

    Parameters
    ----------
    level : float, sequence of float or None
        Coverage levels in percent, each strictly between 0 and 100 (e.g. ``[80, 95]``);
        levels below 1 are rejected as probabilities given by mistake.

    Returns
    -------
    levels : list of float
        The levels in the order given (empty for None).

    Raises
    ------
    TypeError
        If a level is not a real number.
    ValueError
        If a level is outside (0, 100), below 1 (a probability?), not finite, or repeated.
    """
    if level is None:
        return []
    values = [level] if isinstance(level, (Real, np.number)) and not isinstance(level, (bool, np.bool_)) else level
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"level must be a number or a list of numbers in (0, 100); got {level!r}.")
    levels = []
    for value in values:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.number)):
            raise TypeError(f"Each level must be a number in (0, 100) (a percentage); got {value!r}.")
        value = float(value)
        if not (0 < value < 100):  # also rejects NaN
            raise ValueError(
                f"Each level must be a percentage strictly between 0 and 100 (e.g. 80 or 95); got {value!r}."
            )
        if value < 1:
            # a sub-1 % interval is never what anyone wants; 0.8 is almost surely meant as 80 %
            raise ValueError(
                f"level={value!r} looks like a probability; levels are percentages (e.g. {100 * value:g})."
            )
        if value in levels:
            raise ValueError(f"level {value:g} is given twice.")
        levels.append(value)
    if not levels:
        raise ValueError("level is an empty list; pass None for no intervals.")
    return levels


@dataclass(frozen=True)
class ConformalIntervals:
    """How a forecaster calibrates conformal intervals (its ``prediction_intervals`` parameter).

    Parameters
    ----------
    n_windows : int or None, default=5
        Refit the forecaster at this many earlier cutoffs (a backtest on the data given
        to ``fit``, with the same parameters) and calibrate on its errors there. None
        uses the residuals the model has without refitting: RNNForecaster's
        early-stopping validation windows, every earlier origin of the naive forecasts;
        models without such residuals (ARIMA, ETS) raise an error then.
    h : int or None, default=None
        Steps calibrated by refitting; None uses the model's ``horizon`` parameter.
        Intervals are available for at most ``h`` steps.
    step : int or None, default=None
        Observations between refit cutoffs; None means ``h`` (test windows do not overlap).
    pooling : {'auto', 'pooled', 'per_series'}, default='auto'
        Calibrate each series on its own residuals ('per_series'), or all series on
        their residuals divided by each series' scale ('pooled'); 'auto' pools unless
        every series has :data:`MIN_WINDOWS_PER_SERIES` windows.
    symmetric : bool, default=True
        True: ``point +/- quantile of |residual|``. False: separate quantiles of the
        signed residuals for each bound (each tail gets half the miss rate), which
        follows a biased or skewed error distribution but needs about twice as many windows.
    """

    n_windows: int | None = 5
    h: int | None = None
    step: int | None = None
    pooling: str = "auto"
    symmetric: bool = True

    def __post_init__(self):
        for name in ("n_windows", "h", "step"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, Integral) or value < 1):
                raise ValueError(f"ConformalIntervals({name}=...) must be an int >= 1 or None; got {value!r}.")
        if self.pooling not in ("auto", "pooled", "per_series"):
            raise ValueError(
                f"ConformalIntervals(pooling=...) must be 'auto', 'pooled' or 'per_series'; got {self.pooling!r}."
            )
        if not isinstance(self.symmetric, (bool, np.bool_)):
            raise TypeError(f"ConformalIntervals(symmetric=...) must be a bool; got {self.symmetric!r}.")


@dataclass
class Calibration:
    """Held-out forecast errors of a fitted forecaster, per series and forecast step.

    Parameters
    ----------
    residuals : list of ndarray of shape (n_windows_i, h)
        Signed errors ``y - forecast`` of series ``i`` in its calibration windows
        (rows: windows, columns: forecast steps 1..h); ``n_windows_i`` may be 0.
    scale : ndarray of shape (n_series,)
        Positive scale of each series, dividing its residuals when they are pooled.
    source : str
        Where the residuals come from, for error messages ('validation windows', ...).
    probabilities : ndarray of shape (n_quantiles,) or None, default=None
        The probabilities of the quantile forecasts whose errors ``quantile_residuals``
        holds (the forecaster's ``quantiles``, in its order); None without quantiles.
    quantile_residuals : list of ndarray of shape (n_windows_i, h, n_quantiles) or None, default=None
        Errors ``y - quantile forecast`` of series ``i`` in the same windows as
        ``residuals``, one slice per probability; None without quantiles.
    """

    residuals: list
    scale: np.ndarray
    source: str
    probabilities: np.ndarray | None = None
    quantile_residuals: list | None = None

    @property
    def horizon(self):
        """int: forecast steps the residuals cover."""
        return self.residuals[0].shape[1]

    def take(self, start, stop):
        """The calibration of series ``start:stop`` (every per-series field sliced).

        Parameters
        ----------
        start, stop : int
            Series positions, as in a slice.

        Returns
        -------
        calibration : Calibration
        """
        quantile_residuals = None if self.quantile_residuals is None else self.quantile_residuals[start:stop]
        return Calibration(
            self.residuals[start:stop], self.scale[start:stop], self.source, self.probabilities, quantile_residuals
        )


def windows_needed(level, symmetric=True):
    """Fewest calibration residuals per step that give a finite-sample ``level`` % guarantee.

    Parameters
    ----------
    level : float
        Level in percent, in (0, 100).
    symmetric : bool, default=True
        Absolute residuals (one quantile) or signed ones (each tail at half the miss rate).

    Returns
    -------
    n : int
        The smallest ``n`` whose conformal rank (``ceil((n + 1) * level / 100)``, or
        ``ceil((n + 1) * (1 + level / 100) / 2)`` when signed) is at most ``n``: 4 for
        80 %, 19 for 95 % (symmetric).
    """
    coverage = level / 100 if symmetric else (1 + level / 100) / 2
    # ceil((n + 1) c) <= n  <=>  n >= c / (1 - c); start just below it and step up with the
    # very rank expression _bounds_from_scores uses, so float rounding cannot make them disagree
    n = max(1, math.floor(coverage / (1 - coverage)) - 1)
    while math.ceil((n + 1) * coverage) > n:
        n += 1
    return n


def quantile_windows_needed(q):
    """Fewest calibration residuals per step that calibrate quantile ``q`` (one-sided).

    Parameters
    ----------
    q : float
        Probability in (0, 1); the median needs none (it is not shifted).

    Returns
    -------
    n : int
        The smallest ``n`` with ``ceil((n + 1) * max(q, 1 - q)) <= n``: 9 for 0.1 and
        0.9, 19 for 0.05 and 0.95, 0 for 0.5.
    """
    if q == 0.5:
        return 0
    return windows_needed(100 * abs(1 - 2 * q), symmetric=False)


def calibration_windows(calibration, pooling="auto"):
    """Residuals per forecast step that :func:`conformal_bounds` will rank.

    Parameters
    ----------
    calibration : Calibration
    pooling : {'auto', 'pooled', 'per_series'}, default='auto'

    Returns
    -------
    n : int
        The total over series when they are pooled, the fewest of any series otherwise.
    """
    counts = np.array([r.shape[0] for r in calibration.residuals])
    if pooling == "auto":
        pooling = "per_series" if counts.min() >= MIN_WINDOWS_PER_SERIES else "pooled"
    return int(counts.sum() if pooling == "pooled" else counts.min())


def series_scale(panel):
    """Mean absolute one-step change of each series (1 where it is 0 or undefined).

    Parameters
    ----------
    panel : Panel

    Returns
    -------
    scale : ndarray of shape (n_series,)
    """
    scale = np.ones(panel.n_series)
    for i in range(panel.n_series):
        changes = np.abs(np.diff(panel.series(i)))
        if changes.size and changes.mean() > 0:
            scale[i] = changes.mean()
    return scale


def _order_statistic(scores, rank, level, source, what=None):
    """The ``rank``-th smallest (1-based) of ``scores`` along axis 0, clipped to what exists."""
    n = scores.shape[0]
    if rank > n:
        what = what or f"a {level:g} % interval (that needs {math.ceil(level / (100 - level))})"
        warnings.warn(
            f"{n} calibration residuals per forecast step ({source}) cannot guarantee {what}; "
            f"using the largest residual, which guarantees {100 * n / (n + 1):.3g} %. Calibrate on "
            "more windows (ConformalIntervals(n_windows=...), or a larger validation_fraction).",
            UserWarning,
            stacklevel=6,  # the user's predict call
        )
        rank = n
    return np.partition(scores, rank - 1, axis=0)[rank - 1]


def _bounds_from_scores(signed, levels, symmetric, source):
    """Offsets ``(lower, upper)`` per level from signed scores ``(n, h)``: arrays of shape (h,)."""
    n = signed.shape[0]
    offsets = []
    for level in levels:
        coverage = level / 100
        if symmetric:
            width = _order_statistic(np.abs(signed), math.ceil((n + 1) * coverage), level, source)
            offsets.append((-width, width))
        else:
            # each tail misses at most (1 - coverage) / 2: the lower bound is the
            # ceil((n + 1) * (1 + coverage) / 2)-th largest, the upper the same rank from below
            rank = math.ceil((n + 1) * (1 + coverage) / 2)
            upper = _order_statistic(signed, rank, level, source)
            lower = -_order_statistic(-signed, rank, level, source)
            offsets.append((lower, upper))
    return offsets


def conformal_bounds(point, calibration, levels, pooling="auto", symmetric=True):
    """Conformal interval bounds around point forecasts.

    Parameters
    ----------
    point : ndarray of shape (n_series, h)
        Point forecasts.
    calibration : Calibration
        Held-out residuals of the same model and series, covering at least ``h`` steps.
    levels : list of float
        Levels in percent (validated by :func:`check_levels`).
    pooling : {'auto', 'pooled', 'per_series'}, default='auto'
        See :class:`ConformalIntervals`.
    symmetric : bool, default=True
        See :class:`ConformalIntervals`.

    Returns
    -------
    bounds : ndarray of shape (n_series, h, 2 * len(levels))
        ``lower, upper`` of the first level, then of the next, ...

    Raises
    ------
    ValueError
        If the residuals cover fewer than ``h`` steps or a series has none.
    """
    n_series, h = point.shape
    if len(calibration.residuals) != n_series:
        raise ValueError(f"The calibration has residuals of {len(calibration.residuals)} series, not {n_series}.")
    if calibration.horizon < h:
        raise ValueError(
            f"Conformal intervals are calibrated for {calibration.horizon} forecast steps "
            f"({calibration.source}); got h={h}. Calibrate for more steps "
            "(ConformalIntervals(h=...)) or forecast fewer."
        )
    counts = np.array([r.shape[0] for r in calibration.residuals])
    if pooling == "auto":
        pooling = "per_series" if counts.min() >= MIN_WINDOWS_PER_SERIES else "pooled"
    bounds = np.empty((n_series, h, 2 * len(levels)))
    if pooling == "pooled":
        scaled = np.concatenate([r[:, :h] / s for r, s in zip(calibration.residuals, calibration.scale)])
        if scaled.shape[0] == 0:
            raise ValueError(f"There are no calibration residuals ({calibration.source}).")
        for j, (lower, upper) in enumerate(_bounds_from_scores(scaled, levels, symmetric, calibration.source)):
            bounds[:, :, 2 * j] = point + calibration.scale[:, None] * lower
            bounds[:, :, 2 * j + 1] = point + calibration.scale[:, None] * upper
        return bounds
    for i, residuals in enumerate(calibration.residuals):
        if residuals.shape[0] == 0:
            raise ValueError(f"Series {i} has no calibration residuals ({calibration.source}); use pooling='pooled'.")
        for j, (lower, upper) in enumerate(
            _bounds_from_scores(residuals[:, :h], levels, symmetric, calibration.source)
        ):
            bounds[i, :, 2 * j] = point[i] + lower
            bounds[i, :, 2 * j + 1] = point[i] + upper
    return bounds


def _quantile_offsets(scores, probabilities, source):
    """Shift of each quantile from its signed errors ``scores (n, h, n_q)``: ndarray (h, n_q)."""
    n, h, _ = scores.shape
    offsets = np.zeros((h, len(probabilities)))
    for j, q in enumerate(probabilities):
        if q == 0.5:
            continue  # the median is the point forecast: never shifted
        side = max(q, 1 - q)
        rank = math.ceil((n + 1) * side)
        what = (
            f"the {q:g} quantile (that needs {quantile_windows_needed(q)}; it guarantees "
            f"{'at least' if q > 0.5 else 'at most'} {q:g})"
        )
        if q > 0.5:  # P(y <= q_hat + shift) >= q
            offsets[:, j] = _order_statistic(scores[:, :, j], rank, 100 * side, source, what)
        else:  # P(y < q_hat + shift) <= q
            offsets[:, j] = -_order_statistic(-scores[:, :, j], rank, 100 * side, source, what)
    return offsets


def _non_crossing(point, quantiles, probabilities):
    """Quantiles ``(n_series, h, n_q)`` made monotone around the point forecast.

    Lower quantiles (``q < 0.5``) are clipped at the point and sorted, upper ones
    likewise, the median left as it is: the values in probability order then never
    decrease, and the point forecast stays between the lower and the upper ones.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    out = quantiles.copy()
    for side, clip in ((probabilities < 0.5, np.minimum), (probabilities > 0.5, np.maximum)):
        columns = np.flatnonzero(side)
        if columns.size:
            in_order = columns[np.argsort(probabilities[columns], kind="stable")]
            out[:, :, in_order] = np.sort(clip(quantiles[:, :, in_order], point[:, :, None]), axis=2)
    return out


def conformal_quantiles(point, quantile_forecasts, calibration, probabilities, pooling="auto", extend=False):
    """Quantile forecasts shifted by their held-out errors (conformalised quantile regression).

    Parameters
    ----------
    point : ndarray of shape (n_series, h)
        Point forecasts (the median head), left as they are.
    quantile_forecasts : ndarray of shape (n_series, h, n_quantiles)
        The model's quantile forecasts at ``probabilities``.
    calibration : Calibration
        Held-out errors of the same model with ``quantile_residuals`` for the same
        ``probabilities``, covering at least ``h`` steps.
    probabilities : sequence of float
        The probability of each slice of ``quantile_forecasts``.
    pooling : {'auto', 'pooled', 'per_series'}, default='auto'
        See :class:`ConformalIntervals`.
    extend : bool, default=False
        Steps after the last calibrated one take its shift, with a warning (a recursive
        model forecasting further than its horizon), instead of raising.

    Returns
    -------
    quantiles : ndarray of shape (n_series, h, n_quantiles)
        Calibrated and non-crossing (see the module docstring); a 0.5 slice is the
        model's own median, unshifted.

    Raises
    ------
    ValueError
        If the calibration holds no quantile errors for these probabilities, covers fewer
        than ``h`` steps, or a series has none with ``pooling='per_series'``.
    """
    n_series, h, _ = quantile_forecasts.shape
    probabilities = [float(q) for q in probabilities]
    if calibration.quantile_residuals is None or not np.array_equal(calibration.probabilities, probabilities):
        raise ValueError(
            f"The calibration ({calibration.source}) holds no errors of the quantiles {probabilities}; "
            "calibrate the model that made these quantile forecasts."
        )
    calibrated = calibration.horizon
    if calibrated < h and not extend:
        raise ValueError(
            f"Quantiles are calibrated for {calibrated} forecast steps ({calibration.source}); "
            f"got h={h}. Forecast fewer steps."
        )
    if calibrated < h:
        warnings.warn(
            f"Quantiles are calibrated for {calibrated} forecast steps ({calibration.source}); steps "
            f"{calibrated + 1}-{h} take the shift of step {calibrated}, which errors growing with the horizon "
            f"make too small. Fit with horizon >= {h} for calibrated quantiles at every step.",
            UserWarning,
            stacklevel=5,
        )
        steps = np.minimum(np.arange(h), calibrated - 1)  # the calibrated step each step borrows
        head = conformal_quantiles(
            point[:, :calibrated], quantile_forecasts[:, :calibrated], calibration, probabilities, pooling
        )
        offsets = (head - quantile_forecasts[:, :calibrated])[:, steps]
        return _non_crossing(point, quantile_forecasts + offsets, probabilities)
    counts = np.array([r.shape[0] for r in calibration.quantile_residuals])
    if pooling == "auto":
        pooling = "per_series" if counts.min() >= MIN_WINDOWS_PER_SERIES else "pooled"
    shifted = np.empty_like(quantile_forecasts, dtype=np.float64)
    if pooling == "pooled":
        scaled = np.concatenate([r[:, :h] / s for r, s in zip(calibration.quantile_residuals, calibration.scale)])
        if scaled.shape[0] == 0:
            raise ValueError(f"There are no calibration residuals ({calibration.source}).")
        offsets = _quantile_offsets(scaled, probabilities, calibration.source)
        shifted[:] = quantile_forecasts + calibration.scale[:, None, None] * offsets[None]
    else:
        for i, residuals in enumerate(calibration.quantile_residuals):
            if residuals.shape[0] == 0:
                raise ValueError(
                    f"Series {i} has no calibration residuals ({calibration.source}); use pooling='pooled'."
                )
            shifted[i] = quantile_forecasts[i] + _quantile_offsets(residuals[:, :h], probabilities, calibration.source)
    return _non_crossing(point, shifted, probabilities)


def refit_residuals(model, y, X, panel, spec):
    """Residuals of ``model`` refitted at ``spec.n_windows`` earlier cutoffs (a backtest).

    Parameters
    ----------
    model : BaseForecaster
        The forecaster being fitted; a clone with ``prediction_intervals=None`` (so the
        refits do not calibrate in turn) is backtested.
    y, X : pandas data
        What ``fit`` got.
    panel : Panel
        ``y`` as a panel (series order and scale).
    spec : ConformalIntervals

    Returns
    -------
    calibration : Calibration
    """
    h = spec.h if spec.h is not None else getattr(model, "horizon", None)
    if h is None:
        raise ValueError(
            f"ConformalIntervals needs h (the steps to calibrate) for {type(model).__name__}, "
            "which has no horizon parameter."
        )
    inner = clone(model).set_params(prediction_intervals=None)
    if inner.get_params(deep=False).get("calibrate_quantiles"):
        # the errors of the quantile heads as trained are what calibrates them (and the
        # refits must not calibrate in turn)
        inner.set_params(calibrate_quantiles=False)
    # imported here: a fit without conformal intervals never loads the backtest machinery
    from .backtest import backtest_models

    try:
        frame = backtest_models([inner], y, h, n_windows=spec.n_windows, step=spec.step, X=X).forecasts
    except ValueError as error:
        raise ValueError(
            f"Cannot calibrate conformal intervals by refitting at {spec.n_windows} earlier cutoffs (h={h}): {error}"
        ) from error
    # the frame is sorted by window then series then ds; order it by series, cutoff, ds
    frame = frame.assign(_series=panel.ids.get_indexer(frame["unique_id"]))
    frame = frame.sort_values(["_series", "cutoff", "ds"], kind="stable")
    errors = (frame["y"] - frame[inner.alias]).to_numpy(dtype=np.float64)
    quantiles = [float(q) for q in getattr(inner, "quantiles", None) or ()]
    if quantiles:  # (n_rows, n_quantiles): errors of each quantile column
        quantile_errors = np.column_stack(
            [(frame["y"] - frame[quantile_column(inner.alias, q)]).to_numpy(dtype=np.float64) for q in quantiles]
        )
    per_series = np.bincount(frame["_series"].to_numpy(), minlength=panel.n_series)
    residuals, quantile_residuals, start = [], [], 0
    for count in per_series:
        residuals.append(errors[start : start + count].reshape(-1, h))
        if quantiles:
            quantile_residuals.append(quantile_errors[start : start + count].reshape(-1, h, len(quantiles)))
        start += count
    return Calibration(
        residuals,
        series_scale(panel),
        f"refits at {spec.n_windows} earlier cutoffs",
        np.array(quantiles) if quantiles else None,
        quantile_residuals if quantiles else None,
    )
