"""The linear stage of RNNForecaster: a ridge autoregression under the network.

The network of :class:`~tsrnn.forecasting.RNNForecaster` reads a window of
``input_size`` scaled values (relative to the last one when a base forecast is
used) and forecasts the residual over that base. Small series give a network
too few windows to learn even a linear trend or a mean reversion reliably, so a
ridge regression from the same window to the same targets is fitted first, in
closed form, and the network learns what it leaves (the "highway" of LSTNet,
Lai et al. 2018, fitted before rather than with the network).

The fit reads the windows in chunks of :data:`CHUNK` and never holds more than one
chunk, so its memory does not grow with the number of windows (a global model on
thousands of series has millions). It gives what scikit-learn's
``RidgeCV(alphas=ALPHAS)`` gives on all the windows at once (the same penalty,
coefficients and intercept, to rounding), from two passes:

1. the mean and the centred co-moment matrix of ``[window, last, y]`` (chunk
   statistics merged exactly, as in Chan, Golub and LeVeque 1979), from which the
   ridge solution of every penalty follows through one eigendecomposition of the
   centred Gram matrix ``X_c^T X_c = V diag(s) V^T``; the intercept is
   ``mean(y) - mean(X) @ coef``, as with ``fit_intercept=True``;
2. the exact leave-one-out error of each penalty (RidgeCV's default, efficient
   generalised cross-validation): with ``P = X_c V`` per chunk, window ``i`` has
   leverage ``h_i = 1/n + sum_k P_ik^2 / (s_k + alpha)`` and leave-one-out error
   ``(y_i - fit_i) / (1 - h_i)``; the penalty with the smallest mean squared error
   over all windows and targets wins (the first on a tie, as RidgeCV).

'changes' reads a subset of the columns 'levels' reads (the window without the last
level), so the same two passes over the windows fit both.
With no more windows than features (RidgeCV then decomposes the n x n Gram
matrix) the windows are few and are handed to RidgeCV itself, and with fewer than
3 the penalty is fixed at 1.
"""

import numpy as np

from .._config import single_threaded_blas

# Ridge penalties tried by generalised cross-validation; features and targets are
# in scaled units, so one grid serves every series.
ALPHAS = np.logspace(-3, 3, 13)

# Windows per chunk: bounds the float64 blocks the fit and the validation error hold at a
# time (for input_size=28, horizon=7: 4.7 MB per (chunk, input_size + 1 + horizon) block,
# 12 MB for every penalty's fits, ~31 MB at the peak); larger chunks gain little once the
# BLAS calls are this size.
CHUNK = 16384


class LinearBase:
    """Ridge regression from a window's target column to the network's targets.

    Parameters
    ----------
    use_level : bool
        Also read the scaled level of the last observation. It lets a
        mean-reverting series pull its forecast towards its mean; for a trending
        series it extrapolates a level the training data never reached, which is
        why :func:`fit_linear_base` chooses it on validation windows.

    Attributes
    ----------
    ridge_ : sklearn.linear_model.RidgeCV or Ridge
        The fitted regression: ``coef_``, ``intercept_`` and (RidgeCV, with at least 3
        windows) ``alpha_``, the penalty chosen by leave-one-out cross-validation, and
        ``best_score_``, minus its mean squared leave-one-out error. Fitted in chunks
        (see the module docstring), equal to ``RidgeCV(alphas=ALPHAS).fit`` on all the
        windows at once.
    """

    def __init__(self, use_level):
        self.use_level = use_level

    def _features(self, window, last):
        return np.column_stack([window, last]) if self.use_level else window

    def fit(self, window, last, y, chunk_size=None):
        """Fit on ``window (n, input_size)``, ``last (n,)`` and targets ``y (n, horizon)``.

        Cross-validation needs a few windows: with fewer than 3 the penalty is fixed at 1.
        ``chunk_size`` windows (None: :data:`CHUNK`) are read at a time; the result does
        not depend on it.
        """
        chunks = _ArrayChunks(window, last, y, chunk_size or CHUNK)
        self.ridge_ = _fit_candidates(chunks, [self.use_level])[0]
        return self

    def predict(self, window, last):
        """Linear forecast of the targets, shape ``(n, horizon)``, float64."""
        # what Ridge.predict computes (X @ coef_.T + intercept_), without its input
        # checks, which would cost more than the product on a training mini-batch
        ridge = self.ridge_
        return (self._features(window, last) @ ridge.coef_.T + ridge.intercept_).reshape(len(window), -1)


class _ArrayChunks:
    """Windows given as arrays, read in chunks like :class:`_WindowChunks`."""

    def __init__(self, window, last, y, chunk_size):
        self.window, self.last = np.asarray(window, dtype=float), np.asarray(last, dtype=float)
        self.y = np.asarray(y, dtype=float).reshape(len(self.window), -1)
        self.n_samples, self.n_window, self.chunk_size = len(self.window), self.window.shape[1], chunk_size

    def all(self):
        return self.window, self.last, self.y

    def __iter__(self):
        for start in range(0, self.n_samples, self.chunk_size):
            end = start + self.chunk_size
            yield self.window[start:end], self.last[start:end], self.y[start:end]


class _WindowChunks:
    """The linear-stage inputs of a :class:`~tsrnn.forecasting.windows.SeriesWindows`, chunk by chunk."""

    def __init__(self, windows, chunk_size):
        self.windows, self.n_samples, self.n_window = windows, windows.n_samples, windows.input_size
        self.chunk_size = chunk_size

    def all(self):
        return self.windows.linear_inputs(np.arange(self.n_samples))

    def __iter__(self):
        for start in range(0, self.n_samples, self.chunk_size):
            yield self.windows.linear_inputs(np.arange(start, min(start + self.chunk_size, self.n_samples)))


def _stacked(window, last, y):
    """One float64 block ``[window, last, y]`` per chunk: the columns every candidate reads."""
    return np.column_stack([window, last, y])


class _Moments:
    """Running count, mean and centred co-moment matrix ``sum (z - mean)(z - mean)^T`` of rows ``z``.

    Each chunk is centred on its own mean and merged with the pairwise update of
    Chan, Golub and LeVeque: no sum of raw squares, whose difference from the
    squared mean would cancel digits when the mean is large.
    """

    def __init__(self, width):
        self.n, self.mean, self.comoment = 0, np.zeros(width), np.zeros((width, width))

    def add(self, Z):
        m = len(Z)
        if m == 0:
            return
        mean = Z.mean(axis=0)
        centred = Z - mean
        comoment = centred.T @ centred
        n = self.n + m
        delta = mean - self.mean
        self.comoment += comoment + np.outer(delta, delta) * (self.n * m / n)
        self.mean = self.mean + delta * (m / n)
        self.n = n


class _RidgePath:
    """Every penalty's ridge solution on the first ``n_features`` columns of the stacked
    block, for its last ``n_targets`` columns, from their moments."""

    def __init__(self, moments, n_features, n_targets):
        self.n, self.features, self.targets = moments.n, slice(0, n_features), slice(-n_targets, None)
        self.x_mean, self.y_mean = moments.mean[self.features], moments.mean[self.targets]
        self.eigenvalues, self.V = np.linalg.eigh(moments.comoment[self.features, self.features])
        self.Q = self.V.T @ moments.comoment[self.features, self.targets]  # V^T X_c^T y_c
        self.inverse = 1.0 / (self.eigenvalues[:, None] + ALPHAS[None, :])  # (p, n_alphas)
        self.sse = np.zeros(ALPHAS.size)

    def add_errors(self, Z):
        """Accumulate each penalty's squared leave-one-out errors over the windows of chunk ``Z``."""
        P = (Z[:, self.features] - self.x_mean) @ self.V
        y_centred = Z[:, self.targets] - self.y_mean
        # 1 - leverage; the 1/n is the intercept's share (RidgeCV's sqrt_sw term)
        denominators = 1.0 - (P**2) @ self.inverse - 1.0 / self.n  # (m, n_alphas)
        # every penalty's in-sample fit in one product: P @ diag(1 / (s + alpha)) @ Q
        weights = (self.inverse[:, :, None] * self.Q[:, None, :]).reshape(len(self.Q), -1)
        fits = (P @ weights).reshape(len(P), ALPHAS.size, -1)
        residuals = np.subtract(y_centred[:, None, :], fits, out=fits)
        # leave-one-out error = residual / (1 - leverage), squared and summed over the targets
        self.sse += np.sum(np.einsum("man,man->ma", residuals, residuals) / denominators**2, axis=0)

    def ridge(self):
        """A RidgeCV fitted like ``RidgeCV(alphas=ALPHAS).fit`` on the windows, with its attributes."""
        best = int(np.argmin(self.sse))  # the first minimum: RidgeCV keeps the first on a tie
        coef = (self.V @ (self.inverse[:, best, None] * self.Q)).T  # (n_targets, p)
        if len(coef) == 1:
            coef = coef.ravel()  # RidgeCV's shape for a single target
        from sklearn.linear_model import RidgeCV  # imported here: only a fit with a linear stage needs it (~0.15 s)

        ridge = RidgeCV(alphas=ALPHAS)
        ridge.alpha_ = float(ALPHAS[best])
        ridge.best_score_ = -self.sse[best] / (self.n * self.Q.shape[1])
        ridge.coef_ = coef
        ridge.intercept_ = self.y_mean - self.x_mean @ coef.T
        ridge.n_features_in_ = len(self.x_mean)
        return ridge


def _fit_candidates(chunks, use_levels):
    """The fitted regression (RidgeCV or Ridge) of each candidate (``use_level`` flags)."""
    # many chunk-sized products: a multi-threaded BLAS spent more time waking and
    # spinning its threads than multiplying (0.5 s instead of 8 ms for a 16384 x 36
    # Gram matrix on a busy 2-core machine)
    with single_threaded_blas():
        return _fit_chunked(chunks, use_levels)


def _fit_chunked(chunks, use_levels):
    n, width = chunks.n_samples, [chunks.n_window + bool(use_level) for use_level in use_levels]
    ridges = [None] * len(use_levels)
    # No more windows than features (RidgeCV then decomposes the n x n Gram matrix, which
    # is stable where 1 - leverage nears 0) or fewer than 3: at most input_size + 1
    # windows, so sklearn on all of them costs nothing.
    few = [n < 3 or n <= p for p in width]
    if any(few):
        from sklearn.linear_model import Ridge, RidgeCV  # imported here, as in _RidgePath.ridge

        window, last, y = chunks.all()
        for k, use_level in enumerate(use_levels):
            if few[k]:
                X = np.column_stack([window, last]) if use_level else window
                ridges[k] = (RidgeCV(alphas=ALPHAS) if n >= 3 else Ridge(alpha=1.0)).fit(X, y)
    if all(few):
        return ridges
    moments = None
    for window, last, y in chunks:  # first pass: the moments, hence every penalty's solution
        Z = _stacked(window, last, y)
        moments = moments or _Moments(Z.shape[1])
        moments.add(Z)
    n_targets = len(moments.mean) - chunks.n_window - 1
    paths = {k: _RidgePath(moments, width[k], n_targets) for k in range(len(use_levels)) if not few[k]}
    for window, last, y in chunks:  # second pass: the leave-one-out errors need the solutions
        Z = _stacked(window, last, y)
        for path in paths.values():
            path.add_errors(Z)
    for k, path in paths.items():
        ridges[k] = path.ridge()
    return ridges


def fit_linear_base(kind, train, validation, chunk_size=None):
    """Fit the linear stage chosen by ``kind`` on training windows.

    Parameters
    ----------
    kind : {'auto', 'changes', 'levels'}
        'changes' reads only the window, 'levels' also the last level; 'auto' fits
        both and keeps the one with the lower mean squared error on the
        ``validation`` windows ('changes' when there are none).
    train, validation : SeriesWindows
        ``validation`` may be None.
    chunk_size : int or None, default=None
        Windows read at a time (the fit and the validation error), None: :data:`CHUNK`;
        the result does not depend on it, the memory does.

    Returns
    -------
    linear : LinearBase
        With ``validation_mse_``: {'changes': mse, 'levels': mse} when 'auto'
        compared them, else None.
    """
    chunk_size = chunk_size or CHUNK
    candidates = {"changes": [False], "levels": [True], "auto": [False, True]}[kind]
    if validation is None:
        candidates = candidates[:1]  # 'auto' without validation windows: 'changes'
    fitted = []
    for use_level, ridge in zip(candidates, _fit_candidates(_WindowChunks(train, chunk_size), candidates)):
        linear = LinearBase(use_level)
        linear.ridge_, linear.validation_mse_ = ridge, None
        fitted.append(linear)
    if len(fitted) == 1:
        return fitted[0]
    squared = np.zeros(len(fitted))
    with single_threaded_blas():
        for v_window, v_last, v_y in _WindowChunks(validation, chunk_size):
            for k, model in enumerate(fitted):
                squared[k] += np.sum((model.predict(v_window, v_last) - v_y) ** 2)
    errors = [float(s / (validation.n_samples * validation.n_targets)) for s in squared]
    linear = fitted[int(np.argmin(errors))]
    linear.validation_mse_ = dict(zip(["changes", "levels"], errors))
    return linear
