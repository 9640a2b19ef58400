"""scikit-learn estimators on the recurrent network.

- :mod:`~tsrnn.estimators.regressors`: ``RNNRegressor``, ``LSTMRegressor`` and
  ``GRURegressor``, siblings over one shared base, trained by :class:`tsrnn.nn.Trainer`.
- :mod:`~tsrnn.estimators.classifier`: ``RNNClassifier``, ``LSTMClassifier`` and
  ``GRUClassifier``, sequence classifiers over the same machinery.
- :mod:`~tsrnn.estimators.generation`: :func:`generate`, sampling token sequences from a
  fitted next-token classifier one step at a time.
- :mod:`~tsrnn.estimators.base`: that machinery (fit, partial_fit, save), shared by both.
- :mod:`~tsrnn.estimators.persistence`: the ``.npz`` model file format,
  :func:`save_model` and :func:`load_model`.

Importing this package imports the regressors and classifiers, which registers them with
:func:`load_model`, before any of its modules is used.
"""

from .classifier import GRUClassifier, LSTMClassifier, RNNClassifier
from .generation import generate
from .persistence import FORMAT_VERSION, load_model, register_model, save_model
from .regressors import DTYPES, PARAMETER_CONSTRAINTS, GRURegressor, LSTMRegressor, RNNRegressor

__all__ = [
    "DTYPES",
    "FORMAT_VERSION",
    "PARAMETER_CONSTRAINTS",
    "GRUClassifier",
    "GRURegressor",
    "LSTMClassifier",
    "LSTMRegressor",
    "RNNClassifier",
    "RNNRegressor",
    "generate",
    "load_model",
    "register_model",
    "save_model",
]
