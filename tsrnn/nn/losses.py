"""Training losses: value and gradient with respect to the predictions.

Each loss is a function ``loss(pred, target, quantiles) -> (value, dpred)``
with ``pred`` and ``target`` of the same shape ``(B, n_outputs)`` (for the
quantile loss ``pred`` is ``(B, n_outputs * n_quantiles)``, quantile fastest).
Values are means over samples and outputs, so learning rates do not depend on
batch size or horizon.
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


LOSSES = {"mse": mse, "mae": mae, "huber": huber, "quantile": quantile}
