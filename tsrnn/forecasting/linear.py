"""The linear stage of RNNForecaster: a ridge autoregression under the network.

The network of :class:`~tsrnn.forecasting.RNNForecaster` reads a window of
``input_size`` scaled values (relative to the last one when a base forecast is
used) and forecasts the residual over that base. Small series give a network
too few windows to learn even a linear trend or a mean reversion reliably, so a
ridge regression from the same window to the same targets is fitted first, in
closed form, and the network learns what it leaves (the "highway" of LSTNet,
Lai et al. 2018, fitted before rather than with the network).
"""

import numpy as np
from sklearn.linear_model import Ridge, RidgeCV

# Ridge penalties tried by generalised cross-validation; features and targets are
# in scaled units, so one grid serves every series.
ALPHAS = np.logspace(-3, 3, 13)


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
        The fitted regression (``alpha_`` chosen by generalised cross-validation).
    """

    def __init__(self, use_level):
        self.use_level = use_level

    def _features(self, window, last):
        return np.column_stack([window, last]) if self.use_level else window

    def fit(self, window, last, y):
        """Fit on ``window (n, input_size)``, ``last (n,)`` and targets ``y (n, horizon)``.

        Cross-validation needs a few windows: with fewer than 3 the penalty is fixed at 1.
        """
        ridge = RidgeCV(alphas=ALPHAS) if len(window) >= 3 else Ridge(alpha=1.0)
        self.ridge_ = ridge.fit(self._features(window, last), y)
        return self

    def predict(self, window, last):
        """Linear forecast of the targets, shape ``(n, horizon)``, float64."""
        return self.ridge_.predict(self._features(window, last)).reshape(len(window), -1)


def fit_linear_base(kind, train, validation):
    """Fit the linear stage chosen by ``kind`` on training windows.

    Parameters
    ----------
    kind : {'auto', 'changes', 'levels'}
        'changes' reads only the window, 'levels' also the last level; 'auto' fits
        both and keeps the one with the lower mean squared error on the
        ``validation`` windows ('changes' when there are none).
    train, validation : SeriesWindows
        ``validation`` may be None.

    Returns
    -------
    linear : LinearBase
        With ``validation_mse_``: {'changes': mse, 'levels': mse} when 'auto'
        compared them, else None.
    """
    window, last, y = train.linear_inputs(np.arange(train.n_samples))
    candidates = {"changes": [False], "levels": [True], "auto": [False, True]}[kind]
    if validation is None or len(candidates) == 1:
        linear = LinearBase(use_level=candidates[0]).fit(window, last, y)
        linear.validation_mse_ = None
        return linear
    v_window, v_last, v_y = validation.linear_inputs(np.arange(validation.n_samples))
    fitted = [LinearBase(use_level).fit(window, last, y) for use_level in candidates]
    errors = [float(np.mean((m.predict(v_window, v_last) - v_y) ** 2)) for m in fitted]
    linear = fitted[int(np.argmin(errors))]
    linear.validation_mse_ = dict(zip(["changes", "levels"], errors))
    return linear
