"""Forecast accuracy metrics, one function per formula, and their one registry.

Every metric reduces over the last axis: 1-D inputs (one forecast path) give a float,
2-D inputs of shape ``(n_paths, h)`` give one value per row, so a backtest scores all of
its windows at once.

:data:`METRICS` names every metric; each function's ``kind`` attribute says what it scores
(see :func:`metric`), which is all :func:`tsrnn.evaluation.evaluate` needs to apply it to a
backtest and all ``RNNForecaster.auto`` needs to know which metrics it can minimise. The
module is plain NumPy and sits in the bottom layer, so any layer may use it.

The scaled metrics (MASE, MSIS, the scaled width) divide by :func:`seasonal_naive_scale`
and are ``inf`` or ``nan`` where it is 0; how averages and rankings treat such values
(never skipped for one model only) is the rule in :mod:`tsrnn.forecasting.scoring`.
"""

import numpy as np

__all__ = [
    "ERROR_METRICS",
    "KINDS",
    "METRICS",
    "coverage",
    "interval_score",
    "mae",
    "mase",
    "metric",
    "msis",
    "pinball",
    "rmse",
    "scaled_width",
    "seasonal_naive_scale",
    "smape",
]

#: What a metric scores, i.e. the arguments it takes after ``y_true``:
#: 'point' ``(y_pred)``; 'scaled' ``(y_pred, y_train, season_length)``;
#: 'interval' ``(lo, hi, level)`` (level in percent); 'scaled_interval'
#: ``(lo, hi, level, y_train, season_length)``; 'quantile' ``(q_pred, q)``.
#: The scaled kinds divide by :func:`seasonal_naive_scale` of the training data.
KINDS = ("point", "scaled", "interval", "scaled_interval", "quantile")

#: Metric name -> function, in definition order; filled by :func:`metric`.
METRICS = {}


def metric(kind, lower_is_better=True):
    """Register the decorated function in :data:`METRICS` under its name.

    Parameters
    ----------
    kind : {'point', 'scaled', 'interval', 'scaled_interval', 'quantile'}
        What the metric scores (see :data:`KINDS`); stored as the function's ``kind``.
    lower_is_better : bool, default=True
        Whether a lower score is a better forecast, so a leaderboard may rank on it
        (stored as the function's ``lower_is_better``); False for a metric such as
        :func:`coverage`, which should be near its nominal level instead.

    Returns
    -------
    decorator : callable
        Returns the function itself, registered.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    if not isinstance(lower_is_better, bool):
        raise TypeError(f"lower_is_better must be a bool; got {lower_is_better!r}.")

    def register(function):
        function.kind = kind
        function.lower_is_better = lower_is_better
        METRICS[function.__name__] = function
        return function

    return register


def _pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but the forecast has shape {y_pred.shape}.")
    if y_true.size == 0:
        raise ValueError("Cannot score an empty forecast.")
    return y_true, y_pred


def _scalar_or_array(values):
    return float(values) if np.ndim(values) == 0 else values


@metric("point")
def mae(y_true, y_pred):
    """Mean absolute error, ``mean(|y - f|)``.

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
        Actual values.
    y_pred : array-like of the same shape
        Point forecasts.

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return _scalar_or_array(np.mean(np.abs(y_true - y_pred), axis=-1))


@metric("point")
def rmse(y_true, y_pred):
    """Root mean squared error, ``sqrt(mean((y - f)^2))``.

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
    y_pred : array-like of the same shape

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return _scalar_or_array(np.sqrt(np.mean((y_true - y_pred) ** 2, axis=-1)))


@metric("point")
def smape(y_true, y_pred):
    """Symmetric mean absolute percentage error on the 0-200 scale (M4 definition).

    ``mean(200 * |y - f| / (|y| + |f|))``; a step with ``y = f = 0`` counts as 0.

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
    y_pred : array-like of the same shape

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    denominator = np.abs(y_true) + np.abs(y_pred)
    error = np.abs(y_true - y_pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        # 0 / 0 counts as 0; a NaN forecast stays NaN (never a perfect score)
        terms = np.where(denominator == 0, 0.0, 200.0 * error / np.where(denominator == 0, 1.0, denominator))
    return _scalar_or_array(np.mean(terms, axis=-1))


def _check_season_length(season_length):
    if isinstance(season_length, (bool, np.bool_)) or not isinstance(season_length, (int, np.integer)):
        raise TypeError(f"season_length must be an int >= 1; got {season_length!r}.")
    if season_length < 1:
        raise ValueError(f"season_length must be an int >= 1 (1 for non-seasonal data); got {season_length!r}.")
    return int(season_length)


def _seasonal_naive_mae(y_train, season_length):
    y_train = np.asarray(y_train, dtype=np.float64)
    if y_train.ndim != 1 or y_train.size <= season_length:
        raise ValueError(
            f"MASE needs a 1-D training series longer than season_length={season_length}; got shape {y_train.shape}."
        )
    return np.mean(np.abs(y_train[season_length:] - y_train[:-season_length]))


def seasonal_naive_scale(y_train, season_length=1):
    """In-sample MAE of the seasonal naive forecast, the denominator of MASE and MSIS.

    ``mean(|y_t - y_{t-m}|)`` over the training data. It is 0 for a constant training
    series (or one that repeats exactly every ``m`` steps), where every scaled metric is
    undefined (``x / 0``); :func:`tsrnn.evaluation.evaluate` leaves such windows out of
    the scaled metrics of every model alike.

    Parameters
    ----------
    y_train : array-like of shape (n_train,), or a list of such arrays
        One training series, or a list of training series (one per forecast row).
    season_length : int, default=1
        Season length ``m``, an int >= 1.

    Returns
    -------
    scale : float, or ndarray of shape (len(y_train),) for a list of series
    """
    season_length = _check_season_length(season_length)
    if isinstance(y_train, (list, tuple)) and len(y_train) and np.ndim(y_train[0]) > 0:
        return np.array([_seasonal_naive_mae(t, season_length) for t in y_train])
    return float(_seasonal_naive_mae(y_train, season_length))


def _scale_for(y_true, y_train, season_length):
    """The naive scale of each row of ``y_true`` (one shared series, or one per row)."""
    if isinstance(y_train, (list, tuple)) and np.ndim(y_true) == 2:
        if len(y_train) != np.shape(y_true)[0]:
            raise ValueError(f"Got {len(y_train)} training series for {np.shape(y_true)[0]} forecast rows.")
        return np.array([_seasonal_naive_mae(t, _check_season_length(season_length)) for t in y_train])
    # a NumPy scalar: x / 0 is then inf (or NaN), never a ZeroDivisionError
    return np.float64(seasonal_naive_scale(np.asarray(y_train, dtype=np.float64), season_length))


@metric("scaled")
def mase(y_true, y_pred, y_train, season_length=1):
    """Mean absolute scaled error (Hyndman & Koehler 2006).

    The MAE of the forecast divided by the in-sample MAE of the seasonal naive forecast
    on the training data: ``mae(y, f) / mean(|y_t - y_{t-m}|)``. A constant training
    series (scale 0, see :func:`seasonal_naive_scale`) gives ``inf`` (or ``nan`` for a
    perfect forecast): MASE is undefined there, for every forecast alike.

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
        Actual values.
    y_pred : array-like of the same shape
        Point forecasts.
    y_train : array-like of shape (n_train,), or a list of such arrays
        The training data the forecast was made from; with 2-D ``y_true``, either one
        series shared by all rows or a list with one training series per row.
    season_length : int, default=1
        Season length ``m`` of the naive scale, an int >= 1.

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    scale = _scale_for(y_true, y_train, season_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar_or_array(mae(y_true, y_pred) / scale)


@metric("interval", lower_is_better=False)
def coverage(y_true, lo, hi, level=None):
    """Share of actual values inside ``[lo, hi]`` (interval coverage, 0-1).

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
    lo : array-like of the same shape
        Lower interval bounds (e.g. the 0.1 quantile for an 80 % interval).
    hi : array-like of the same shape
        Upper interval bounds.
    level : float or None, default=None
        The nominal level in percent; unused (coverage is compared with it, not scaled by it).

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    y_true, lo = _pair(y_true, lo)
    _, hi = _pair(y_true, hi)
    return _scalar_or_array(np.mean((y_true >= lo) & (y_true <= hi), axis=-1))


@metric("interval")
def interval_score(y_true, lo, hi, level):
    """Interval (Winkler) score of the ``level`` % interval ``[lo, hi]`` (Gneiting & Raftery 2007).

    ``mean((hi - lo) + (2 / a) * (lo - y) * [y < lo] + (2 / a) * (y - hi) * [y > hi])`` with
    ``a = 1 - level / 100``: the width plus a penalty for each miss; lower is better, and
    it is minimised in expectation by the central ``level`` % interval of the truth.
    Divided by the MASE scale it is the M4 competition's MSIS (:func:`msis`).

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
    lo, hi : array-like of the same shape
        Interval bounds.
    level : float
        Nominal level in percent, in (0, 100).

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    if level is None or not 0 < level < 100:
        raise ValueError(f"level must be a percentage in (0, 100); got {level!r}.")
    y_true, lo = _pair(y_true, lo)
    _, hi = _pair(y_true, hi)
    alpha = 1 - level / 100
    penalty = (2 / alpha) * (np.maximum(lo - y_true, 0.0) + np.maximum(y_true - hi, 0.0))
    return _scalar_or_array(np.mean(hi - lo + penalty, axis=-1))


@metric("scaled_interval")
def msis(y_true, lo, hi, level, y_train, season_length=1):
    """Mean scaled interval score of the ``level`` % interval (the M4 competition's MSIS).

    :func:`interval_score` divided by the in-sample MAE of the seasonal naive forecast on
    the training data (:func:`seasonal_naive_scale`, the MASE denominator), so it is
    comparable across series of different magnitudes; lower is better. A constant
    training series (scale 0) gives ``inf`` or ``nan``: MSIS is undefined there.

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
        Actual values.
    lo, hi : array-like of the same shape
        Interval bounds.
    level : float
        Nominal level in percent, in (0, 100).
    y_train : array-like of shape (n_train,), or a list of such arrays
        The training data, as in :func:`mase`.
    season_length : int, default=1
        Season length ``m`` of the naive scale, an int >= 1.

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    score = interval_score(y_true, lo, hi, level)
    scale = _scale_for(np.asarray(y_true, dtype=np.float64), y_train, season_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar_or_array(np.asarray(score) / scale)


@metric("scaled_interval", lower_is_better=False)
def scaled_width(y_true, lo, hi, level, y_train, season_length=1):
    """Mean width of the interval ``[lo, hi]`` divided by the seasonal naive scale.

    ``mean(hi - lo) / mean(|y_t - y_{t-m}|)``: how wide an interval is in units of the
    series' typical seasonal change, so widths compare across series and datasets. It
    is not a score to minimise on its own (a narrow interval that misses is worse), so
    leaderboards do not rank on it; :func:`msis` weighs width against misses.

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
        Actual values (only their shape is used).
    lo, hi : array-like of the same shape
        Interval bounds.
    level : float
        Nominal level in percent (unused; kept for the 'scaled_interval' signature).
    y_train : array-like of shape (n_train,), or a list of such arrays
        The training data, as in :func:`mase`.
    season_length : int, default=1
        Season length ``m`` of the naive scale, an int >= 1.

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    y_true, lo = _pair(y_true, lo)
    _, hi = _pair(y_true, hi)
    scale = _scale_for(y_true, y_train, season_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar_or_array(np.mean(hi - lo, axis=-1) / scale)


@metric("quantile")
def pinball(y_true, q_pred, q):
    """Pinball (quantile) loss of the forecast ``q_pred`` of quantile ``q``.

    ``mean(max(q * (y - f), (q - 1) * (y - f)))``; lower is better, and it is minimised
    in expectation by the true ``q``-quantile.

    Parameters
    ----------
    y_true : array-like of shape (h,) or (n_paths, h)
    q_pred : array-like of the same shape
        Forecasts of the ``q``-quantile.
    q : float
        Probability in (0, 1).

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1); got {q!r}.")
    y_true, q_pred = _pair(y_true, q_pred)
    diff = y_true - q_pred
    return _scalar_or_array(np.mean(np.maximum(q * diff, (q - 1) * diff), axis=-1))


#: Errors of the point forecast (lower is better): the metrics a model search can minimise.
ERROR_METRICS = tuple(name for name, function in METRICS.items() if function.kind in ("point", "scaled"))
