"""The training seam: one mini-batch loop that every tsrnn model trains through.

:class:`Trainer` holds the training options and runs epochs of a
:class:`~tsrnn.nn.RecurrentNetwork` over a *windows source* for training and,
optionally, one for validation. A windows source is any object with

- ``n_samples`` and ``n_targets`` (ints), and
- ``batch(idx) -> (X, y)``: ``X`` of shape ``(T, len(idx), input_size)``, time-major,
  C-contiguous, in the network dtype; ``y`` of shape ``(len(idx), n_targets)``, or
  ``(len(idx), T, n_targets)`` for a network with ``return_sequences`` (one target row
  per step; the validation loss and score then see every step as a sample).

:class:`ArrayWindows` is the one over arrays (the regressors); the forecaster's
:class:`~tsrnn.forecasting.windows.SeriesWindows` reads windows of series buffers.

:class:`TrainingHistory` is what survives between calls of :meth:`Trainer.fit`
(``partial_fit``, ``warm_start``): the curves, the best weights, the patience
counter, the optimizer state and the random generator.

Examples
--------
>>> import numpy as np
>>> from tsrnn.nn import ArrayWindows, RecurrentNetwork, Trainer, seeded_generator
>>> rng = seeded_generator(0)
>>> X = rng.standard_normal((5, 32, 1)).astype(np.float32)  # (T, n_samples, features)
>>> train = ArrayWindows(X, X[-1, :, :1].astype(np.float64))  # learn to copy the last input
>>> network = RecurrentNetwork("gru", input_size=1, hidden_size=4, num_layers=1, output_size=1)
>>> network.initialize(rng)
>>> trainer = Trainer(max_epochs=3, batch_size=8)
>>> history = trainer.fit(network, trainer.start(network, rng), train)
>>> history.n_iter, len(history.loss_curve)
(3, 3)
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .._config import using_threads
from ..kernels.announce import notes_to_stderr
from .losses import LOSSES
from .optimizers import OPTIMIZERS, clip_grad_norm


class ArrayWindows:
    """A windows source over one time-major array ``X (T, n_samples, D)`` and targets ``y``.

    Parameters
    ----------
    X : ndarray of shape (T, n_samples, input_size)
        Time-major sequences in the network dtype.
    y : ndarray of shape (n_samples, n_targets) or (n_samples, T, n_targets)
        Targets (float64); 3-D for a per-step head (``return_sequences``).
    """

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.n_samples, self.n_targets = y.shape[0], y.shape[-1]

    def batch(self, idx):
        """Samples ``idx`` as ``(X (T, len(idx), D), y (len(idx), [T,] n_targets))``."""
        return np.ascontiguousarray(self.X[:, idx]), self.y[idx]


@dataclass
class TrainingHistory:
    """Curves and training state of one network, kept between :meth:`Trainer.fit` calls.

    Attributes
    ----------
    optimizer : object
        The optimizer (from :data:`tsrnn.nn.OPTIMIZERS`) with its state (moments, step count).
    rng : numpy.random.Generator
        Shuffles mini-batches and draws dropout masks; later calls continue its stream.
    loss_curve : list of float
        Mean training loss per epoch.
    validation_loss_curve, validation_scores : list of float
        Validation loss and score per epoch (when a validation source was given).
    best_loss : float
        Best monitored loss so far (the validation loss when there is validation).
    best_params : ndarray or None
        Copy of the weights at ``best_loss``.
    n_no_improvement, n_since_lr_change : int
        Epochs without improvement (patience), and since the last learning-rate halving.
    n_iter : int
        Epochs run in all calls.
    """

    optimizer: object
    rng: np.random.Generator = None
    loss_curve: list = field(default_factory=list)
    validation_loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_loss: float = np.inf
    best_params: np.ndarray = None
    n_no_improvement: int = 0
    n_since_lr_change: int = 0
    n_iter: int = 0


def seeded_generator(random_state):
    """The generator a fit draws from, derived from a scikit-learn ``random_state``.

    Every tsrnn model seeds its initialisation, shuffling and dropout this way, so
    the same ``random_state`` gives the same draws in every model.

    Parameters
    ----------
    random_state : int, RandomState instance or None

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(check_random_state(random_state).randint(2**32 - 1))


def quantile_predictions(pred, n_targets, quantiles):
    """Head outputs as ``(B, n_targets, n_quantiles)``, sorted along the last axis.

    Sorting ("rearrangement") makes the quantiles monotone without changing a
    forecast whose quantiles were already in order. ``quantiles`` must be sorted.
    """
    return np.sort(pred.reshape(pred.shape[0], n_targets, len(quantiles)), axis=2)


def point_prediction(pred, n_targets, quantiles=None):
    """Point forecast from head outputs: the quantile nearest the median, if any."""
    if quantiles is None:
        return pred
    median = int(np.argmin(np.abs(np.asarray(quantiles) - 0.5)))
    return quantile_predictions(pred, n_targets, quantiles)[:, :, median]


def step_rows(a):
    """Per-step arrays ``(B, T, n)`` as ``(B * T, n)`` rows (one per step); 2-D arrays unchanged."""
    return a.reshape(-1, a.shape[-1]) if a.ndim == 3 else a


def r2_score_flat(y_true, y_pred):
    """R^2 averaged over outputs, as :meth:`sklearn.base.RegressorMixin.score`."""
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(np.mean(r2))


class Trainer:
    """Mini-batch training of a :class:`~tsrnn.nn.RecurrentNetwork`, with early stopping.

    Holds the training options only; the state of a training run lives in the
    :class:`TrainingHistory` that :meth:`start` creates and :meth:`fit` updates,
    so one trainer can train several networks (an ensemble) one after another.

    Parameters
    ----------
    loss : str or callable, default='mse'
        A key of :data:`tsrnn.nn.LOSSES`, or a function
        ``loss(pred, target, quantiles) -> (value, dpred)`` of the same form
        (e.g. a cross-entropy for a classifier).
    quantiles : ndarray of shape (n_quantiles,) or None, default=None
        Sorted probabilities, passed to the loss ('quantile') and used to take the
        point prediction of the validation score.
    optimizer : {'sgd', 'momentum', 'adam', 'adamw'}, default='adam'
        Built by :meth:`start`; the optimizer of a continued history is kept.
    learning_rate : float, default=1e-3
    weight_decay : float, default=0.0
        Decoupled for 'adamw', an L2 penalty on the gradient otherwise.
    batch_size : int, default=64
    max_epochs : int, default=200
        Epochs per :meth:`fit` call unless it is given ``n_epochs``.
    clip_norm : float or None, default=1.0
        Clip the global gradient L2 norm to this value; None disables clipping.
    dropout : float, default=0.0
        Dropout probability on the outputs of every layer but the last.
    n_iter_no_change : int, default=10
        Stop after this many epochs without an improvement larger than ``tol`` of
        the monitored loss (the validation loss when there is validation, else the
        training loss).
    tol : float, default=1e-4
    lr_schedule : {'constant', 'plateau'}, default='constant'
        'plateau' halves the optimizer's learning rate after
        ``max(1, n_iter_no_change // 2)`` epochs without improvement (counted
        afresh after each halving).
    validation_score : callable or None, default=None
        ``score(y_true, pred) -> float`` on the validation samples each epoch, from
        the raw head outputs ``pred``; recorded in ``validation_scores``. None: R^2
        of the point prediction, as :meth:`sklearn.base.RegressorMixin.score`.
        For a per-step head, ``y_true`` and ``pred`` hold one row per step
        (``(n_samples * T, n)``), as the loss does.
    verbose : int, default=0
        Show a progress bar with the current loss when > 0, and say on stderr
        when the first step compiles the kernels (see :mod:`tsrnn.kernels.announce`).
    n_threads : int or None, default=None
        Numba threads while training (restored afterwards); None keeps the current setting.
    device : {'cpu', 'cuda'}, default='cpu'
        Where the training steps run. 'cuda' keeps the weights, gradients, optimizer
        state and data on the GPU for the whole :meth:`fit` (:mod:`tsrnn.nn.device`);
        the network's host ``params`` hold the result when it returns.

    Notes
    -----
    A non-finite loss or gradient stops training: with a completed epoch behind
    it, :meth:`fit` restores the best weights and warns (``ConvergenceWarning``);
    before any, it raises ``FloatingPointError``. Either way no NaN weights are kept.
    """

    def __init__(
        self,
        loss="mse",
        *,
        quantiles=None,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=64,
        max_epochs=200,
        clip_norm=1.0,
        dropout=0.0,
        n_iter_no_change=10,
        tol=1e-4,
        lr_schedule="constant",
        validation_score=None,
        verbose=0,
        n_threads=None,
        device="cpu",
    ):
        self.loss = loss
        self.quantiles = quantiles
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.clip_norm = clip_norm
        self.dropout = dropout
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr_schedule = lr_schedule
        self.validation_score = validation_score
        self.verbose = verbose
        self.n_threads = n_threads
        self.device = device

    def start(self, network, rng):
        """A fresh history for ``network``: a new optimizer over its weights, and ``rng``.

        Parameters
        ----------
        network : RecurrentNetwork
        rng : numpy.random.Generator
            Shuffles and draws dropout masks in this and later :meth:`fit` calls
            (e.g. :func:`seeded_generator`, after it initialised the network).

        Returns
        -------
        TrainingHistory
        """
        optimizer = OPTIMIZERS[self.optimizer](network.params, self.learning_rate, self.weight_decay)
        return TrainingHistory(optimizer, rng)

    def fit(self, network, history, train, validation=None, *, n_epochs=None):
        """Train ``network`` in place for up to ``n_epochs`` passes over ``train``.

        Parameters
        ----------
        network : RecurrentNetwork
        history : TrainingHistory
            From :meth:`start`, or from an earlier call to continue training; updated in place.
        train : windows source
            Training samples (see the module docstring).
        validation : windows source or None, default=None
            Held-out samples. When given, the patience count starts afresh,
            training stops after ``n_iter_no_change`` epochs without a
            validation-loss improvement larger than ``tol`` and the best weights
            are restored; otherwise the training loss plays that role and the
            final weights are kept.
        n_epochs : int or None, default=None
            Epochs to run at most; None uses ``max_epochs``.

        Returns
        -------
        history : TrainingHistory
            The same object, updated.
        """
        if self.dropout > 0 and network.num_layers == 1:
            warnings.warn(
                f"dropout={self.dropout} has no effect with num_layers=1: dropout applies to the outputs "
                "of every recurrent layer but the last (as in torch.nn.LSTM). Set num_layers >= 2 or dropout=0.",
                UserWarning,
                stacklevel=2,
            )
        if validation is not None:
            # a fresh validation split starts a fresh patience count
            history.best_loss, history.n_no_improvement = np.inf, 0
        try:
            # verbose fits also say on stderr when their first step compiles the kernels
            with using_threads(self.n_threads), notes_to_stderr(self.verbose > 0):
                self._run(network, history, train, validation, self.max_epochs if n_epochs is None else n_epochs)
        finally:
            network.release_workspaces()  # the step buffers can be large; rebuilt on the next fit
        return history

    def _run(self, network, history, train, validation, n_epochs):
        loss = LOSSES[self.loss] if isinstance(self.loss, str) else self.loss
        quantiles, rng = self.quantiles, history.rng
        n_samples, n_targets = train.n_samples, train.n_targets
        early_stopping = validation is not None
        if early_stopping:
            X_val, y_val = validation.batch(np.arange(validation.n_samples))
            y_val = step_rows(y_val)  # a per-step head's validation: every step is a sample
        if self.device == "cuda":
            from .device import DeviceSteps  # imports numba.cuda: only for a CUDA fit

            steps = DeviceSteps(
                network, history, train, validation, self.loss, quantiles, self.batch_size, self.clip_norm, self.dropout
            )
        else:
            steps = _HostSteps(self, network, history, train, loss, X_val if early_stopping else None)
        try:
            epochs = range(n_epochs)
            if self.verbose:  # tqdm (~0.01-0.02 s of import) only for a fit that shows progress
                from tqdm.auto import tqdm

                epochs = tqdm(epochs, desc=f"{network.cell} epochs", leave=False)
            for _ in epochs:
                epoch_loss = steps.epoch(rng.permutation(n_samples))
                if epoch_loss is None:  # a non-finite loss or gradient
                    steps.close()
                    _handle_divergence(network, history)
                    return
                history.n_iter += 1
                history.loss_curve.append(epoch_loss)
                if early_stopping:
                    pred = step_rows(steps.predict_validation().astype(np.float64))
                    monitored = loss(pred, y_val, quantiles)[0]
                    history.validation_loss_curve.append(monitored)
                    history.validation_scores.append(self._score(y_val, pred, n_targets))
                else:
                    monitored = epoch_loss
                if self.verbose:
                    val = {"val": f"{monitored:.4g}"} if early_stopping else {}
                    epochs.set_postfix(loss=f"{epoch_loss:.4g}", **val)
                if monitored < history.best_loss - self.tol:
                    history.n_no_improvement = history.n_since_lr_change = 0
                else:
                    history.n_no_improvement += 1
                    history.n_since_lr_change += 1
                    if self.lr_schedule == "plateau" and history.n_since_lr_change >= max(
                        1, self.n_iter_no_change // 2
                    ):
                        history.optimizer.learning_rate *= 0.5
                        history.n_since_lr_change = 0
                if monitored < history.best_loss:
                    history.best_loss = monitored
                    steps.snapshot()
                if history.n_no_improvement >= self.n_iter_no_change:
                    break
            if early_stopping:
                steps.restore_best()
        finally:
            steps.close()

    def _score(self, y_true, pred, n_targets):
        if self.validation_score is not None:
            return self.validation_score(y_true, pred)
        return r2_score_flat(y_true, point_prediction(pred, n_targets, self.quantiles))


class _HostSteps:
    """The CPU half of :meth:`Trainer.fit`: mini-batches through the network's CPU kernels.

    :class:`tsrnn.nn.device.DeviceSteps` is its CUDA twin (same methods).
    """

    def __init__(self, trainer, network, history, train, loss, X_val):
        self.trainer, self.network, self.history, self.train, self.loss, self.X_val = (
            trainer, network, history, train, loss, X_val,
        )  # fmt: skip

    def epoch(self, order):
        """One pass over the batches of ``order``; the mean training loss, or None on a non-finite step."""
        t, network, history = self.trainer, self.network, self.history
        total = 0.0
        for start in range(0, order.size, t.batch_size):
            idx = order[start : start + t.batch_size]
            value = network.loss_and_grad(*self.train.batch(idx), self.loss, t.quantiles, t.dropout, history.rng)
            if not np.isfinite(value) or not np.all(np.isfinite(network.grad)):
                return None
            clip_grad_norm(network.grad, t.clip_norm)
            history.optimizer.step(network.params, network.grad)
            total += value * idx.size
        return total / order.size

    def predict_validation(self):
        return self.network.predict(self.X_val)

    def snapshot(self):
        self.history.best_params = self.network.params.copy()

    def restore_best(self):
        if self.history.best_params is not None:
            self.network.params[:] = self.history.best_params

    def close(self):
        pass


def _handle_divergence(network, history):
    """A non-finite loss or gradient: restore the best weights, or fail loudly."""
    if history.best_params is None:
        raise FloatingPointError(
            "Training diverged: the loss or its gradient became non-finite before any epoch "
            "completed. Lower learning_rate, keep clip_norm set, or scale the inputs and targets."
        )
    network.params[:] = history.best_params
    warnings.warn(
        f"Training diverged (non-finite loss) after {history.n_iter} epochs; restored the weights "
        f"of the best epoch (loss {history.best_loss:.4g}). Lower learning_rate to train further.",
        ConvergenceWarning,
        stacklevel=4,  # the caller of Trainer.fit (here <- Trainer._run <- Trainer.fit <- caller)
    )
