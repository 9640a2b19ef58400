"""scikit-learn sequence classifiers on the Numba recurrent kernels.

``RNNClassifier`` takes sequences ``X`` of shape ``(n_samples, seq_len,
n_features)`` (or ``(n_samples, seq_len)`` for one feature) and one label per
sequence, of any type (ints, strings, bools). A stack of recurrent layers reads
each sequence and a linear head maps the last hidden state to one logit per
class; training minimises the softmax cross-entropy
(:func:`tsrnn.nn.softmax_cross_entropy`, two logits for two classes too),
weighted by ``class_weight``. With ``return_sequences=True`` the head labels every
step instead: ``y`` holds one label per step, shape ``(n_samples, seq_len)``, and the
loss is the cross-entropy averaged over steps. ``LSTMClassifier`` and ``GRUClassifier`` fix the
cell. The three are siblings over one private base, itself over the base the
regressors share (:mod:`tsrnn.estimators.base`).
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

from .._validation import NONE, Predicate, StrOptions
from ..kernels import ACTIVATIONS, CELLS
from ..nn import log_softmax, seeded_generator, softmax_cross_entropy
from .base import (
    CLASSIFIER_CONTINUATION_DOC,
    NETWORK_DOC,
    NETWORK_PARAMS,
    OPTIMIZER_DOC,
    TOKEN_DOC,
    TRAINING_CONSTRAINTS,
    BaseRecurrentEstimator,
)
from .persistence import register_model

__all__ = ["GRUClassifier", "LSTMClassifier", "RNNClassifier"]

CLASSIFIER_CONSTRAINTS = {  # in signature order, so that the first bad parameter is the one reported
    **{k: v for k, v in TRAINING_CONSTRAINTS.items() if k in NETWORK_PARAMS},
    "class_weight": [StrOptions({"balanced"}), Predicate("an instance of 'dict'", lambda v: isinstance(v, dict)), NONE],
    **TRAINING_CONSTRAINTS,
}

_PARAMS_DOC = (
    NETWORK_DOC
    + TOKEN_DOC
    + """
    return_sequences : bool, default=False
        Label every step: the head maps the top layer's output at each step to
        one logit per class, ``y`` holds one label per step, shape
        ``(n_samples, seq_len)`` (``seq_len`` that of ``X``; ``classes_`` are
        the labels of all steps), :meth:`predict` returns ``(n_samples,
        seq_len)``, :meth:`predict_proba` ``(n_samples, seq_len, n_classes)``
        and :meth:`score` the accuracy over all steps. The loss is the
        cross-entropy averaged over steps as well as samples. Otherwise the
        head reads the final state and labels each sequence once.
    class_weight : dict, 'balanced' or None, default=None
        Weight of each class in the loss, as ``{label: weight}`` (classes not
        named weigh 1; weights must be positive), 'balanced' for
        ``n_samples / (n_classes * count(label))`` from the ``y`` of each fit
        (counting steps with ``return_sequences``), or None for equal weights.
        A class weight scales its samples' (steps') share of the loss and gradient."""
    + OPTIMIZER_DOC
    + """\
    early_stopping : bool or 'auto', default='auto'
        Hold out a random ``validation_fraction`` of the samples, stratified by
        class when every class has two samples or more (drawn from
        ``random_state``), stop after ``n_iter_no_change`` epochs without
        improvement of the validation loss (the weighted cross-entropy) and
        restore the best weights; ``validation_scores_`` records the validation
        accuracy. Without it, the training loss decides when to stop and the
        last weights are kept. 'auto' holds out a validation set only from
        1,000 samples on: a split of a few dozen samples stops on noise.
"""
    + CLASSIFIER_CONTINUATION_DOC
)

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; column ``k`` of :meth:`predict_proba` (its last
        axis) is ``classes_[k]``.
    network_ : RecurrentNetwork
        The trained network (weights in ``network_.params``); its head has one logit per class.
    n_features_in_ : int
        Columns of 2-D ``X``, or features per step of 3-D ``X``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when 2-D ``X`` was a DataFrame with string column names.
    n_outputs_ : int
        Outputs of the network's head (``n_classes``).
    loss_curve_ : list of float
        Mean training loss per epoch.
    validation_loss_curve_ : list of float
        Validation loss per epoch (with ``early_stopping``).
    validation_scores_ : list of float
        Validation accuracy per epoch (with ``early_stopping``).
    best_loss_ : float
        Best validation loss with ``early_stopping``, else best training loss.
    n_iter_ : int
        Epochs run.
"""


def _accuracy(y_true, pred):
    """Accuracy of logits ``pred`` against class-weighted one-hot rows (the trainer's validation score).

    Per-step models pass one row per step (:func:`tsrnn.nn.training.step_rows`).
    """
    return float(np.mean(np.argmax(pred, axis=1) == np.argmax(y_true, axis=1)))


class _BaseRNNClassifier(ClassifierMixin, BaseRecurrentEstimator):
    """What the recurrent classifiers share: labels, class weights, probabilities.

    Subclasses write out their ``__init__`` (scikit-learn reads the parameters from
    its signature) and provide ``cell`` and ``activation``, as parameters or as
    class attributes.
    """

    _parameter_constraints = CLASSIFIER_CONSTRAINTS

    # -- fitting -------------------------------------------------------------

    def fit(self, X, y):
        """Train on sequences ``X`` and their labels ``y``.

        Transactional: the fitted state is built aside and committed only when the
        fit completes, so a fit that raises or is interrupted (``KeyboardInterrupt``)
        leaves the estimator exactly as it was (fitted with the same predictions, or
        unfitted).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)
            Input sequences, oldest step first; 2-D means one feature per step.
        y : array-like of shape (n_samples,)
            Labels, of two classes or more, of any type ``numpy.unique`` sorts.
            With ``return_sequences``, of shape (n_samples, seq_len): one label per step.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch of training on ``(X, y)``, continuing from the current weights.

        Like :meth:`fit`, transactional: when it raises or is interrupted, the model
        is left as it was. Parameters that shape the network or the optimizer cannot
        change between calls (see ``warm_start``), nor can the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)
        y : array-like of shape (n_samples,)
            (n_samples, seq_len) with ``return_sequences``.
        classes : array-like of shape (n_classes,), default=None
            Every class of all the calls, needed on the first call when its ``y``
            lacks some; None takes the classes of the first call's ``y``. Later
            calls may repeat it (it must then equal ``classes_``).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def _training_loss(self):
        return softmax_cross_entropy

    def _validation_score(self):
        return _accuracy

    def _head_size(self, n_targets):
        return n_targets  # one logit per class

    def _validate_y(self, y, reset, classes=None):
        """Labels as rows of class weights: the one-hot row of each label times its class weight.

        ``(n_samples, n_classes)``, or ``(n_samples, seq_len, n_classes)`` for one label per step.
        """
        y = check_array(y, ensure_2d=False, allow_nd=self.return_sequences, dtype=None, input_name="y")
        if self.return_sequences:
            if y.ndim != 2:
                raise ValueError(
                    "With return_sequences=True, y must hold one label per step, shape "
                    f"(n_samples, seq_len); got y of shape {y.shape}."
                )
            shape = y.shape
            y = y.ravel()  # the labels of every step, sample-major
        else:
            if y.ndim == 2 and y.shape[1] > 1:
                raise ValueError(
                    f"y should be a 1d array of one label per sequence, got an array of shape {y.shape} "
                    "instead. For one label per step, set return_sequences=True."
                )
            y = column_or_1d(y, warn=True)
            shape = y.shape
        check_classification_targets(y)
        if reset:
            known = np.unique(y if classes is None else column_or_1d(np.asarray(classes)))
            if known.size < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes; got only one class "
                    f"({known.tolist()!r})."
                )
            self.classes_ = known
            self._y_ndim = len(shape)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()!r} differ from the classes the model was fitted "
                f"with ({self.classes_.tolist()!r})."
            )
        index = np.searchsorted(self.classes_, y)
        unknown = (index >= self.classes_.size) | (self.classes_[np.minimum(index, self.classes_.size - 1)] != y)
        if np.any(unknown):
            raise ValueError(
                f"y holds labels {np.unique(y[unknown]).tolist()!r} that are not among the classes "
                f"{self.classes_.tolist()!r} of the first fit, which a continued fit (warm_start=True, "
                "partial_fit) keeps: pass every class in the first partial_fit's classes, or set "
                "warm_start=False to fit afresh."
            )
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        if np.any(~np.isfinite(weights)) or np.any(weights <= 0):
            raise ValueError(f"class_weight must give every class a finite positive weight; got {self.class_weight!r}.")
        target = np.zeros((y.shape[0], self.classes_.size))
        target[np.arange(y.shape[0]), index] = weights[index]
        return target.reshape(*shape, self.classes_.size)

    def _validation_split(self, y, n_val):
        """A random split of the samples, stratified by class when every class can lend one.

        Per-step labels (``y`` of 3 dimensions) give a sample no single class: not stratified.
        """
        stratify = None
        if y.ndim == 2:
            labels = np.argmax(y, axis=1)
            counts = np.bincount(labels)
            present = counts[counts > 0]
            if present.min() >= 2 and present.size <= min(n_val, y.shape[0] - n_val):
                stratify = labels
        # a seed of its own for the split, so that it depends on random_state only
        seed = int(seeded_generator(self.random_state).integers(2**31 - 1))
        # imported here: a fit without early stopping never needs sklearn.model_selection (~0.05 s of start-up)
        from sklearn.model_selection import train_test_split

        fit_idx, val_idx = train_test_split(
            np.arange(y.shape[0]), test_size=n_val, stratify=stratify, random_state=seed
        )
        return np.sort(fit_idx), np.sort(val_idx)

    # -- prediction ----------------------------------------------------------

    def predict_log_proba(self, X):
        """Log-probability of each class for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Column ``k`` for ``classes_[k]``. With ``return_sequences``, of shape
            (n_samples, seq_len, n_classes): one row per step.
        """
        return log_softmax(self._raw_predict(X))

    def predict_proba(self, X):
        """Probability of each class for sequences ``X`` (each row sums to 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Column ``k`` for ``classes_[k]``. With ``return_sequences``, of shape
            (n_samples, seq_len, n_classes): one row per step, each summing to 1.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The most probable class of each sequence in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``; of shape (n_samples, seq_len) with ``return_sequences``.
        """
        logits = self._raw_predict(X)  # first: it raises NotFittedError on an unfitted model
        return self.classes_[np.argmax(logits, axis=-1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` on ``X`` against the labels ``y``.

        As :meth:`sklearn.base.ClassifierMixin.score`; with ``return_sequences``,
        the accuracy over every step of every sample (a sample's weight applies to
        each of its steps).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)
        y : array-like of shape (n_samples,)
            (n_samples, seq_len) with ``return_sequences``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if not self.return_sequences:
            return super().score(X, y, sample_weight)
        pred = self.predict(X)
        y = check_array(y, ensure_2d=False, allow_nd=True, dtype=None, input_name="y")
        if y.shape != pred.shape:
            raise ValueError(f"y of shape {y.shape} does not match the predictions' shape {pred.shape}.")
        if sample_weight is not None:
            sample_weight = np.repeat(np.asarray(sample_weight, dtype=np.float64), pred.shape[1])
        from sklearn.metrics import accuracy_score  # imported here: a fit never needs sklearn.metrics (start-up)

        return float(accuracy_score(y.ravel(), pred.ravel(), sample_weight=sample_weight))

    # -- persistence ---------------------------------------------------------

    def _persisted_state(self):
        """The fitted state the model file keeps beside the weights (see :mod:`tsrnn.estimators.persistence`)."""
        return {"classes": self.classes_.tolist(), "classes_dtype": self.classes_.dtype.str}

    def _restore_persisted_state(self, state):
        classes = np.asarray(state["classes"], dtype=np.dtype(state["classes_dtype"]))
        if classes.ndim != 1 or classes.size != self.n_outputs_:
            raise ValueError(f"{classes.size} classes for a head of {self.n_outputs_} outputs")
        self.classes_ = classes


@register_model
class RNNClassifier(_BaseRNNClassifier):
    __doc__ = f"""Recurrent-network sequence classifier (vanilla RNN, LSTM or GRU) on Numba kernels.

    A stack of recurrent layers (optionally bidirectional) reads each sequence; a
    linear head maps the last hidden state to one logit per class (or, with
    ``return_sequences``, the output at every step to that step's logits),
    trained with the softmax cross-entropy.

    Parameters
    ----------
    cell : {{'rnn', 'lstm', 'gru'}}, default='lstm'
        Recurrent cell.
    activation : {{'tanh', 'relu', 'selu'}}, default='tanh'
        Activation of the 'rnn' cell (lstm and gru always use tanh); 'relu' suits
        ``recurrent_init='identity'`` and 'selu' ``recurrent_init='lecun_normal'``.{_PARAMS_DOC}{_ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import RNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 10))
    >>> y = np.where(X.sum(axis=1) > 0, "up", "down")
    >>> model = RNNClassifier(cell="gru", hidden_size=8, max_epochs=5, random_state=0).fit(X, y)
    >>> model.classes_
    array(['down', 'up'], dtype='<U4')
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        "cell": [StrOptions(CELLS)],
        "activation": [StrOptions(ACTIVATIONS)],
        **CLASSIFIER_CONSTRAINTS,
    }

    def __init__(
        self,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        activation="tanh",
        dropout=0.0,
        input_type="values",
        vocab_size=None,
        embedding_dim=None,
        return_sequences=False,
        class_weight=None,
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="constant",
        weight_decay=0.0,
        batch_size=64,
        max_epochs=200,
        clip_norm=1.0,
        early_stopping="auto",
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
        self.bidirectional = bidirectional
        self.activation = activation
        self.dropout = dropout
        self.input_type = input_type
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.return_sequences = return_sequences
        self.class_weight = class_weight
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
class LSTMClassifier(_BaseRNNClassifier):
    __doc__ = f"""Long short-term memory sequence classifier on Numba kernels (gates i, f, g, o as in torch.nn.LSTM).

    Parameters
    ----------{_PARAMS_DOC}{_ATTRIBUTES_DOC}
    See Also
    --------
    RNNClassifier : the same estimator with a choice of cell.
    GRUClassifier : the gated recurrent unit.
    """

    # the fixed cell, read by the shared base as RNNClassifier's parameters are
    cell = "lstm"
    activation = "tanh"

    def __init__(
        self,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        input_type="values",
        vocab_size=None,
        embedding_dim=None,
        return_sequences=False,
        class_weight=None,
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="constant",
        weight_decay=0.0,
        batch_size=64,
        max_epochs=200,
        clip_norm=1.0,
        early_stopping="auto",
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
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.input_type = input_type
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.return_sequences = return_sequences
        self.class_weight = class_weight
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
class GRUClassifier(_BaseRNNClassifier):
    __doc__ = f"""Gated recurrent unit sequence classifier on Numba kernels (gates r, z, n as in torch.nn.GRU).

    Parameters
    ----------{_PARAMS_DOC}{_ATTRIBUTES_DOC}
    See Also
    --------
    RNNClassifier : the same estimator with a choice of cell.
    LSTMClassifier : the long short-term memory cell.
    """

    # the fixed cell, read by the shared base as RNNClassifier's parameters are
    cell = "gru"
    activation = "tanh"

    def __init__(
        self,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        input_type="values",
        vocab_size=None,
        embedding_dim=None,
        return_sequences=False,
        class_weight=None,
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="constant",
        weight_decay=0.0,
        batch_size=64,
        max_epochs=200,
        clip_norm=1.0,
        early_stopping="auto",
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
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.input_type = input_type
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.return_sequences = return_sequences
        self.class_weight = class_weight
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
