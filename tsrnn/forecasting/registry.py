"""The named model line-up: short names -> forecasters with their default settings.

The ``tsrnn compare``/``tsrnn backtest`` commands and the accuracy suite
(:mod:`tsrnn.evaluation.suite`) build their models here, so both compare the same models.
Each factory imports its class when called: the command line reads :data:`MODEL_NAMES` to
build its parser, and ``tsrnn --help`` should not wait for numba and statsmodels to load.
"""

from collections.abc import Callable
from typing import NamedTuple

__all__ = ["MODELS", "MODEL_NAMES", "ModelEntry", "check_model_names", "make_models"]


class ModelEntry(NamedTuple):
    """One named model of :data:`MODELS`.

    Parameters
    ----------
    build : callable
        ``build(horizon, season_length, seed)`` returns a new forecaster.
    seeded : bool
        The fit depends on ``seed`` (trained networks), so a fair comparison repeats it
        over several seeds; the others are deterministic and run once.
    """

    build: Callable
    seeded: bool


def _rnn(cell):
    def build(horizon, season_length, seed):
        from .rnn import RNNForecaster

        return RNNForecaster(cell, horizon, season_length=season_length, random_state=seed)

    return build


def _auto_arima(horizon, season_length, seed):
    from .arima import AutoARIMA

    return AutoARIMA(season_length=season_length)


def _ets(horizon, season_length, seed):
    from .ets import ETS

    return ETS(season_length=season_length)


def _seasonal_naive(horizon, season_length, seed):
    from .naive import SeasonalNaive

    return SeasonalNaive(season_length=season_length)


#: Model name -> :class:`ModelEntry`, in the order leaderboards list them by default.
MODELS = {
    "lstm": ModelEntry(_rnn("lstm"), seeded=True),
    "gru": ModelEntry(_rnn("gru"), seeded=True),
    "rnn": ModelEntry(_rnn("rnn"), seeded=True),
    "autoarima": ModelEntry(_auto_arima, seeded=False),
    "ets": ModelEntry(_ets, seeded=False),
    "seasonalnaive": ModelEntry(_seasonal_naive, seeded=False),
}

MODEL_NAMES = tuple(MODELS)


def make_models(names, horizon, season_length, seed):
    """Build the named forecasters with their default settings.

    Parameters
    ----------
    names : sequence of str
        Among :data:`MODEL_NAMES`.
    horizon : int
        Forecast horizon of the neural models (``RNNForecaster(horizon=...)``).
    season_length : int
        Season length of every model.
    seed : int
        ``random_state`` of the neural models.

    Returns
    -------
    list of BaseForecaster

    Raises
    ------
    ValueError
        If a name is not in :data:`MODEL_NAMES`.
    """
    check_model_names(names)
    return [MODELS[n].build(horizon, season_length, seed) for n in names]


def check_model_names(names):
    """Raise a ``ValueError`` naming the entries of ``names`` that are not in :data:`MODEL_NAMES`.

    Parameters
    ----------
    names : sequence of str
    """
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {', '.join(MODEL_NAMES)}.")
