"""The trainable network built from the kernels: layers, head, losses, optimizers, and the trainer."""

from .losses import LOSSES, log_softmax, softmax_cross_entropy
from .network import RECURRENT_INITS, RecurrentNetwork
from .optimizers import OPTIMIZERS, clip_grad_norm
from .training import ArrayWindows, Trainer, TrainingHistory, seeded_generator

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "RECURRENT_INITS",
    "ArrayWindows",
    "RecurrentNetwork",
    "Trainer",
    "TrainingHistory",
    "clip_grad_norm",
    "log_softmax",
    "seeded_generator",
    "softmax_cross_entropy",
]
