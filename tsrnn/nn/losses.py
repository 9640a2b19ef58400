"""Training losses: value and gradient with respect to the predictions.

Each loss is a function ``loss(pred, target, quantiles) -> (value, dpred)``
with ``pred`` and ``target`` of the same shape ``(B, n_outputs)`` (for the
quantile loss ``pred`` is ``(B, n_outputs * n_quantiles)``, quantile fastest).
Values are means over samples and outputs, so learning rates do not depend on
batch size or horizon. A network with a per-step head (``return_sequences``) passes
one row per sample and step, ``(B * T, n_outputs)``: its loss is then the mean over
steps too (the sum over steps divided by ``T``), and every step's gradient flows into
BPTT.

:func:`softmax_cross_entropy` is the classifiers' loss (not in :data:`LOSSES`, the
regression losses a regressor's ``loss`` parameter names): ``pred`` holds one logit
per class and ``target`` one weight per class, e.g. a one-hot row scaled by its
class weight.
"""

import numpy as np

HUBER_DELTA = 1.0


def mse(pred, target, quantiles=None):
    err = pred - target
    return float(np.mean(err * err)), (2.0 / err.size) * err


def mae(pred, target, quantiles=None):
    err = pred - target
    return float(np.mean(np.abs(err))), np.sign(err) / err.size


def huber(pred, target, quantiles=None, delta=HUBER_DELTA):
    err = pred - target
    abs_err = np.abs(err)
    quadratic = abs_err <= delta
    value = np.where(quadratic, 0.5 * err * err, delta * (abs_err - 0.5 * delta))
    grad = np.where(quadratic, err, delta * np.sign(err)) / err.size
    return float(np.mean(value)), grad


def quantile(pred, target, quantiles):
    """Pinball loss averaged over quantiles; ``pred`` holds one column per (output, quantile)."""
    q = np.asarray(quantiles, dtype=pred.dtype)
    B, n_out = target.shape
    pred3 = pred.reshape(B, n_out, q.size)
    err = target[:, :, None] - pred3
    value = np.maximum(q * err, (q - 1.0) * err)
    # d/dpred of max(q*e, (q-1)*e) with e = y - pred
    grad = np.where(err > 0, -q, 1.0 - q) / err.size
    return float(np.mean(value)), grad.reshape(B, n_out * q.size).astype(pred.dtype, copy=False)


def log_softmax(logits):
    """``log(softmax(logits))`` along the last axis, computed without overflow.

    Parameters
    ----------
    logits : ndarray of shape (B, n_classes) or (B, T, n_classes)
        One row of logits per sample, or per sample and step.

    Returns
    -------
    ndarray of the shape of ``logits``
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(pred, target, quantiles=None):
    """Softmax cross-entropy of logits ``pred`` against class weights ``target``.

    Per sample ``-sum_k target[k] * log softmax(pred)[k]``, averaged over the
    samples (divided by ``B``, not by the sum of the weights, so a class weight
    scales its samples' share of the gradient as it does in scikit-learn). With
    one-hot rows this is ``torch.nn.CrossEntropyLoss``; with one-hot rows scaled
    by class weights it is that loss with ``weight=`` and ``reduction='sum'``,
    divided by ``B``. Two classes (binary) use two logits like any other count.

    Parameters
    ----------
    pred : ndarray of shape (B, n_classes)
        Logits.
    target : ndarray of shape (B, n_classes)
        Non-negative weights per class: a one-hot row times the sample's weight.
    quantiles : None
        Unused (the form every training loss takes).

    Returns
    -------
    value : float
    dpred : ndarray of shape (B, n_classes)
        ``(softmax(pred) * sum_k target[k] - target) / B``, in ``pred``'s dtype.
    """
    log_p = log_softmax(pred.astype(np.float64, copy=False))
    B = pred.shape[0]
    value = -float(np.sum(target * log_p)) / B
    grad = (np.exp(log_p) * target.sum(axis=1, keepdims=True) - target) / B
    return value, grad.astype(pred.dtype, copy=False)


LOSSES = {"mse": mse, "mae": mae, "huber": huber, "quantile": quantile}
