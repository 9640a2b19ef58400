"""The mini-batch training loop: shuffling, clipping, early stopping, progress.

:class:`TrainingHistory` is what survives between calls (``partial_fit``,
``warm_start``): curves, the best weights, the patience counter and the
optimizer state.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .optimizers import clip_grad_norm


class ArrayWindows:
    """Training samples held as one time-major array ``X (T, n_samples, D)`` and ``y``.

    Any object with ``n_samples``, ``n_targets`` and ``batch(idx) -> (X (T, b, D), y (b, n_targets))``
    can feed :func:`run_epochs`; the forecaster's windows over series buffers is another.
    """

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.n_samples, self.n_targets = y.shape

    def batch(self, idx):
        return np.ascontiguousarray(self.X[:, idx]), self.y[idx]


@dataclass
class TrainingHistory:
    """Curves and early-stopping state of one model's training."""

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


def r2_score_flat(y_true, y_pred):
    """R^2 averaged over outputs, as :meth:`sklearn.base.RegressorMixin.score`."""
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(np.mean(r2))


def run_epochs(
    network,
    history,
    train,
    *,
    loss,
    n_epochs,
    batch_size,
    rng,
    validation=None,
    quantiles=None,
    clip_norm=None,
    dropout=0.0,
    n_iter_no_change=10,
    tol=1e-4,
    verbose=0,
    lr_schedule="constant",
):
    """Train ``network`` for up to ``n_epochs`` passes over ``(X, y)``.

    Parameters
    ----------
    network : RecurrentNetwork
    history : TrainingHistory
        Updated in place.
    train : ArrayWindows or alike
        Training samples: time-major inputs in the network dtype, float64 targets.
    loss : callable
        From :data:`tsrnn.nn.LOSSES`.
    n_epochs, batch_size : int
    rng : numpy.random.Generator
        Shuffles mini-batches and draws dropout masks.
    validation : ArrayWindows or alike, default=None
        Held-out samples. When given, training stops after ``n_iter_no_change``
        epochs without a validation-loss improvement larger than ``tol`` and the
        best weights are restored; otherwise the training loss plays that role
        and the final weights are kept.
    lr_schedule : {'constant', 'plateau'}, default='constant'
        'plateau' halves the optimizer's learning rate after
        ``max(1, n_iter_no_change // 2)`` epochs without improvement (counted
        afresh after each halving).

    Returns
    -------
    history : TrainingHistory
    """
    try:
        return _run_epochs(
            network, history, train, loss, n_epochs, batch_size, rng, validation, quantiles, clip_norm, dropout,
            n_iter_no_change, tol, verbose, lr_schedule,
        )
    finally:
        network.release_workspaces()  # the step buffers can be large; rebuilt on the next fit


def _run_epochs(
    network, history, train, loss, n_epochs, batch_size, rng, validation, quantiles, clip_norm, dropout,
    n_iter_no_change, tol, verbose, lr_schedule,
):
    from tqdm.auto import tqdm

    n_samples, n_targets = train.n_samples, train.n_targets
    early_stopping = validation is not None
    if early_stopping:
        X_val, y_val = validation.batch(np.arange(validation.n_samples))
    epochs = tqdm(range(n_epochs), disable=not verbose, desc=f"{network.cell} epochs", leave=False)
    for _ in epochs:
        order = rng.permutation(n_samples)
        total = 0.0
        for start in range(0, n_samples, batch_size):
            idx = order[start : start + batch_size]
            value = network.loss_and_grad(*train.batch(idx), loss, quantiles, dropout, rng)
            if not np.isfinite(value) or not np.all(np.isfinite(network.grad)):
                _handle_divergence(network, history)
                return history
            clip_grad_norm(network.grad, clip_norm)
            history.optimizer.step(network.params, network.grad)
            total += value * idx.size
        history.n_iter += 1
        epoch_loss = total / n_samples
        history.loss_curve.append(epoch_loss)
        if early_stopping:
            pred = network.predict(X_val).astype(np.float64)
            monitored = loss(pred, y_val, quantiles)[0]
            history.validation_loss_curve.append(monitored)
            history.validation_scores.append(r2_score_flat(y_val, point_prediction(pred, n_targets, quantiles)))
        else:
            monitored = epoch_loss
        if verbose:
            epochs.set_postfix(loss=f"{epoch_loss:.4g}", **({"val": f"{monitored:.4g}"} if early_stopping else {}))
        if monitored < history.best_loss - tol:
            history.n_no_improvement = history.n_since_lr_change = 0
        else:
            history.n_no_improvement += 1
            history.n_since_lr_change += 1
            if lr_schedule == "plateau" and history.n_since_lr_change >= max(1, n_iter_no_change // 2):
                history.optimizer.learning_rate *= 0.5
                history.n_since_lr_change = 0
        if monitored < history.best_loss:
            history.best_loss = monitored
            history.best_params = network.params.copy()
        if history.n_no_improvement >= n_iter_no_change:
            break
    if early_stopping and history.best_params is not None:
        network.params[:] = history.best_params
    return history


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
        stacklevel=3,
    )
