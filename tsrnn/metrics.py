"""Forecast accuracy metrics, one function per formula, and their one registry.

Every metric reduces over the last axis: 1-D inputs (one forecast path) give a float,
2-D inputs of shape ``(n_paths, h)`` give one value per row, so a backtest scores all of
its windows at once.

:data:`METRICS` names every metric; each function's ``kind`` attribute says what it scores
(see :func:`metric`), which is all :func:`tsrnn.evaluation.evaluate` needs to apply it to a
backtest and all ``RNNForecaster.auto`` needs to know which metrics it can minimise. The
module is plain NumPy and sits in the bottom layer, so any layer may use it.
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
    "pinball",
    "rmse",
    "smape",
]

#: What a metric scores, i.e. the arguments it takes after ``y_true``:
#: 'point' ``(y_pred)``; 'scaled' ``(y_pred, y_train, season_length)``;
#: 'interval' ``(lo, hi, level)`` (level in percent); 'quantile' ``(q_pred, q)``.
KINDS = ("point", "scaled", "interval", "quantile")

#: Metric name -> function, in definition order; filled by :func:`metric`.
METRICS = {}


def metric(kind):
    """Register the decorated function in :data:`METRICS` under its name.

    Parameters
    ----------
    kind : {'point', 'scaled', 'interval', 'quantile'}
        What the metric scores (see :data:`KINDS`); stored as the function's ``kind``.

    Returns
    -------
    decorator : callable
        Returns the function itself, registered.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")

    def register(function):
        function.kind = kind
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
    terms = np.divide(200.0 * error, denominator, out=np.zeros_like(error), where=denominator > 0)
    return _scalar_or_array(np.mean(terms, axis=-1))


def _seasonal_naive_mae(y_train, season_length):
    y_train = np.asarray(y_train, dtype=np.float64)
    if y_train.ndim != 1 or y_train.size <= season_length:
        raise ValueError(
            f"MASE needs a 1-D training series longer than season_length={season_length}; got shape {y_train.shape}."
        )
    return np.mean(np.abs(y_train[season_length:] - y_train[:-season_length]))


@metric("scaled")
def mase(y_true, y_pred, y_train, season_length=1):
    """Mean absolute scaled error (Hyndman & Koehler 2006).

    The MAE of the forecast divided by the in-sample MAE of the seasonal naive forecast
    on the training data: ``mae(y, f) / mean(|y_t - y_{t-m}|)``. A constant training
    series (scale 0) gives ``inf`` (or ``nan`` for a perfect forecast).

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
        Season length ``m`` of the naive scale.

    Returns
    -------
    score : float or ndarray of shape (n_paths,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if isinstance(y_train, (list, tuple)) and y_true.ndim == 2:
        if len(y_train) != y_true.shape[0]:
            raise ValueError(f"Got {len(y_train)} training series for {y_true.shape[0]} forecast rows.")
        scale = np.array([_seasonal_naive_mae(t, season_length) for t in y_train])
    else:
        scale = _seasonal_naive_mae(y_train, season_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar_or_array(mae(y_true, y_pred) / scale)


@metric("interval")
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
    Divided by the MASE scale it is the M4 competition's MSIS.

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
