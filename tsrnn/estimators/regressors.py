"""scikit-learn regressors on the Numba recurrent kernels.

``RNNRegressor`` takes sequences ``X`` of shape ``(n_samples, seq_len,
n_features)`` (or ``(n_samples, seq_len)`` for one feature) and targets ``y`` of
shape ``(n_samples,)`` or ``(n_samples, n_targets)``, e.g. a forecast horizon
(``input_type='tokens'``: integer token ids ``(n_samples, seq_len)`` through a trained
embedding);
with ``return_sequences=True``, one target (or ``n_targets``) per step, ``y`` of
shape ``(n_samples, seq_len)`` or ``(n_samples, seq_len, n_targets)``.
``LSTMRegressor`` and ``GRURegressor`` fix the cell. The three are siblings over
one private base that holds fit, predict and save; they train through
:class:`tsrnn.nn.Trainer` and save in the format of :mod:`tsrnn.estimators.persistence`.
"""

import warnings

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted

from .._validation import NONE, QUANTILES, StrOptions
from ..kernels import ACTIVATIONS, CELLS
from ..nn import LOSSES
from ..nn.training import point_prediction, quantile_predictions, step_rows
from .base import (
    DTYPES,
    NETWORK_DOC,
    NETWORK_PARAMS,
    TOKEN_DOC,
    TRAINING_CONSTRAINTS,
    TRAINING_DOC,
    BaseRecurrentEstimator,
)
from .persistence import register_model

__all__ = ["DTYPES", "PARAMETER_CONSTRAINTS", "GRURegressor", "LSTMRegressor", "RNNRegressor"]

# The parameters every recurrent regressor has (RNNRegressor adds cell and activation).
# Public so that models built on the same network (RNNForecaster) check them alike.
_LOSS_CONSTRAINTS = {"loss": [StrOptions(LOSSES)], "quantiles": [QUANTILES, NONE]}
PARAMETER_CONSTRAINTS = {  # in signature order, so that the first bad parameter is the one reported
    **{k: v for k, v in TRAINING_CONSTRAINTS.items() if k in NETWORK_PARAMS},
    **_LOSS_CONSTRAINTS,
    **TRAINING_CONSTRAINTS,
}

# The probability of the head the point forecast comes from: trained beside ``quantiles``
# when they lack it, so that tail-only quantiles never become the point forecast.
MEDIAN = 0.5


def head_quantiles(quantiles):
    """The probabilities a quantile head is trained on: ``quantiles`` sorted, with the median added.

    Parameters
    ----------
    quantiles : sequence of float
        The user's probabilities in (0, 1).

    Returns
    -------
    ndarray of shape (n_heads,)
        Sorted; ``n_heads`` is ``len(quantiles)``, plus one when 0.5 is not among them.
    """
    return np.union1d(np.asarray(quantiles, dtype=float), [MEDIAN])


_PARAMS_DOC = (
    NETWORK_DOC
    + TOKEN_DOC
    + """
    return_sequences : bool, default=False
        Predict at every step: the head maps the top layer's output at each step
        to that step's targets, ``y`` of shape ``(n_samples, seq_len)`` or
        ``(n_samples, seq_len, n_targets)`` (``seq_len`` that of ``X``), and
        :meth:`predict` returns that shape. The loss is the mean over steps as
        well as samples; :meth:`score` is the R^2 over all steps. Otherwise the
        head reads the final state and predicts once per sequence.
    loss : {'mse', 'mae', 'huber', 'quantile'}, default='mse'
        Training loss; 'quantile' is the pinball loss averaged over the quantile
        heads (``quantiles`` and the median).
    quantiles : sequence of float, default=None
        Probabilities in (0, 1) to forecast with ``loss='quantile'``; see
        :meth:`predict_quantiles`, which returns exactly these. :meth:`predict`
        returns the median head's forecast: a head for 0.5 is trained beside them
        when 0.5 is not among ``quantiles`` (not returned by :meth:`predict_quantiles`),
        so the point prediction is never a tail quantile, and ``quantiles=[0.1, 0.9]``
        predicts as ``[0.1, 0.5, 0.9]`` does (the same network and loss)."""
    + TRAINING_DOC
)

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    network_ : RecurrentNetwork
        The trained network (weights in ``network_.params``).
    n_features_in_ : int
        Columns of 2-D ``X``, or features per step of 3-D ``X``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when 2-D ``X`` was a DataFrame with string column names.
    n_outputs_ : int
        Targets per sample (per step with ``return_sequences``).
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


class _BaseRNNRegressor(RegressorMixin, BaseRecurrentEstimator):
    """What the recurrent regressors share: fit, partial_fit, predict, predict_quantiles, save.

    Subclasses write out their ``__init__`` (scikit-learn reads the parameters from
    its signature) and provide ``cell`` and ``activation``, as parameters or as
    class attributes.
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS
    _ARCHITECTURE_PARAMS = (*BaseRecurrentEstimator._ARCHITECTURE_PARAMS, "loss", "quantiles")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
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
            Targets, e.g. the next ``n_targets`` values of a series. With
            ``return_sequences``, of shape (n_samples, seq_len) or
            (n_samples, seq_len, n_targets): the targets of every step.

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
            (n_samples, seq_len) or (n_samples, seq_len, n_targets) with ``return_sequences``.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, incremental=True)

    def _check_params(self):
        super()._check_params()
        if (self.loss == "quantile") != (self.quantiles is not None):
            raise ValueError(
                "loss='quantile' and quantiles go together: set both (e.g. loss='quantile', "
                f"quantiles=[0.1, 0.5, 0.9]); got loss={self.loss!r}, quantiles={self.quantiles!r}."
            )
        # _quantiles: the heads' probabilities (the trainer's, sorted, the median among them);
        # _quantile_columns: the heads of the user's quantiles, in increasing order
        self._quantiles = self._quantile_columns = None
        if self.quantiles is not None:
            self._quantiles = head_quantiles(self.quantiles)
            self._quantile_columns = np.searchsorted(self._quantiles, np.sort(np.asarray(self.quantiles, dtype=float)))

    def _use_legacy_heads(self):
        """Heads of a model fitted before the median head existed: ``quantiles`` alone, sorted.

        Its point prediction stays what it was then, the quantile nearest 0.5.
        """
        self._quantiles = np.sort(np.asarray(self.quantiles, dtype=float))
        self._quantile_columns = np.arange(self._quantiles.size)

    def _warn_legacy_heads(self, where, stacklevel):
        warnings.warn(
            f"This {type(self).__name__} ({where}) was fitted by a tsrnn version that trained no median "
            f"head for quantiles={list(self.quantiles)!r}: its predict returns the quantile nearest 0.5 "
            f"({self._quantiles[np.argmin(np.abs(self._quantiles - MEDIAN))]:g}), not a median forecast. "
            "Refit it (warm_start=False) to train a median head for the point prediction.",
            UserWarning,
            stacklevel=stacklevel,  # the caller of load_model or of pickle.loads
        )

    def _restore_head_quantiles(self, saved):
        """The head layout of a model file (:func:`~tsrnn.estimators.persistence.load_model`):
        ``saved`` is its ``head_quantiles``, or None for a file written before they were recorded."""
        if saved is None:
            if self._quantiles is not None and MEDIAN not in self.quantiles:
                self._use_legacy_heads()  # written before the median head: the heads were the quantiles alone
                self._warn_legacy_heads("loaded from a file", stacklevel=4)
            return
        if self._quantiles is None or not np.array_equal(np.asarray(saved, dtype=float), self._quantiles):
            raise ValueError(f"head_quantiles {saved!r} do not match quantiles={self.quantiles!r}")

    def __setstate__(self, state):
        super().__setstate__(state)
        if "network_" in state and state.get("_quantiles") is not None and "_quantile_columns" not in state:
            self._quantile_columns = np.arange(self._quantiles.size)  # pickled before the median head
            if MEDIAN not in self._quantiles:
                self._warn_legacy_heads("unpickled", stacklevel=3)

    def _check_continuation(self):
        super()._check_continuation()
        if self._quantiles is not None and self.network_.output_size != self._head_size(self.n_outputs_):
            # fitted before the median head (a warning said so when it was loaded): keep its layout
            self._use_legacy_heads()

    def _training_loss(self):
        return self.loss

    def _validation_score(self):
        return None  # the trainer's default: R^2 of the point prediction

    def _head_size(self, n_targets):
        return n_targets * (1 if self._quantiles is None else self._quantiles.size)

    def _validate_y(self, y, reset):
        y = check_array(y, ensure_2d=False, allow_nd=True, dtype=np.float64, input_name="y")
        if self.return_sequences:
            if y.ndim not in (2, 3):
                raise ValueError(
                    "With return_sequences=True, y must have shape (n_samples, seq_len) or "
                    f"(n_samples, seq_len, n_targets), the targets of every step; got y of shape {y.shape}."
                )
        elif y.ndim not in (1, 2):
            raise ValueError(
                f"y must be 1-D or 2-D; got an array of shape {y.shape}. "
                "For targets at every step, set return_sequences=True."
            )
        if reset:
            self._y_ndim = y.ndim
        # (n_samples, n_targets), or (n_samples, seq_len, n_targets) per step
        y = y.reshape(*y.shape[: 1 + self.return_sequences], -1)
        if not reset and y.shape[-1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[-1]} targets, but {type(self).__name__} was fitted with {self.n_outputs_}."
            )
        return y

    # -- prediction ----------------------------------------------------------

    def predict(self, X):
        """Predict targets for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            With ``loss='quantile'``, the median head's forecast (never a tail
            quantile, whatever ``quantiles`` holds). With
            ``return_sequences``, of the shape of the fitted ``y``:
            (n_samples, seq_len) or (n_samples, seq_len, n_targets).
        """
        raw = self._raw_predict(X)
        pred = point_prediction(step_rows(raw), self.n_outputs_, self._quantiles)
        if raw.ndim == 3:  # per step
            return pred.reshape(raw.shape[0], raw.shape[1]) if self._y_ndim == 2 else pred.reshape(*raw.shape[:2], -1)
        return pred.ravel() if self._y_ndim == 1 else pred

    def score(self, X, y, sample_weight=None):
        """R^2 of :meth:`predict` on ``X`` against ``y``, averaged over targets.

        As :meth:`sklearn.base.RegressorMixin.score`; with ``return_sequences``,
        every step of every sample is one observation (a sample's weight applies
        to each of its steps).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            (n_samples, seq_len) or (n_samples, seq_len, n_targets) with ``return_sequences``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if not self.return_sequences:
            return super().score(X, y, sample_weight)
        pred = self.predict(X)
        y = check_array(y, ensure_2d=False, allow_nd=True, dtype=np.float64, input_name="y")
        if y.shape != pred.shape:
            raise ValueError(f"y of shape {y.shape} does not match the predictions' shape {pred.shape}.")
        steps = pred.shape[1]
        if sample_weight is not None:
            sample_weight = np.repeat(np.asarray(sample_weight, dtype=np.float64), steps)
        rows = y.reshape(y.shape[0] * steps, -1), pred.reshape(pred.shape[0] * steps, -1)
        from sklearn.metrics import r2_score  # imported here: a fit never needs sklearn.metrics (start-up)

        return float(r2_score(*rows, sample_weight=sample_weight))

    def predict_quantiles(self, X):
        """Predict every quantile of ``quantiles`` (models trained with ``loss='quantile'``).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, seq_len)

        Returns
        -------
        ndarray of shape (n_samples, n_targets, n_quantiles)
            The quantiles of ``quantiles`` (only those: not the median head added
            beside them), in increasing order of probability and never crossing each
            other or :meth:`predict`; with ``return_sequences``, of shape
            (n_samples, seq_len, n_targets, n_quantiles).
        """
        check_is_fitted(self, "network_")
        if self._quantiles is None:
            raise ValueError("predict_quantiles needs a model fitted with loss='quantile' and quantiles.")
        raw = self._raw_predict(X)
        # sorted over every head, the median included, then the user's columns taken
        q = quantile_predictions(step_rows(raw), self.n_outputs_, self._quantiles)[:, :, self._quantile_columns]
        return q.reshape(*raw.shape[:2], *q.shape[1:]) if raw.ndim == 3 else q


@register_model
class RNNRegressor(_BaseRNNRegressor):
    __doc__ = f"""Recurrent-network regressor (vanilla RNN, LSTM or GRU) on Numba kernels.

    A stack of recurrent layers (optionally bidirectional) reads each sequence; a
    linear head maps the last hidden state to the targets, or with
    ``return_sequences`` the output at every step to that step's targets.

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
        bidirectional=False,
        activation="tanh",
        dropout=0.0,
        input_type="values",
        vocab_size=None,
        embedding_dim=None,
        return_sequences=False,
        loss="mse",
        quantiles=None,
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
        bidirectional=False,
        dropout=0.0,
        input_type="values",
        vocab_size=None,
        embedding_dim=None,
        return_sequences=False,
        loss="mse",
        quantiles=None,
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
        bidirectional=False,
        dropout=0.0,
        input_type="values",
        vocab_size=None,
        embedding_dim=None,
        return_sequences=False,
        loss="mse",
        quantiles=None,
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
