"""The machinery every recurrent scikit-learn estimator shares: fit, partial_fit, raw prediction, save.

:class:`BaseRecurrentEstimator` validates sequences ``X`` (3-D, or 2-D for one
feature per step), builds and trains a :class:`~tsrnn.nn.RecurrentNetwork`
through :class:`tsrnn.nn.Trainer` (transactionally, :mod:`tsrnn._staging`),
continues training (``warm_start``, ``partial_fit``) and saves in the format of
:mod:`tsrnn.estimators.persistence`. The task lives in the subclasses
(:mod:`~tsrnn.estimators.regressors`, :mod:`~tsrnn.estimators.classifier`), which
implement the hooks

- ``_validate_y(y, reset, **target_options)``: the targets as a float64 array
  ``(n_samples, n_targets)`` for the trainer, or ``(n_samples, seq_len, n_targets)``
  with ``return_sequences`` (the base checks ``seq_len`` against ``X``), and the
  fitted target state on ``reset``;
- ``_head_size(n_targets)``: outputs of the network's head;
- ``_training_loss()`` and ``_validation_score()``: the trainer's ``loss`` and
  ``validation_score``;

and may override ``_check_params`` (calling this one) and ``_validation_split``.

Every estimator takes ``bidirectional`` (each layer also reads the sequence backwards,
as ``torch.nn.LSTM(bidirectional=True)``) and ``return_sequences`` (the head predicts
at every step); both are handled by :class:`~tsrnn.nn.RecurrentNetwork`. Estimators
that take ``input_type``, ``vocab_size`` and ``embedding_dim`` (the regressors and
classifiers) also read integer token sequences ``(n_samples, seq_len)`` through a trained
embedding (:func:`check_tokens`); a subclass without them keeps the class defaults
(values input).
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._config import using_threads
from .._staging import staged_fit
from .._validation import BOOLEAN, NONE, RANDOM_STATE, Interval, Predicate, StrOptions, validate_params
from ..kernels import prediction_device, resolve_device
from ..nn import OPTIMIZERS, RECURRENT_INITS, ArrayWindows, RecurrentNetwork, Trainer, seeded_generator
from .persistence import save_model

DEVICES = ("cpu", "cuda", "auto")
ALL_THREADS = Predicate("-1", lambda v: isinstance(v, Integral) and not isinstance(v, bool) and v == -1)
DTYPES = {"float32": np.float32, "float64": np.float64}

# The network and training parameters of every recurrent estimator (the task adds its own:
# the regressors' loss and quantiles, the classifier's class_weight).
TRAINING_CONSTRAINTS = {
    "hidden_size": [Interval(Integral, 1, None, closed="left")],
    "num_layers": [Interval(Integral, 1, None, closed="left")],
    "bidirectional": [BOOLEAN],
    "dropout": [Interval(Real, 0.0, 1.0, closed="left")],
    "input_type": [StrOptions({"values", "tokens"})],
    "vocab_size": [Interval(Integral, 1, None, closed="left"), NONE],
    "embedding_dim": [Interval(Integral, 1, None, closed="left"), NONE],
    "return_sequences": [BOOLEAN],
    "optimizer": [StrOptions(OPTIMIZERS)],
    "learning_rate": [Interval(Real, 0.0, None, closed="neither")],
    "lr_schedule": [StrOptions({"constant", "plateau"})],
    "weight_decay": [Interval(Real, 0.0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "clip_norm": [Interval(Real, 0.0, None, closed="neither"), NONE],
    "early_stopping": [BOOLEAN, StrOptions({"auto"})],
    "validation_fraction": [Interval(Real, 0.0, 1.0, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0.0, None, closed="left")],
    "recurrent_init": [StrOptions(RECURRENT_INITS)],
    "device": [StrOptions(DEVICES)],
    "dtype": [StrOptions(DTYPES)],
    "random_state": [RANDOM_STATE],
    "warm_start": [BOOLEAN],
    "verbose": [Interval(Integral, 0, None, closed="left"), BOOLEAN],
    "n_threads": [Interval(Integral, 1, None, closed="left"), ALL_THREADS, NONE],
}

# The parameters before the task's own, in signature order (the task's constraints take them first).
NETWORK_PARAMS = (
    "hidden_size",
    "num_layers",
    "bidirectional",
    "dropout",
    "input_type",
    "vocab_size",
    "embedding_dim",
    "return_sequences",
)

# numpydoc entries of the parameters in TRAINING_CONSTRAINTS, in signature order around the
# task's own: NETWORK_DOC (hidden_size .. dropout), the task's return_sequences and others, then
# TRAINING_DOC (optimizer .. n_threads), whose early_stopping entry (time-ordered samples) a task
# may replace.
NETWORK_DOC = """
    hidden_size : int, default=64
        Units in each recurrent layer.
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Give every layer a second direction that reads the sequence backwards,
        as ``torch.nn.LSTM(bidirectional=True)``: a layer's output at each step is
        ``[forward, backward]`` (``2 * hidden_size`` features), and the head reads
        the top layer's two final states (torch's ``h_n``), or both directions'
        outputs at every step with ``return_sequences``. Each prediction then
        depends on the whole sequence, future steps included.
    dropout : float, default=0.0
        Dropout probability on the outputs of every layer but the last."""

# numpydoc entries of the token-input parameters, for the estimators that take them.
TOKEN_DOC = """
    input_type : {'values', 'tokens'}, default='values'
        What ``X`` holds. 'values': numbers, ``(n_samples, seq_len, n_features)``
        or ``(n_samples, seq_len)``. 'tokens': integer ids in ``[0, vocab_size)``,
        ``(n_samples, seq_len)``, read through a trained embedding matrix of shape
        ``(vocab_size, embedding_dim)`` (torch's ``nn.Embedding``, initialised
        N(0, 1)) before the first layer; the embedding is part of the network's
        weights (trained, clipped, saved, continued with ``warm_start``).
        Sequences of any length are then accepted and ``n_features_in_`` is 1.
    vocab_size : int or None, default=None
        Number of token ids; required with ``input_type='tokens'``, None otherwise.
    embedding_dim : int or None, default=None
        Size of each token's embedding vector; required with
        ``input_type='tokens'``, None otherwise."""

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
    early_stopping : bool or 'auto', default='auto'
        Hold out the last ``validation_fraction`` of the samples (the most
        recent windows, since samples are taken to be in time order), stop after
        ``n_iter_no_change`` epochs without improvement of the validation loss
        and restore the best weights. Without it, the training loss decides
        when to stop and the last weights are kept. 'auto' holds out a
        validation set only from 1,000 samples on (100 validation samples at the
        default fraction): on smaller problems a split of a few dozen samples
        stops on noise (scikit-learn's ``check_regressors_train``: training R^2
        0.25 at epoch 30 with it, 0.79 without), as scikit-learn's MLP
        estimators and HistGradientBoosting's 'auto' also judge.
"""


def _check_float32_range(X, dtype):
    """Refuse float data that float32 would flush to zero (or to a few subnormal bits): a model
    would then train on nothing. Too large values are check_array's (it reports inf)."""
    if dtype != np.float32 or not isinstance(X, np.ndarray) or X.dtype.kind != "f" or X.size == 0:
        return
    with np.errstate(invalid="ignore"):
        peak = float(np.max(np.abs(X)))  # NaN or inf: check_array reports them
    tiny = float(np.finfo(np.float32).tiny)
    if 0.0 < peak < tiny:
        raise ValueError(
            f"Every value of X is below {tiny:.3g} in magnitude (the largest is {peak:.3g}), where float32 "
            "keeps no precision: they would become 0 or subnormal. Scale X (e.g. a StandardScaler in a "
            "pipeline) or set dtype='float64'."
        )


# 'auto' early stopping holds out a validation set from this many samples on
AUTO_EARLY_STOPPING_SAMPLES = 1000

_CONTINUATION_TEMPLATE = """\
    validation_fraction : float, default=0.1
        Fraction of samples held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement larger than ``tol`` before stopping.
    tol : float, default=1e-4
        Minimum loss improvement that counts.
    recurrent_init : {'uniform', 'orthogonal', 'identity', 'lecun_normal'}, default='uniform'
        How the recurrent layers start: PyTorch's uniform initialisation;
        orthogonal recurrent weights (each gate block), for long memories;
        'identity', recurrent weights ``I`` and zero biases (IRNN, Le et al.
        2015), suited to ``activation='relu'`` and for ``cell='rnn'`` only;
        'lecun_normal', every layer weight N(0, 1/fan_in) and zero biases, the
        initialisation ``activation='selu'`` assumes (Klambauer et al. 2017).
    device : {'cpu', 'cuda', 'auto'}, default='cpu'
        Where to train and predict. 'cuda' keeps the weights, gradients, optimizer
        state and data on the GPU for the whole fit (needs the ``cuda`` extra and a
        GPU; a clear error says what is missing); 'auto' picks 'cuda' when it is
        usable and trains this model, else 'cpu'. Every architecture (bidirectional
        layers, token input, a per-step head) trains on either device. A model
        fitted on a GPU predicts, saves, loads and pickles on a CPU-only machine
        (prediction then runs on the CPU, with the same results within float32
        rounding).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of weights and computation.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and dropout. The same seed gives
        identical models on the same machine and thread count.
{warm_start}    verbose : int, default=0
        Show a progress bar with the current loss when > 0.
    n_threads : int or None, default=None
        Numba threads for the kernels during :meth:`fit` and :meth:`predict`
        (numba's thread count is restored afterwards); -1 means all cores,
        None keeps the current setting (all cores unless changed with
        :func:`tsrnn.set_num_threads`). Small problems run on fewer threads
        than this when waking more would not pay off. Results agree across
        thread counts to rounding, not bit for bit.
"""

WARM_START_DOC = """\
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state instead of
        starting afresh. The network and optimizer cannot change meanwhile: a
        changed cell, activation, hidden_size, num_layers, bidirectional,
        return_sequences, input_type, vocab_size, embedding_dim, dtype, loss,
        quantiles or optimizer raises a ``ValueError`` (as in
        :meth:`partial_fit`); a changed learning_rate or weight_decay applies
        from the continued fit on.
"""

# for a classifier: the classes are part of the fitted network (one logit each)
CLASSIFIER_WARM_START_DOC = """\
    warm_start : bool, default=False
        Make :meth:`fit` continue training the fitted network (its weights, the
        embedding with token input, and the optimizer state) on the new ``X, y``
        instead of starting afresh. The classes stay those of the first fit:
        every label of the new ``y`` must be among ``classes_`` (a new label
        raises a ``ValueError``; labels may be missing). The network and
        optimizer cannot change meanwhile: a changed cell, activation,
        hidden_size, num_layers, bidirectional, input_type, vocab_size,
        embedding_dim, return_sequences, dtype or optimizer raises a
        ``ValueError`` (as in :meth:`partial_fit`); a changed learning_rate,
        weight_decay or class_weight applies from the continued fit on.
"""

CONTINUATION_DOC = _CONTINUATION_TEMPLATE.replace("{warm_start}", WARM_START_DOC)
CLASSIFIER_CONTINUATION_DOC = _CONTINUATION_TEMPLATE.replace("{warm_start}", CLASSIFIER_WARM_START_DOC)

TRAINING_DOC = OPTIMIZER_DOC + EARLY_STOPPING_DOC + CONTINUATION_DOC


def check_tokens(X, vocab_size, name="X"):
    """Token sequences as an int64 array ``(n_samples, seq_len)`` of ids in ``[0, vocab_size)``.

    A 1-D ``X`` is allowed only when ``name`` is not 'X' (a generation prompt; returned
    as given, 1-D). Float arrays of whole numbers are accepted; fractional, non-finite,
    boolean, string or object entries are refused.

    Parameters
    ----------
    X : array-like of shape (n_samples, seq_len)
    vocab_size : int
    name : str, default='X'
        The argument's name in the messages.

    Returns
    -------
    ndarray of int64

    Raises
    ------
    ValueError
        Naming ``name`` and what is wrong (shape, non-integer ids, ids out of range).
    """
    X = np.asarray(X)
    ndim = 2 if name == "X" else 1
    if X.ndim != ndim:
        shape = "(n_samples, seq_len)" if ndim == 2 else "(n_steps,)"
        raise ValueError(
            f"With input_type='tokens', {name} must be an array of token ids of shape {shape}; got an "
            f"array of shape {X.shape}."
        )
    if X.size == 0:
        raise ValueError(f"{name} of shape {X.shape} holds no tokens; it needs at least one.")
    if X.dtype.kind == "f":
        whole = np.isfinite(X) & (X == np.round(X))
        if not np.all(whole):
            raise ValueError(
                f"{name} must hold integer token ids; got non-integer values such as {X[~whole].flat[0].item()!r}."
            )
        X = X.astype(np.int64)
    elif X.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer token ids; got an array of dtype {X.dtype}.")
    low, high = X.min(), X.max()
    if low < 0 or high >= vocab_size:
        raise ValueError(
            f"{name} holds token ids from {low} to {high}, outside [0, vocab_size) = [0, {vocab_size}); "
            "raise vocab_size or map the tokens to 0 .. vocab_size - 1."
        )
    return X.astype(np.int64, copy=False)


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

    # values input, for the estimators that do not take these parameters
    input_type = "values"
    vocab_size = None
    embedding_dim = None

    # What a continued fit (warm_start, partial_fit) cannot change: the network's shape
    # and the optimizer's kind and state. A changed learning_rate or weight_decay is applied.
    _ARCHITECTURE_PARAMS = (
        "cell",
        "activation",
        "hidden_size",
        "num_layers",
        "bidirectional",
        "return_sequences",
        "input_type",
        "vocab_size",
        "embedding_dim",
        "dtype",
        "optimizer",
    )
    # the value of an architecture parameter a model fitted before it existed had
    _ARCHITECTURE_DEFAULTS = {
        "bidirectional": False,
        "return_sequences": False,
        "input_type": "values",
        "vocab_size": None,
        "embedding_dim": None,
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def __setstate__(self, state):
        # estimators pickled before these parameters existed were unidirectional, final-state models
        super().__setstate__({**self._ARCHITECTURE_DEFAULTS, **state})

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
        fitted = {**self._ARCHITECTURE_DEFAULTS, **fitted}
        changed = [f"{k}={v!r} (fitted with {fitted[k]!r})" for k, v in self._architecture().items() if fitted[k] != v]
        if changed:
            raise ValueError(
                f"{type(self).__name__} continues training the fitted network (warm_start=True or "
                f"partial_fit), which cannot take changed {', '.join(changed)}. Set warm_start=False "
                "(or call fit) to train a new network."
            )

    def _training_device(self):
        """``'cpu'`` or ``'cuda'`` for this fit: 'auto' takes CUDA when it is usable and trains this model.

        Every architecture trains on the device; only a loss other than the built-in ones (a
        subclass's ``_training_loss``) does not: 'auto' then trains on the CPU, and 'cuda' fails in
        the trainer with an error that says so.
        """
        device = resolve_device(self.device)
        if device == "cuda" and self.device == "auto":
            from ..nn.device import supports_loss  # imports numba.cuda, which 'auto' has just imported

            if not supports_loss(self._training_loss()):
                return "cpu"
        return device

    def _prediction_device(self):
        """Where :meth:`predict` runs: the GPU when ``device`` asks for one and one is usable, else the CPU,
        so that a model trained on a GPU predicts on a CPU-only machine too."""
        return prediction_device(self.device)

    def _fit_staged(self, X, y, incremental, resume, target_options):
        self._check_params()
        self.device_ = self._training_device()
        if resume:
            self._check_continuation()
            # continue from copies: the committed network and history stay untouched until the fit succeeds
            self.network_, self._history = copy.deepcopy((self.network_, getattr(self, "_history", None)))
        X, y = self._validate_X_y(X, y, reset=not resume, **target_options)
        train, validation = ArrayWindows(X, y), None
        n_samples = X.shape[1]
        early_stopping = self.early_stopping
        if early_stopping == "auto":
            early_stopping = n_samples >= AUTO_EARLY_STOPPING_SAMPLES
        if early_stopping and not incremental:
            n_val = int(np.ceil(self.validation_fraction * n_samples))
            if n_samples - n_val < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 samples to hold out validation_fraction="
                    f"{self.validation_fraction}; got n_samples={n_samples}. Set early_stopping=False."
                )
            fit_idx, val_idx = self._validation_split(y, n_val)
            train = ArrayWindows(X[:, fit_idx], y[fit_idx])
            validation = ArrayWindows(X[:, val_idx], y[val_idx])
        trainer = self._trainer()
        if not resume:
            rng = seeded_generator(self.random_state)
            self.network_ = self._new_network(X.shape[2] if X.ndim == 3 else None, y.shape[-1])
            self.network_.initialize(rng, self.recurrent_init)
            self.n_outputs_ = y.shape[-1]
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
            device=getattr(self, "device_", "cpu"),
        )

    def _check_params(self):
        """Checks across parameters; sets ``_quantiles`` (None unless a subclass sets it after this)."""
        if self.cell != "rnn" and self.activation != "tanh":
            raise ValueError(f"activation={self.activation!r} applies to cell='rnn' only; {self.cell} uses tanh.")
        if self.recurrent_init == "identity" and self.cell != "rnn":
            raise ValueError(
                f"recurrent_init='identity' (IRNN) applies to cell='rnn' only; cell={self.cell!r} has gate "
                "blocks. Use recurrent_init='orthogonal' for a gated cell."
            )
        token_params = {"vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim}
        if self.input_type == "tokens":
            missing = [name for name, value in token_params.items() if value is None]
            if missing:
                raise ValueError(
                    f"input_type='tokens' needs {' and '.join(missing)}: set vocab_size (the number of token "
                    "ids) and embedding_dim (the size of each token's vector)."
                )
        else:
            given = [f"{name}={value!r}" for name, value in token_params.items() if value is not None]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} apply to input_type='tokens' only; set input_type='tokens' for "
                    "integer token sequences, or leave vocab_size and embedding_dim None."
                )
        self._quantiles = None

    def _new_network(self, n_features, n_targets):
        """An untrained network (zero weights) of this configuration; also used by :func:`load_model`.

        ``n_features`` is ignored for token input (the layers read ``embedding_dim`` features).
        """
        tokens = self.input_type == "tokens"
        return RecurrentNetwork(
            self.cell,
            self.embedding_dim if tokens else n_features,
            self.hidden_size,
            self.num_layers,
            self._head_size(n_targets),
            self.activation,
            DTYPES[self.dtype],
            bidirectional=self.bidirectional,
            return_sequences=self.return_sequences,
            vocab_size=self.vocab_size if tokens else None,
        )

    def _validate_X_y(self, X, y, reset, **target_options):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X = self._validate_X(X, reset=reset)
        y = self._validate_y(y, reset, **target_options)
        if y.shape[0] != X.shape[1]:
            raise ValueError(f"X and y have different numbers of samples: {X.shape[1]} and {y.shape[0]}.")
        if self.return_sequences and y.shape[1] != X.shape[0]:
            raise ValueError(
                f"With return_sequences=True, y needs one target per step of X: X has sequences of "
                f"{X.shape[0]} steps, but y has {y.shape[1]} steps per sample (y's second axis)."
            )
        return X, y

    def _validate_X(self, X, reset):
        """Check ``X`` and return it time-major ``(T, n_samples, n_features)`` in the model dtype.

        2-D ``X`` follows scikit-learn (``n_features_in_`` = columns, feature
        names kept); 3-D ``X`` has ``n_features_in_`` features per step. Token input
        (``input_type='tokens'``): integer ids ``(n_samples, seq_len)``, returned as an
        int64 array ``(seq_len, n_samples)``.
        """
        if self.input_type == "tokens":
            X = check_tokens(X, self.vocab_size if reset else self.network_.vocab_size)
            if reset:
                self.n_features_in_, self._input_ndim = 1, 2  # one token per step
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            return np.ascontiguousarray(X.T)
        dtype = DTYPES[self.dtype] if reset else self.network_.dtype
        if not hasattr(X, "ndim"):  # lists and other array-likes
            X = np.asarray(X)
        ndim = X.ndim
        _check_float32_range(X, dtype)
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
        """The head outputs ``(n_samples, head size)``, or ``(n_samples, seq_len, head size)``
        with ``return_sequences``, in float64."""
        check_is_fitted(self, "network_")
        X = self._validate_X(X, reset=False)
        with using_threads(self.n_threads):
            return self.network_.predict(X, device=self._prediction_device()).astype(np.float64)

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
