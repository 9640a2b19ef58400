"""First-order optimizers on the network's flat parameter vector, and clipping.

All parameters live in one contiguous array (see :class:`RecurrentNetwork`), so an
optimizer step is a handful of vectorised NumPy operations over the whole model.
"""

import numpy as np
from numba import njit

from .. import _config


def clip_grad_norm(grad, max_norm):
    """Scale ``grad`` in place so that its global L2 norm is at most ``max_norm``.

    Returns the norm before clipping. ``max_norm`` of None or 0 disables clipping.
    """
    norm = float(np.sqrt(np.dot(grad, grad)))
    if not np.isfinite(norm):  # float32 squares overflow long before the gradient does
        norm = float(np.linalg.norm(grad.astype(np.float64)))
    if max_norm and norm > max_norm:
        grad *= max_norm / (norm + 1e-12)
    return norm


class SGD:
    """Plain stochastic gradient descent, with L2 ``weight_decay`` added to the gradient."""

    def __init__(self, params, learning_rate, weight_decay=0.0):
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay

    def _decayed(self, params, grad):
        if self.weight_decay:
            return grad + self.weight_decay * params
        return grad

    def step(self, params, grad):
        params -= self.learning_rate * self._decayed(params, grad)


class Momentum(SGD):
    """SGD with heavy-ball momentum (``v = mu*v + g``, ``p -= lr*v``), as torch.optim.SGD."""

    def __init__(self, params, learning_rate, weight_decay=0.0, momentum=0.9):
        super().__init__(params, learning_rate, weight_decay)
        self.momentum = momentum
        self.velocity = np.zeros_like(params)

    def step(self, params, grad):
        self.velocity *= self.momentum
        self.velocity += self._decayed(params, grad)
        params -= self.learning_rate * self.velocity


class Adam(SGD):
    """Adam (Kingma & Ba); with ``decoupled=True`` it is AdamW (Loshchilov & Hutter)."""

    def __init__(self, params, learning_rate, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8, decoupled=False):
        super().__init__(params, learning_rate, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.decoupled = decoupled
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.t = 0

    def step(self, params, grad):
        self.t += 1
        lr, wd = self.learning_rate, self.weight_decay
        # One compiled pass over the flat vectors (the NumPy form took ~10
        # temporaries per step, ~2 % of a small training step).
        _adam_step(
            params,
            grad,
            self.m,
            self.v,
            lr,
            wd if self.decoupled else 0.0,
            0.0 if self.decoupled else wd,
            self.beta1,
            self.beta2,
            self.eps,
            1.0 - self.beta1**self.t,
            np.sqrt(1.0 - self.beta2**self.t),
        )


@njit(**_config.JIT)
def _adam_step(params, grad, m, v, lr, decoupled_decay, l2, beta1, beta2, eps, bias1, bias2_sqrt):
    """Adam / AdamW update in place, in the parameters' dtype (torch.optim.Adam's form:
    ``eps`` outside the bias-corrected root)."""
    one = params.dtype.type(1.0)
    shrink = params.dtype.type(1.0 - lr * decoupled_decay)
    l2_, b1, b2, eps_ = (
        params.dtype.type(l2),
        params.dtype.type(beta1),
        params.dtype.type(beta2),
        params.dtype.type(eps),
    )
    step = params.dtype.type(lr / bias1)
    inv_b2 = params.dtype.type(1.0 / bias2_sqrt)
    for k in range(params.size):
        p = params[k]
        g = grad[k] + l2_ * p
        m[k] = b1 * m[k] + (one - b1) * g
        v[k] = b2 * v[k] + (one - b2) * g * g
        params[k] = p * shrink - step * m[k] / (np.sqrt(v[k]) * inv_b2 + eps_)


def _adamw(params, learning_rate, weight_decay=0.0):
    return Adam(params, learning_rate, weight_decay, decoupled=True)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam, "adamw": _adamw}
