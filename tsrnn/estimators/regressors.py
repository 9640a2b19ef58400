"""scikit-learn regressors on the Numba recurrent kernels.

``RNNRegressor`` takes sequences ``X`` of shape ``(n_samples, seq_len,
n_features)`` (or ``(n_samples, seq_len)`` for one feature) and targets ``y`` of
shape ``(n_samples,)`` or ``(n_samples, n_targets)``, e.g. a forecast horizon.
``LSTMRegressor`` and ``GRURegressor`` fix the cell. The three are siblings over
one private base that holds fit, predict and save; they train through
:class:`tsrnn.nn.Trainer` and save in the format of :mod:`tsrnn.estimators.persistence`.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._config import using_threads
from .._staging import staged_fit
from .._validation import BOOLEAN, NONE, QUANTILES, RANDOM_STATE, Interval, Predicate, StrOptions, validate_params
from ..kernels import ACTIVATIONS, CELLS
from ..nn import LOSSES, OPTIMIZERS, ArrayWindows, RecurrentNetwork, Trainer, seeded_generator
from ..nn.training import point_prediction, quantile_predictions
from .persistence import register_model, save_model

DEVICES = ("cpu", "cuda", "auto")
ALL_THREADS = Predicate("-1", lambda v: isinstance(v, Integral) and not isinstance(v, bool) and v == -1)
DTYPES = {"float32": np.float32, "float64": np.float64}

# The parameters every recurrent regressor has (RNNRegressor adds cell and activation).
# Public so that models built on the same network (RNNForecaster) check them alike.
PARAMETER_CONSTRAINTS = {
    "hidden_size": [Interval(Integral, 1, None, closed="left")],
    "num_layers": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0.0, 1.0, closed="left")],
    "loss": [StrOptions(LOSSES)],
    "quantiles": [QUANTILES, NONE],
    "optimizer": [StrOptions(OPTIMIZERS)],
    "learning_rate": [Interval(Real, 0.0, None, closed="neither")],
    "lr_schedule": [StrOptions({"constant", "plateau"})],
    "weight_decay": [Interval(Real, 0.0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "clip_norm": [Interval(Real, 0.0, None, closed="neither"), NONE],
    "early_stopping": [BOOLEAN],
    "validation_fraction": [Interval(Real, 0.0, 1.0, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0.0, None, closed="left")],
    "recurrent_init": [StrOptions({"uniform", "orthogonal"})],
    "device": [StrOptions(DEVICES)],
    "dtype": [StrOptions(DTYPES)],
    "random_state": [RANDOM_STATE],
    "warm_start": [BOOLEAN],
    "verbose": [Interval(Integral, 0, None, closed="left"), BOOLEAN],
    "n_threads": [Interval(Integral, 1, None, closed="left"), ALL_THREADS, NONE],
}

_PARAMS_DOC = """
    hidden_size : int, default=64
        Units in each recurrent layer.
    num_layers : int, default=1
        Stacked recurrent layers.
    dropout : float, default=0.0
        Dropout probability on the outputs of every layer but the last.
    loss : {'mse', 'mae', 'huber', 'quantile'}, default='mse'
        Training loss; 'quantile' is the pinball loss averaged over ``quantiles``.
    quantiles : sequence of float, default=None
        Probabilities in (0, 1) to forecast with ``loss='quantile'``; see
        :meth:`predict_quantiles`. :meth:`predict` then returns the one nearest 0.5.
    optimizer : {'sgd', 'momentum', 'adam', 'adamw'}, default='adam'
    learning_rate : float, default=1e-3
    lr_schedule : {'constant', 'plateau'}, default='constant'
        'plateau' halves the learning rate after ``max(1, n_iter_no_change // 2)``
        epochs without improvement of the monitored loss (the validation loss
        with early stopping), so training settles before early stopping ends it.
    weight_decay : float, default=0.0
        Decoupled weight decay for 'adamw', an L2 penalty added to the gradient otherwise.
    batch_size : int, default=64
        Mini-batch size; shuffled every epoch from ``random_state``.
    max_epochs : int, default=200
        Maximum passes over the training data.
    clip_norm : float or None, default=1.0
        Clip the global gradient L2 norm to this value; None disables clipping.
    early_stopping : bool, default=True
        Hold out the last ``validation_fraction`` of the samples (the most
        recent windows, since samples are taken to be in time order), stop after
        ``n_iter_no_change`` epochs without improvement of the validation loss
        and restore the best weights. Without it, the training loss decides
        when to stop and the last weights are kept.
    validation_fraction : float, default=0.1
        Fraction of samples held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement larger than ``tol`` before stopping.
    tol : float, default=1e-4
        Minimum loss improvement that counts.
    recurrent_init : {'uniform', 'orthogonal'}, default='uniform'
        PyTorch's uniform initialisation, or orthogonal recurrent weights.
    device : {'cpu', 'cuda', 'auto'}, default='cpu'
        Where to train. 'auto' picks 'cpu' (this version ships CPU kernels only).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of weights and computation.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and dropout. The same seed gives
        identical models on the same machine and thread count.
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state instead of
        starting afresh. The network and optimizer cannot change meanwhile: a
        changed cell, activation, hidden_size, num_layers, dtype, loss, quantiles
        or optimizer raises a ``ValueError`` (as in :meth:`partial_fit`); a changed
        learning_rate or weight_decay applies from the continued fit on.
    verbose : int, default=0
        Show a progress bar with the current loss when > 0.
    n_threads : int or None, default=None
        Numba threads for the kernels during :meth:`fit` and :meth:`predict`
        (numba's thread count is restored afterwards); -1 means all cores,
        None keeps the current setting (all cores unless changed with
        :func:`tsrnn.set_num_threads`). Small problems run on fewer threads
        than this when waking more would not pay off. Results agree across
        thread counts to rounding, not bit for bit.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    network_ : RecurrentNetwork
        The trained network (weights in ``network_.params``).
    n_features_in_ : int
        Columns of 2-D ``X``, or features per step of 3-D ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when 2-D ``X`` was a DataFrame with string column names.
    n_outputs_ : int
        Targets per sample.
    loss_curve_ : list of float
        Mean training loss per epoch.
    validation_loss_curve_ : list of float
        Validation loss per epoch (with ``early_stopping``).
    validation_scores_ : list of float
        Validation R^2 per epoch (with ``early_stopping``).
    best_loss_ : float
        Best validation loss with ``early_stopping``, else best training loss.
    n_iter_ : int
        Epochs run.
"""


def _jsonable_param(value):
    """A parameter in comparable form (sequences as lists)."""
    return list(np.asarray(value).tolist()) if isinstance(value, (list, tuple, np.ndarray)) else value


class _BaseRNNRegressor(RegressorMixin, BaseEstimator):
    """What the recurrent regressors share: fit, partial_fit, predict, predict_quantiles, save.

    Subclasses write out their ``__init__`` (scikit-learn reads the parameters from
    its signature) and provide ``cell`` and ``activation``, as parameters or as
    class attributes.
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags

    # -- fitting -------------------------------------------------------------

    def fit(self, X, y):
        """Train on sequences ``X`` and targets ``y``.

        Transactional: the fitted state is built aside and committed only when the
        fit completes, so a fit that raises or is interrupted (``KeyboardInterrupt``)
        leaves the estimator exactly as it was (fitted with the same predictions, or
        unfitted).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)
            Input sequences, oldest step first; 2-D means one feature per step.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets, e.g. the next ``n_targets`` values of a series.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """One epoch of training on ``(X, y)``, continuing from the current weights.

        Like :meth:`fit`, transactional: when it raises or is interrupted, the model
        is left as it was. Parameters that shape the network or the optimizer cannot
        change between calls (see ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self : object
        """
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, incremental):
        """Transactional (:mod:`tsrnn._staging`): a fit that raises or is interrupted leaves ``self`` as it was."""
        validate_params(self)
        resume = hasattr(self, "network_") and (incremental or self.warm_start)
        with staged_fit(self, fresh=not resume) as staged:
            staged._fit_staged(X, y, incremental, resume)
        return self

    # What a continued fit (warm_start, partial_fit) cannot change: the network's shape
    # and the optimizer's kind and state. A changed learning_rate or weight_decay is applied.
    _ARCHITECTURE_PARAMS = (
        "cell",
        "activation",
        "hidden_size",
        "num_layers",
        "dtype",
        "loss",
        "quantiles",
        "optimizer",
    )

    def _architecture(self):
        return {name: _jsonable_param(getattr(self, name)) for name in self._ARCHITECTURE_PARAMS}

    def _check_continuation(self):
        """Refuse to continue training with parameters the fitted network cannot take."""
        fitted = getattr(self, "_fitted_architecture", None)
        if fitted is None:  # pickled by a version that did not record it
            return
        changed = [f"{k}={v!r} (fitted with {fitted[k]!r})" for k, v in self._architecture().items() if fitted[k] != v]
        if changed:
            raise ValueError(
                f"{type(self).__name__} continues training the fitted network (warm_start=True or "
                f"partial_fit), which cannot take changed {', '.join(changed)}. Set warm_start=False "
                "(or call fit) to train a new network."
            )

    def _fit_staged(self, X, y, incremental, resume):
        self._check_params()
        if resume:
            self._check_continuation()
            # continue from copies: the committed network and history stay untouched until the fit succeeds
            self.network_, self._history = copy.deepcopy((self.network_, getattr(self, "_history", None)))
        X, y = self._validate_X_y(X, y, reset=not resume)
        if resume and y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} targets, but {type(self).__name__} was fitted with {self.n_outputs_}."
            )
        train, validation = ArrayWindows(X, y), None
        if self.early_stopping and not incremental:
            n_val = int(np.ceil(self.validation_fraction * X.shape[1]))
            if X.shape[1] - n_val < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 samples to hold out validation_fraction="
                    f"{self.validation_fraction}; got {X.shape[1]}. Set early_stopping=False."
                )
            train = ArrayWindows(X[:, :-n_val], y[:-n_val])
            validation = ArrayWindows(X[:, -n_val:], y[-n_val:])
        trainer = self._trainer()
        if not resume:
            rng = seeded_generator(self.random_state)
            self.network_ = self._new_network(X.shape[2], y.shape[1])
            self.network_.initialize(rng, self.recurrent_init)
            self.n_outputs_ = y.shape[1]
            self._history = trainer.start(self.network_, rng)  # later partial_fit calls continue its stream
            self._fitted_architecture = self._architecture()
            self._fitted_rates = (self.learning_rate, self.weight_decay)
        elif self._history is None:
            # a loaded model: its file keeps no optimizer state, so training continues with a fresh one
            self._history = trainer.start(self.network_, seeded_generator(self.random_state))
        elif getattr(self, "_fitted_rates", None) != (self.learning_rate, self.weight_decay):
            # changed by set_params since the last fit: applies from now on (plateau halvings otherwise stay)
            self._history.optimizer.learning_rate = self.learning_rate
            self._history.optimizer.weight_decay = self.weight_decay
        self._fitted_rates = (self.learning_rate, self.weight_decay)
        h = trainer.fit(self.network_, self._history, train, validation, n_epochs=1 if incremental else None)
        self.loss_curve_ = list(h.loss_curve)
        self.validation_loss_curve_ = list(h.validation_loss_curve)
        self.validation_scores_ = list(h.validation_scores)
        self.best_loss_ = h.best_loss
        self.n_iter_ = h.n_iter

    def _trainer(self):
        """The :class:`~tsrnn.nn.Trainer` with this estimator's training options."""
        return Trainer(
            self.loss,
            quantiles=self._quantiles,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            clip_norm=self.clip_norm,
            dropout=self.dropout,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            lr_schedule=self.lr_schedule,
            verbose=self.verbose,
            n_threads=self.n_threads,
        )

    def _check_params(self):
        if self.device == "cuda":
            raise ValueError(
                "device='cuda' is not available: this version of tsrnn ships CPU kernels only. "
                "Use device='cpu' or 'auto'."
            )
        if self.cell != "rnn" and self.activation != "tanh":
            raise ValueError(f"activation={self.activation!r} applies to cell='rnn' only; {self.cell} uses tanh.")
        if (self.loss == "quantile") != (self.quantiles is not None):
            raise ValueError(
                "loss='quantile' and quantiles go together: set both (e.g. loss='quantile', "
                f"quantiles=[0.1, 0.5, 0.9]); got loss={self.loss!r}, quantiles={self.quantiles!r}."
            )
        self._quantiles = None if self.quantiles is None else np.sort(np.asarray(self.quantiles, dtype=float))

    def _new_network(self, n_features, n_targets):
        """An untrained network (zero weights) of this configuration; also used by :func:`load_model`."""
        n_quantiles = 1 if self._quantiles is None else self._quantiles.size
        return RecurrentNetwork(
            self.cell,
            n_features,
            self.hidden_size,
            self.num_layers,
            n_targets * n_quantiles,
            self.activation,
            DTYPES[self.dtype],
        )

    def _validate_X_y(self, X, y, reset):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X = self._validate_X(X, reset=reset)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D; got an array of shape {y.shape}.")
        if y.shape[0] != X.shape[1]:
            raise ValueError(f"X and y have different numbers of samples: {X.shape[1]} and {y.shape[0]}.")
        if reset:
            self._y_ndim = y.ndim
        return X, y.reshape(y.shape[0], -1)

    def _validate_X(self, X, reset):
        """Check ``X`` and return it time-major ``(T, n_samples, n_features)`` in the model dtype.

        2-D ``X`` follows scikit-learn (``n_features_in_`` = columns, feature
        names kept); 3-D ``X`` has ``n_features_in_`` features per step.
        """
        dtype = DTYPES[self.dtype] if reset else self.network_.dtype
        if not hasattr(X, "ndim"):  # lists and other array-likes
            X = np.asarray(X)
        ndim = X.ndim
        if not reset and ndim in (2, 3) and ndim != self._input_ndim:
            if ndim == 2 and self.n_features_in_ == 1:
                X, ndim = np.asarray(X)[:, :, None], 3  # a univariate sequence per row
            else:
                raise ValueError(
                    f"X is {ndim}-D, but {type(self).__name__} was fitted on {self._input_ndim}-D X "
                    f"with n_features_in_={self.n_features_in_}."
                )
        if ndim == 3:
            X = check_array(X, allow_nd=True, dtype=dtype, input_name="X")
            if reset:
                self.n_features_in_ = X.shape[2]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif X.shape[2] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[2]} features per step, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        else:
            X = validate_data(self, X, reset=reset, dtype=dtype)[:, :, None]
        if reset:
            self._input_ndim = ndim
        return np.ascontiguousarray(X.transpose(1, 0, 2))

    # -- prediction ----------------------------------------------------------

    def _raw_predict(self, X):
        check_is_fitted(self, "network_")
        X = self._validate_X(X, reset=False)
        with using_threads(self.n_threads):
            return self.network_.predict(X).astype(np.float64)

    def predict(self, X):
        """Predict targets for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            With ``loss='quantile'``, the quantile nearest the median.
        """
        pred = point_prediction(self._raw_predict(X), self.n_outputs_, self._quantiles)
        return pred.ravel() if self._y_ndim == 1 else pred

    def predict_quantiles(self, X):
        """Predict every quantile of ``quantiles`` (models trained with ``loss='quantile'``).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)

        Returns
        -------
        ndarray of shape (n_samples, n_targets, n_quantiles)
            Quantiles in increasing order of probability and never crossing.
        """
        check_is_fitted(self, "network_")
        if self._quantiles is None:
            raise ValueError("predict_quantiles needs a model fitted with loss='quantile' and quantiles.")
        return quantile_predictions(self._raw_predict(X), self.n_outputs_, self._quantiles)

    # -- persistence ---------------------------------------------------------

    def save(self, path):
        """Save a fitted model to ``path`` (a NumPy ``.npz`` archive).

        The archive holds ``params`` (the flat weight vector, in the model's
        dtype) and ``meta`` (JSON: class name, format version, constructor
        parameters and fitted shapes); :mod:`tsrnn.estimators.persistence` describes the
        format. Load it with :func:`tsrnn.load_model`. Training curves and the
        optimizer state are not saved.

        Parameters
        ----------
        path : str or path-like
        """
        check_is_fitted(self, "network_")
        save_model(self, path)


@register_model
class RNNRegressor(_BaseRNNRegressor):
    __doc__ = f"""Recurrent-network regressor (vanilla RNN, LSTM or GRU) on Numba kernels.

    A stack of recurrent layers reads each sequence; a linear head maps the last
    hidden state to the targets.

    Parameters
    ----------
    cell : {{'rnn', 'lstm', 'gru'}}, default='lstm'
        Recurrent cell.
    activation : {{'tanh', 'relu'}}, default='tanh'
        Activation of the 'rnn' cell (lstm and gru always use tanh).{_PARAMS_DOC}{_ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import LSTMRegressor
    >>> t = np.arange(400)
    >>> series = np.sin(0.2 * t)
    >>> X = np.lib.stride_tricks.sliding_window_view(series[:-1], 24)[:-5]
    >>> y = np.lib.stride_tricks.sliding_window_view(series[24:], 6)[: len(X)]
    >>> model = LSTMRegressor(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2, 6)
    """

    _parameter_constraints = {
        "cell": [StrOptions(CELLS)],
        "activation": [StrOptions(ACTIVATIONS)],
        **PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        activation="tanh",
        dropout=0.0,
        loss="mse",
        quantiles=None,
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="constant",
        weight_decay=0.0,
        batch_size=64,
        max_epochs=200,
        clip_norm=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        recurrent_init="uniform",
        device="cpu",
        dtype="float32",
        random_state=None,
        warm_start=False,
        verbose=0,
        n_threads=None,
    ):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.activation = activation
        self.dropout = dropout
        self.loss = loss
        self.quantiles = quantiles
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.clip_norm = clip_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.recurrent_init = recurrent_init
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_threads = n_threads


@register_model
class LSTMRegressor(_BaseRNNRegressor):
    __doc__ = f"""Long short-term memory regressor on Numba kernels (gates i, f, g, o as in torch.nn.LSTM).

    Parameters
    ----------{_PARAMS_DOC}{_ATTRIBUTES_DOC}
    See Also
    --------
    RNNRegressor : the same estimator with a choice of cell.
    GRURegressor : the gated recurrent unit.
    """

    # the fixed cell, read by the shared base as RNNRegressor's parameters are
    cell = "lstm"
    activation = "tanh"

    def __init__(
        self,
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        loss="mse",
        quantiles=None,
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="constant",
        weight_decay=0.0,
        batch_size=64,
        max_epochs=200,
        clip_norm=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        recurrent_init="uniform",
        device="cpu",
        dtype="float32",
        random_state=None,
        warm_start=False,
        verbose=0,
        n_threads=None,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.loss = loss
        self.quantiles = quantiles
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.clip_norm = clip_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.recurrent_init = recurrent_init
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_threads = n_threads


@register_model
class GRURegressor(_BaseRNNRegressor):
    __doc__ = f"""Gated recurrent unit regressor on Numba kernels (gates r, z, n as in torch.nn.GRU).

    Parameters
    ----------{_PARAMS_DOC}{_ATTRIBUTES_DOC}
    See Also
    --------
    RNNRegressor : the same estimator with a choice of cell.
    LSTMRegressor : the long short-term memory cell.
    """

    # the fixed cell, read by the shared base as RNNRegressor's parameters are
    cell = "gru"
    activation = "tanh"

    def __init__(
        self,
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        loss="mse",
        quantiles=None,
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="constant",
        weight_decay=0.0,
        batch_size=64,
        max_epochs=200,
        clip_norm=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        recurrent_init="uniform",
        device="cpu",
        dtype="float32",
        random_state=None,
        warm_start=False,
        verbose=0,
        n_threads=None,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.loss = loss
        self.quantiles = quantiles
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.clip_norm = clip_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.recurrent_init = recurrent_init
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_threads = n_threads
