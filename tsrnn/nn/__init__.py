"""The trainable network built from the kernels: layers, head, losses, optimizers, training."""

from .losses import LOSSES
from .network import RecurrentNetwork
from .optimizers import OPTIMIZERS, clip_grad_norm

__all__ = ["LOSSES", "OPTIMIZERS", "RecurrentNetwork", "clip_grad_norm"]
