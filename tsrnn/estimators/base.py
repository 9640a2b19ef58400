"""The machinery every recurrent scikit-learn estimator shares: fit, partial_fit, raw prediction, save.

:class:`BaseRecurrentEstimator` validates sequences ``X`` (3-D, or 2-D for one
feature per step), builds and trains a :class:`~tsrnn.nn.RecurrentNetwork`
through :class:`tsrnn.nn.Trainer` (transactionally, :mod:`tsrnn._staging`),
continues training (``warm_start``, ``partial_fit``) and saves in the format of
:mod:`tsrnn.estimators.persistence`. The task lives in the subclasses
(:mod:`~tsrnn.estimators.regressors`, :mod:`~tsrnn.estimators.classifier`), which
implement the hooks

- ``_validate_y(y, reset, **target_options)``: the targets as a float64 array
  ``(n_samples, n_targets)`` for the trainer (and the fitted target state on ``reset``);
- ``_head_size(n_targets)``: outputs of the network's head;
- ``_training_loss()`` and ``_validation_score()``: the trainer's ``loss`` and
  ``validation_score``;

and may override ``_check_params`` (calling this one) and ``_validation_split``.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._config import using_threads
from .._staging import staged_fit
from .._validation import BOOLEAN, NONE, RANDOM_STATE, Interval, Predicate, StrOptions, validate_params
from ..nn import OPTIMIZERS, ArrayWindows, RecurrentNetwork, Trainer, seeded_generator
from .persistence import save_model

DEVICES = ("cpu", "cuda", "auto")
ALL_THREADS = Predicate("-1", lambda v: isinstance(v, Integral) and not isinstance(v, bool) and v == -1)
DTYPES = {"float32": np.float32, "float64": np.float64}

# The network and training parameters of every recurrent estimator (the task adds its own:
# the regressors' loss and quantiles, the classifier's class_weight).
TRAINING_CONSTRAINTS = {
    "hidden_size": [Interval(Integral, 1, None, closed="left")],
    "num_layers": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0.0, 1.0, closed="left")],
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

# numpydoc entries of the parameters in TRAINING_CONSTRAINTS, in signature order around the
# task's own: NETWORK_DOC (hidden_size .. dropout), the task's, then TRAINING_DOC (optimizer ..
# n_threads), whose early_stopping entry (time-ordered samples) a task may replace.
NETWORK_DOC = """
    hidden_size : int, default=64
        Units in each recurrent layer.
    num_layers : int, default=1
        Stacked recurrent layers.
    dropout : float, default=0.0
        Dropout probability on the outputs of every layer but the last."""

OPTIMIZER_DOC = """
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
"""

EARLY_STOPPING_DOC = """\
    early_stopping : bool, default=True
        Hold out the last ``validation_fraction`` of the samples (the most
        recent windows, since samples are taken to be in time order), stop after
        ``n_iter_no_change`` epochs without improvement of the validation loss
        and restore the best weights. Without it, the training loss decides
        when to stop and the last weights are kept.
"""

CONTINUATION_DOC = """\
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

TRAINING_DOC = OPTIMIZER_DOC + EARLY_STOPPING_DOC + CONTINUATION_DOC


def _jsonable_param(value):
    """A parameter in comparable form (sequences as lists)."""
    return list(np.asarray(value).tolist()) if isinstance(value, (list, tuple, np.ndarray)) else value


class BaseRecurrentEstimator(BaseEstimator):
    """What the recurrent estimators share: fit, partial_fit, raw prediction, save.

    Subclasses write out their ``__init__`` (scikit-learn reads the parameters from
    its signature), provide ``cell`` and ``activation`` (as parameters or as class
    attributes) and implement the hooks of the module docstring.
    """

    _parameter_constraints = TRAINING_CONSTRAINTS

    # What a continued fit (warm_start, partial_fit) cannot change: the network's shape
    # and the optimizer's kind and state. A changed learning_rate or weight_decay is applied.
    _ARCHITECTURE_PARAMS = ("cell", "activation", "hidden_size", "num_layers", "dtype", "optimizer")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # -- fitting -------------------------------------------------------------

    def _fit(self, X, y, incremental, **target_options):
        """Transactional (:mod:`tsrnn._staging`): a fit that raises or is interrupted leaves ``self`` as it was."""
        validate_params(self)
        resume = hasattr(self, "network_") and (incremental or self.warm_start)
        with staged_fit(self, fresh=not resume) as staged:
            staged._fit_staged(X, y, incremental, resume, target_options)
        return self

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

    def _fit_staged(self, X, y, incremental, resume, target_options):
        self._check_params()
        if resume:
            self._check_continuation()
            # continue from copies: the committed network and history stay untouched until the fit succeeds
            self.network_, self._history = copy.deepcopy((self.network_, getattr(self, "_history", None)))
        X, y = self._validate_X_y(X, y, reset=not resume, **target_options)
        train, validation = ArrayWindows(X, y), None
        if self.early_stopping and not incremental:
            n_val = int(np.ceil(self.validation_fraction * X.shape[1]))
            if X.shape[1] - n_val < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 samples to hold out validation_fraction="
                    f"{self.validation_fraction}; got {X.shape[1]}. Set early_stopping=False."
                )
            fit_idx, val_idx = self._validation_split(y, n_val)
            train = ArrayWindows(X[:, fit_idx], y[fit_idx])
            validation = ArrayWindows(X[:, val_idx], y[val_idx])
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

    def _validation_split(self, y, n_val):
        """Indices (or slices) of the samples to train on and to hold out: the last ``n_val``."""
        return slice(None, -n_val), slice(-n_val, None)

    def _trainer(self):
        """The :class:`~tsrnn.nn.Trainer` with this estimator's training options."""
        return Trainer(
            self._training_loss(),
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
            validation_score=self._validation_score(),
            verbose=self.verbose,
            n_threads=self.n_threads,
        )

    def _check_params(self):
        """Checks across parameters; sets ``_quantiles`` (None unless a subclass sets it after this)."""
        if self.device == "cuda":
            raise ValueError(
                "device='cuda' is not available: this version of tsrnn ships CPU kernels only. "
                "Use device='cpu' or 'auto'."
            )
        if self.cell != "rnn" and self.activation != "tanh":
            raise ValueError(f"activation={self.activation!r} applies to cell='rnn' only; {self.cell} uses tanh.")
        self._quantiles = None

    def _new_network(self, n_features, n_targets):
        """An untrained network (zero weights) of this configuration; also used by :func:`load_model`."""
        return RecurrentNetwork(
            self.cell,
            n_features,
            self.hidden_size,
            self.num_layers,
            self._head_size(n_targets),
            self.activation,
            DTYPES[self.dtype],
        )

    def _validate_X_y(self, X, y, reset, **target_options):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X = self._validate_X(X, reset=reset)
        y = self._validate_y(y, reset, **target_options)
        if y.shape[0] != X.shape[1]:
            raise ValueError(f"X and y have different numbers of samples: {X.shape[1]} and {y.shape[0]}.")
        return X, y

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
            # check_array's minimum sizes cover only 2-D arrays; an empty axis would predict a constant
            if X.shape[1] == 0 or X.shape[2] == 0:
                raise ValueError(
                    f"X of shape {X.shape} has {'sequences of length 0' if X.shape[1] == 0 else '0 features'}; "
                    "X needs shape (n_samples, seq_len >= 1, n_features >= 1)."
                )
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
        """The head outputs ``(n_samples, head size)`` in float64."""
        check_is_fitted(self, "network_")
        X = self._validate_X(X, reset=False)
        with using_threads(self.n_threads):
            return self.network_.predict(X).astype(np.float64)

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
