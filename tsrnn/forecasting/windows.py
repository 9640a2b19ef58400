"""Training samples for the neural forecaster, as views over the series buffers.

A sample is a window of ``input_size`` past steps of one series (plus, when the
model knows future features such as calendar terms or known covariates, the
``future_steps`` steps after it, with the target and past-only covariates hidden)
and the ``horizon`` target values after its forecast origin. The windows are a
``sliding_window_view`` over one feature buffer; only the mini-batch being
trained on is ever copied.
"""

import numpy as np

# Windows gathered at a time when a batch is large (the validation set, the linear stage's
# inputs): bounds the temporaries, not the result.
BATCH_CHUNK = 16384


class SeriesWindows:
    """Window samples over concatenated series, fed to :class:`tsrnn.nn.Trainer`.

    Sample ``k`` starts at row ``s = starts[k]``: its inputs are the feature rows
    ``[s, s + input_size + future_steps)``, its forecast origin is row
    ``s + input_size`` and its targets are ``target[s + input_size : s + input_size + horizon]``.
    The caller chooses starts whose rows stay inside one series (:func:`window_starts`).

    Parameters
    ----------
    features : ndarray of shape (n_obs, n_features)
        Per-step inputs of all series back to back, in the network dtype.
        Column 0 is the scaled target.
    target : ndarray of shape (n_obs,)
        Scaled target of every step (float64).
    starts : ndarray of shape (n_samples,)
        Row in ``features`` where each sample's window begins.
    input_size : int
        Steps up to the forecast origin.
    horizon : int
        Targets per sample.
    future_steps : int, default=0
        Steps after the origin whose known features the network also reads
        (0 or ``horizon``); their ``past_columns`` are zeroed and their
        ``flag_column`` set to 1.
    past_columns : sequence of int, default=(0,)
        Columns only known up to the forecast origin (the target, past covariates).
    flag_column : int or None, default=None
        Column marking future steps (required when ``future_steps > 0``).
    base_offsets : ndarray of shape (horizon,) or None, default=None
        Forecast the residual over a naive base: target ``k`` becomes
        ``target[o + k] - target[o + base_offsets[k]]`` (``o`` the origin row,
        offsets negative), and the window's target column is shifted so its
        last observed value is 0. See :func:`base_offsets`.
    linear_base : LinearBase or None, default=None
        A fitted linear stage (:mod:`tsrnn.forecasting.linear`); its forecast from
        each window is subtracted from the targets too. Settable after construction
        (it is fitted on these windows).

    Attributes
    ----------
    views : ndarray of shape (n_obs - window + 1, n_features, window)
        Read-only window view of ``features`` (no copy), ``window = input_size + future_steps``.
    target_views : ndarray of shape (n_obs - horizon + 1, horizon)
        Read-only window view of ``target``.
    input_views : ndarray of shape (n_obs - input_size + 1, input_size)
        Read-only window view of ``target`` over ``input_size`` steps (the linear stage's input).
    n_samples, n_targets, n_features : int
    """

    def __init__(
        self,
        features,
        target,
        starts,
        input_size,
        horizon,
        future_steps=0,
        past_columns=(0,),
        flag_column=None,
        base_offsets=None,
        linear_base=None,
    ):
        if future_steps and flag_column is None:
            raise ValueError("future_steps > 0 needs a flag_column marking the future steps.")
        self.features, self.target = features, target
        self.window = input_size + future_steps
        self.views = np.lib.stride_tricks.sliding_window_view(features, self.window, axis=0)
        self.target_views = np.lib.stride_tricks.sliding_window_view(target, horizon)
        # the target over each window's input steps: what the linear stage reads, gathered
        # without an (n, input_size) index array
        self.input_views = np.lib.stride_tricks.sliding_window_view(target, input_size)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.input_size, self.horizon, self.future_steps = input_size, horizon, future_steps
        self.past_columns = np.asarray(past_columns, dtype=np.int64)
        self.flag_column = flag_column
        self.base_offsets = base_offsets
        self.linear_base = linear_base
        self.n_samples, self.n_targets, self.n_features = self.starts.size, horizon, features.shape[1]

    def batch(self, idx):
        """Inputs ``X (window, b, n_features)`` (time-major, a fresh copy) and targets ``y (b, horizon)``."""
        starts = self.starts[idx]
        # gathered straight into the time-major layout, a chunk of windows at a time: one
        # copy of the batch, whatever its size (the validation set is one batch)
        X = np.empty((self.window, starts.size, self.n_features), dtype=self.features.dtype)
        for begin in range(0, starts.size, BATCH_CHUNK):
            part = slice(begin, begin + BATCH_CHUNK)
            X[:, part] = self.views[starts[part]].transpose(2, 0, 1)
        if self.base_offsets is not None:
            relative_to_last(X, self.input_size)
        y = self._residuals(starts)
        if self.linear_base is not None:
            y -= self.linear_forecast(starts)
        if self.future_steps:
            hide_future(X, self.input_size, self.past_columns, self.flag_column)
        return X, y

    def linear_forecast(self, starts):
        """The linear stage's forecast ``(n, horizon)`` for the samples starting at rows ``starts``,
        computed a chunk of windows at a time (its float64 inputs never exist in full)."""
        out = np.empty((starts.size, self.horizon))
        for begin in range(0, starts.size, BATCH_CHUNK):
            part = slice(begin, begin + BATCH_CHUNK)
            out[part] = self.linear_base.predict(*self._window(starts[part]))
        return out

    def _residuals(self, starts):
        """Targets of the samples starting at ``starts``, minus their base forecast (if any)."""
        origins = starts + self.input_size
        y = self.target_views[origins]  # a fresh array (fancy indexing), safe to modify
        if self.base_offsets is not None:
            # the base of step k is target[o + base_offsets[k]], read from the window view
            # ending at the origin (base_offsets lie in [-input_size, -1]) with no
            # (n, horizon) index array
            y -= self.input_views[starts[:, None], self.input_size + self.base_offsets]
        return y

    def linear_inputs(self, idx):
        """What the linear stage is fitted on, for samples ``idx``, in float64.

        Returns
        -------
        window : ndarray of shape (n, input_size)
            The target column as the network reads it (relative to its last value
            when there is a base forecast).
        last : ndarray of shape (n,)
            The scaled last observed value.
        y : ndarray of shape (n, horizon)
            The targets minus the base forecast, before any linear stage.
        """
        starts = self.starts[idx]
        return (*self._window(starts), self._residuals(starts))

    def _window(self, starts):
        return linear_window(self.input_views[starts], self.base_offsets is not None)


def linear_window(values, relative):
    """``(window, last)`` the linear stage reads from target windows ``values (n, input_size)``:
    the window (relative to its last value when ``relative``) and that last value."""
    last = values[:, -1].copy()
    return (values - last[:, None] if relative else values), last


def base_offsets(horizon, season_length):
    """Row offsets, from the forecast origin, of the seasonal naive forecast of each step.

    Step ``k`` (0-based) repeats the last observed value of its season:
    ``k - season_length * ceil((k + 1) / season_length)``; ``season_length=1``
    gives the naive forecast (the last value) for every step.
    """
    k = np.arange(horizon)
    return k - season_length * ((k + season_length) // season_length)


def relative_to_last(X, input_size):
    """Shift the target column (0) of time-major windows so the last observed step is 0, in place."""
    X[:, :, 0] -= X[input_size - 1, :, 0]


def hide_future(X, input_size, past_columns, flag_column):
    """Zero what is unknown after the forecast origin and flag the future steps, in place.

    ``X`` is time-major ``(window, b, n_features)``; steps from ``input_size`` on are future.
    """
    future = X[input_size:]
    future[:, :, past_columns] = 0.0
    future[:, :, flag_column] = 1.0


def window_starts(indptr, input_size, horizon, validation_fraction=None):
    """Start rows of every full sample per series, split into train and validation.

    A sample starting at row ``s`` reads ``[s, s + input_size)`` and predicts rows
    ``[s + input_size, s + input_size + horizon)``, all inside its own series. The
    last ``ceil(validation_fraction * n)`` samples of each series (the most recent
    ones) go to validation. The ``horizon - 1`` samples just before them are dropped,
    so no training target is also a validation target (an honest early-stopping
    signal). A series keeps at least one training sample: when it has too few,
    it gets fewer (or no) validation samples.

    Parameters
    ----------
    indptr : ndarray of shape (n_series + 1,)
        Offsets of the series in the concatenated buffer.
    input_size, horizon : int
    validation_fraction : float or None, default=None
        Fraction of each series' samples held out; None holds out none.

    Returns
    -------
    train, validation : ndarray of int64
        Start rows, series after series, oldest first.
    """
    train, validation = [], []
    for begin, end in zip(indptr[:-1], indptr[1:]):
        starts = np.arange(begin, end - input_size - horizon + 1, dtype=np.int64)
        n = starts.size
        n_val = _n_validation(n, horizon, validation_fraction)
        n_train = n - n_val - (horizon - 1) if n_val else n
        train.append(starts[:n_train])
        validation.append(starts[n - n_val :])
    return np.concatenate(train), np.concatenate(validation)


def _n_validation(n, horizon, validation_fraction):
    """Validation samples of a series with ``n`` samples: :func:`window_starts`' rule."""
    n_val = int(np.ceil(validation_fraction * n)) if validation_fraction else 0
    return max(0, min(n_val, n - horizon))  # n - n_val - (horizon - 1) >= 1 training sample


def training_spans(indptr, input_size, horizon, validation_fraction=None):
    """Per series, the rows ``[begin, end)`` before its first validation target.

    What a model may learn from when :func:`window_starts` (same arguments) holds out
    validation windows: every training window's inputs and targets lie there, and no
    validation target does (the first one is row ``end``), so statistics computed on these
    rows (the per-series scaling) never see the targets that early stopping and the
    conformal calibration are judged on. A series without validation samples spans all
    its rows.

    Parameters
    ----------
    indptr : ndarray of shape (n_series + 1,)
        Offsets of the series in the concatenated buffer.
    input_size, horizon : int
    validation_fraction : float or None, default=None
        As in :func:`window_starts`.

    Returns
    -------
    spans : ndarray of int64 of shape (n_series, 2)
        ``begin`` (the series' first row) and ``end`` per series.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    spans = np.column_stack([indptr[:-1], indptr[1:]])
    for i, (begin, end) in enumerate(spans):
        n = max(0, int(end - begin) - input_size - horizon + 1)
        n_val = _n_validation(n, horizon, validation_fraction)
        if n_val:
            spans[i, 1] = begin + n - n_val + input_size  # the first validation window's origin
    return spans
