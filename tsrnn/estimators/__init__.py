"""scikit-learn estimators on the recurrent network.

- :mod:`~tsrnn.estimators.regressors`: ``RNNRegressor``, ``LSTMRegressor`` and
  ``GRURegressor``, siblings over one shared base, trained by :class:`tsrnn.nn.Trainer`.
- :mod:`~tsrnn.estimators.persistence`: the ``.npz`` model file format,
  :func:`save_model` and :func:`load_model`.

Importing this package imports the regressors, which registers them with
:func:`load_model`, before any of its modules is used.
"""

from .persistence import FORMAT_VERSION, load_model, register_model, save_model
from .regressors import DTYPES, PARAMETER_CONSTRAINTS, GRURegressor, LSTMRegressor, RNNRegressor

__all__ = [
    "DTYPES",
    "FORMAT_VERSION",
    "PARAMETER_CONSTRAINTS",
    "GRURegressor",
    "LSTMRegressor",
    "RNNRegressor",
    "load_model",
    "register_model",
    "save_model",
]
