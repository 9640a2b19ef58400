"""Saving and loading fitted forecasters: the forecaster file format (no pickles).

A forecaster file is a NumPy ``.npz`` archive, read with ``allow_pickle=False``, of one
JSON string ``meta`` and numeric arrays ``a0, a1, ...``. ``meta`` holds:

``format_version``
    :data:`FORMAT_VERSION`; a file of a newer version is refused.
``forecaster``
    The class, as ``"module.QualifiedName"`` (``"tsrnn.forecasting.arima.ARIMA"``).
    Loading looks it up among the forecaster classes defined in this process (every
    subclass of :class:`~tsrnn.forecasting.base.BaseForecaster` registers itself),
    importing first the module of a tsrnn forecaster the file names, from a fixed list
    (tsrnn loads its modules on first use); it never imports any other module or runs
    code named by the file.
``params``
    The constructor parameters (``get_params(deep=False)``).
``state``
    The fitted attributes (those ending in ``_``, with the training panel ``panel_`` and
    its timestamps, ids and frequency), each value in the closed set of tagged encodings
    below; arrays are references ``{"$array": "a3"}`` to the archive's entries.

What is kept, and how it comes back:

- arrays exactly (dtype and shape), floats exactly (JSON ``repr`` round trip, NaN and
  inf included), pandas indexes and offsets by their values and names;
- each statsmodels model of :class:`ARIMA`, :class:`AutoARIMA` and :class:`ETS` by its
  specification and estimated parameter vector, reconstructed on load by filtering
  (ARIMA) or smoothing (ETS) the saved series with those parameters: no optimiser runs,
  and forecasts, variances and simulated quantiles equal the saved model's;
- each network of :class:`RNNForecaster` by its configuration and flat weight vector,
  its ridge linear stage by its coefficients.

Not kept: training curves and optimizer states (``RNNForecaster.histories_`` is None
after loading). Predictions, intervals and quantiles of a loaded forecaster equal the
saved one's. A value outside the encodings (e.g. a ``RandomState`` parameter) makes
:func:`save_forecaster` raise a ``ValueError`` naming it, rather than write a file that
would not load back identically. A save writes a temporary file beside ``path`` and
replaces ``path`` with it once complete, so a failed or interrupted save leaves an existing
file as it was. A load checks the file's structure, then runs one trial forecast (on a copy,
without quantile calibration; skipped where forecasts need future covariates), so that a
file whose arrays or parameters do not fit together is refused at load, not at a later
``predict``.

:func:`load_forecaster` is the loader (``tsrnn.load_forecaster``); ``tsrnn.load_model``
reads regressor files and points to it when given a forecaster file.
"""

import copy
import dataclasses
import importlib
import json

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge, RidgeCV

from .._validation import validate_params
from ..estimators.persistence import read_archive, write_archive
from ..nn import RecurrentNetwork
from .base import FORECASTER_CLASSES
from .conformal import Calibration, ConformalIntervals
from .linear import LinearBase
from .panel import Panel
from .per_series import FIT_CLASSES, scaled_series

__all__ = ["FORMAT_VERSION", "load_forecaster", "save_forecaster"]

FORMAT_VERSION = 1

# The modules that define tsrnn's forecasters, which load_forecaster may import to find the
# class a file names (a subclass defined elsewhere must be imported by its user first).
_FORECASTER_MODULES = frozenset(f"tsrnn.forecasting.{m}" for m in ("arima", "ets", "naive", "rnn"))

# the dataclasses a file may hold, by name: a closed set, so a file cannot name others
DATACLASSES = {cls.__name__: cls for cls in (Panel, Calibration, ConformalIntervals)}

# fitted attributes that are not saved (see the module docstring)
NOT_SAVED = {"histories_"}


# ---------------------------------------------------------------- save


def save_forecaster(forecaster, path):
    """Write the fitted ``forecaster`` to ``path`` in the forecaster file format.

    Parameters
    ----------
    forecaster : BaseForecaster
        A fitted forecaster.
    path : str or path-like

    Raises
    ------
    ValueError
        If a parameter or fitted attribute has no encoding in the format (it names it).
    """
    arrays = {}
    params = forecaster.get_params(deep=False)
    meta = {
        "format_version": FORMAT_VERSION,
        "forecaster": f"{type(forecaster).__module__}.{type(forecaster).__qualname__}",
        "params": {k: _encode(v, arrays, f"parameter {k!r}") for k, v in params.items()},
        "state": {
            k: _encode(v, arrays, f"fitted attribute {k!r}")
            for k, v in vars(forecaster).items()
            if k.endswith("_") and not k.startswith("_") and k not in NOT_SAVED
        },
    }
    text = json.dumps(meta, allow_nan=True)
    write_archive(path, meta=np.array(text), **arrays)


def _encode(value, arrays, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biufcmM":
            raise ValueError(
                f"save(): {where} holds an array of dtype {array.dtype}, which the file format cannot keep."
            )
        key = f"a{len(arrays)}"
        arrays[key] = array
        return {"$array": key, "scalar": isinstance(value, np.generic)}
    if isinstance(value, type) and issubclass(value, np.generic):
        return {"$dtype": np.dtype(value).name}
    if isinstance(value, np.dtype):
        return {"$dtype_instance": value.name}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, arrays, where) for v in value]
        return {"$tuple": items} if isinstance(value, tuple) else {"$list": items}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"save(): {where} is a dict with non-str keys, which the file format cannot keep.")
        return {"$dict": {k: _encode(v, arrays, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, pd.Index):
        return _encode_index(value, arrays, where)
    if isinstance(value, pd.offsets.BaseOffset):
        offset = pd.tseries.frequencies.to_offset(value.freqstr)
        if offset != value:
            raise ValueError(
                f"save(): {where} is the offset {value!r}, which its name {value.freqstr!r} does not rebuild."
            )
        return {"$offset": value.freqstr}
    if type(value).__name__ in DATACLASSES and DATACLASSES[type(value).__name__] is type(value):
        fields = {
            f.name: _encode(getattr(value, f.name), arrays, f"{where}.{f.name}") for f in dataclasses.fields(value)
        }
        return {"$dataclass": type(value).__name__, "fields": fields}
    if isinstance(value, RecurrentNetwork):
        config = {k: getattr(value, k) for k in ("cell", "input_size", "hidden_size", "num_layers", "output_size")}
        config.update(activation=value.activation, dtype=value.dtype.name)
        return {"$network": config, "params": _encode(value.params, arrays, where)}
    if isinstance(value, LinearBase):
        ridge = value.ridge_
        state = {
            "use_level": value.use_level,
            "validation_mse_": value.validation_mse_,
            "cv": isinstance(ridge, RidgeCV),
            "alpha": ridge.alpha_ if isinstance(ridge, RidgeCV) else ridge.alpha,
            "coef_": ridge.coef_,
            "intercept_": ridge.intercept_,
            "n_features_in_": ridge.n_features_in_,
        }
        return {"$linear": _encode(state, arrays, where)}
    name = getattr(type(value), "_persistence_name", None)
    if name is not None and FIT_CLASSES.get(name) is type(value):
        return {"$fit": name, "state": _encode(value.state(), arrays, where)}
    raise ValueError(
        f"save(): {where} is a {type(value).__name__}, which the forecaster file format cannot keep; "
        "give the forecaster plain parameters (e.g. an int random_state) to save it."
    )


def _encode_index(index, arrays, where):
    name = _encode(index.name, arrays, f"{where}.name")
    if isinstance(index, pd.RangeIndex):
        return {"$range": [index.start, index.stop, index.step], "name": name}
    if isinstance(index, pd.DatetimeIndex):
        return {
            "$datetime": _encode(index.asi8, arrays, where),
            "unit": index.unit,
            "tz": None if index.tz is None else str(index.tz),
            "freq": _encode(index.freq, arrays, f"{where}.freq"),
            "name": name,
        }
    if index.dtype.kind in "biuf":
        return {"$index": _encode(index.to_numpy(), arrays, where), "name": name}
    values = index.tolist()
    if not all(v is None or isinstance(v, (str, bool, int, float)) for v in values):
        raise ValueError(
            f"save(): {where} holds labels that are not str, int or float; the file format keeps only those."
        )
    return {"$labels": values, "dtype": str(index.dtype), "name": name}


# ---------------------------------------------------------------- load


def load_forecaster(path):
    """Load a forecaster written by :meth:`BaseForecaster.save <tsrnn.forecasting.BaseForecaster.save>`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    forecaster : BaseForecaster
        A fitted forecaster whose predictions (point, quantiles, intervals) equal the
        saved one's.

    Raises
    ------
    ValueError
        When the file is truncated, damaged, not a forecaster file, of a newer format
        version, holds pickled objects (never loaded: ``allow_pickle=False``), or names a
        class that is not a tsrnn forecaster, or its content was tampered with; the
        message names the problem.
    FileNotFoundError
        When ``path`` does not exist.
    """
    arrays, meta = _read(path)
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ValueError(
            f"{path} is a tsrnn forecaster file of format version {version}, newer than this tsrnn reads "
            f"({FORMAT_VERSION}); upgrade tsrnn to load it."
        )
    name = meta.get("forecaster")
    if isinstance(name, str) and name.rpartition(".")[0] in _FORECASTER_MODULES:
        # tsrnn loads its modules on first use: the class a file names (and the per-series
        # model classes its module registers) may not be loaded yet in this process. Only
        # tsrnn's own forecaster modules are imported, never a module a file names freely.
        importlib.import_module(name.rpartition(".")[0])
    if version != FORMAT_VERSION or not isinstance(name, str) or name not in FORECASTER_CLASSES:
        raise ValueError(
            f"{path} is not a tsrnn forecaster file of format version {FORMAT_VERSION} "
            f"(format_version={version!r}, forecaster={name!r})."
        )
    try:
        params = {k: _decode(v, arrays) for k, v in _object(meta.get("params")).items()}
        state = {k: _decode(v, arrays) for k, v in _object(meta.get("state")).items()}
        forecaster = FORECASTER_CLASSES[name](**params)
        validate_params(forecaster)  # a tampered parameter is refused here, not at predict time
        if not isinstance(state.get("panel_"), Panel):
            raise ValueError("the fitted state has no training panel")
        models = state.get("models_")
        if models is not None:
            panel = state["panel_"]
            if not isinstance(models, list) or len(models) != panel.n_series or not all(map(callable, models)):
                raise ValueError("models_ does not hold one fitted model per series")
            # The models were fitted on each series divided by its scale, on the grid of
            # scaled_series (PerSeriesForecaster); a missing or tampered scale would shift
            # every forecast, so it is checked here.
            scales = np.asarray(state.get("scales_"), dtype=np.float64)
            if scales.shape != (panel.n_series,) or not (np.isfinite(scales).all() and (scales > 0).all()):
                raise ValueError("scales_ does not hold one finite positive scale per series")
            state["models_"] = [
                rebuild(scaled_series(panel.series(i), scales[i]), panel.exog_of(i)) for i, rebuild in enumerate(models)
            ]
        architecture = tuple(params.get(k) for k in ("cell", "hidden_size", "num_layers"))
        for net in state.get("networks_") or ():
            if (net.cell, net.hidden_size, net.num_layers) != architecture:
                raise ValueError("the networks do not have the cell, hidden_size and num_layers of the parameters")
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, np.linalg.LinAlgError) as error:
        raise ValueError(f"{path}: the forecaster file's content is damaged or tampered with ({error!r}).") from None
    for key, value in state.items():
        setattr(forecaster, key, value)
    if "networks_" in state:
        forecaster.histories_ = None  # training curves and optimizer states are not saved
    if forecaster._uses_exog and forecaster.panel_.exog is not None:
        return forecaster  # its forecasts need the future covariates, which only the user has
    try:
        # Arrays of the wrong length or shape (a tampered panel, linear stage or horizon) pass
        # the checks above and would fail deep inside a later predict, or forecast wrongly:
        # one forecast here finds them while the file is still the one to blame. It runs on a
        # shallow copy without quantile calibration, which could refit the model.
        trial = copy.copy(forecaster)
        if hasattr(trial, "calibrate_quantiles"):
            trial.calibrate_quantiles = False
        trial.predict(getattr(forecaster, "horizon", 1))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as error:
        raise ValueError(f"{path}: the forecaster file's content is damaged or tampered with ({error!r}).") from None
    return forecaster


def _object(value):
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _decode(value, arrays):
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if not isinstance(value, dict) or not value:
        raise TypeError(f"unexpected value {value!r:.80}")
    tag = next(iter(value))
    body = value[tag]
    if tag == "$array":
        array = arrays[body]
        return array[()] if value.get("scalar") else array
    if tag == "$dtype":
        return np.dtype(body).type
    if tag == "$dtype_instance":
        return np.dtype(body)
    if tag in ("$list", "$tuple"):
        items = [_decode(v, arrays) for v in body]
        return tuple(items) if tag == "$tuple" else items
    if tag == "$dict":
        return {k: _decode(v, arrays) for k, v in _object(body).items()}
    if tag == "$offset":
        return pd.tseries.frequencies.to_offset(body)
    if tag == "$range":
        return pd.RangeIndex(*body, name=_decode(value["name"], arrays))
    if tag == "$datetime":
        stamps = np.asarray(_decode(body, arrays), dtype=np.int64).view(f"M8[{value['unit']}]")
        index = pd.DatetimeIndex(stamps)
        if value["tz"] is not None:
            index = index.tz_localize("UTC").tz_convert(value["tz"])
        freq = _decode(value["freq"], arrays)
        return pd.DatetimeIndex(index, freq=freq, name=_decode(value["name"], arrays))
    if tag == "$index":
        return pd.Index(_decode(body, arrays), name=_decode(value["name"], arrays))
    if tag == "$labels":
        return pd.Index(list(body), dtype=value["dtype"], name=_decode(value["name"], arrays))
    if tag == "$dataclass":
        return DATACLASSES[body](**{k: _decode(v, arrays) for k, v in _object(value["fields"]).items()})
    if tag == "$network":
        config = dict(_object(body))
        config["dtype"] = np.dtype(config["dtype"])
        network = RecurrentNetwork(**config)
        weights = _decode(value["params"], arrays)
        if weights.shape != network.params.shape or weights.dtype != network.params.dtype:
            raise ValueError(f"a weight vector of shape {weights.shape} does not fit its network")
        network.params[:] = weights
        return network
    if tag == "$linear":
        state = _decode(body, arrays)
        ridge = RidgeCV() if state["cv"] else Ridge(alpha=state["alpha"])
        if state["cv"]:
            ridge.alpha_ = state["alpha"]
        ridge.coef_, ridge.intercept_ = state["coef_"], state["intercept_"]
        ridge.n_features_in_ = state["n_features_in_"]
        linear = LinearBase(state["use_level"])
        linear.ridge_, linear.validation_mse_ = ridge, state["validation_mse_"]
        return linear
    if tag == "$fit":
        cls, state = FIT_CLASSES[body], _decode(value["state"], arrays)
        return lambda y, exog: cls.from_state(state, y, exog)  # rebuilt on its series by load_forecaster
    raise ValueError(f"unknown tag {tag!r}")


def _read(path):
    """The arrays and metadata of a forecaster file, or a ValueError naming what is wrong."""
    return read_archive(path, "forecaster")
