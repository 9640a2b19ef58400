"""Saving and loading fitted models: the ``.npz`` model file format.

A model file is a NumPy ``.npz`` archive (read with ``allow_pickle=False``) of two entries:

``params``
    The flat weight vector of the network (``network_.params``), in the model's dtype.
``meta``
    A JSON string: ``format_version`` (:data:`FORMAT_VERSION`), ``estimator`` (the
    class name), ``params`` (the constructor parameters, ``bidirectional`` and
    ``return_sequences`` among them: files written before those existed load with
    their default, False), and the fitted shapes
    ``input_size``, ``n_outputs``, ``y_ndim``, ``input_ndim``, ``n_features_in`` and
    ``feature_names_in`` (a list, or null); optionally ``extra``, the fitted state
    particular to a class (a classifier's ``classes_``), from its ``_persisted_state()``
    and given back to its ``_restore_persisted_state(extra)``; and, for a model with
    quantile heads, ``head_quantiles``: the sorted probabilities its head outputs (the
    user's ``quantiles`` and the median head trained beside them), given to its
    ``_restore_head_quantiles`` before the network is rebuilt. A file without it was
    written before the median head existed: its heads are the sorted ``quantiles``
    alone, and it loads with that layout (and a warning that its point prediction is
    the quantile nearest 0.5). A dict parameter (a
    classifier's ``class_weight``) is written as ``{"__dict_items__": [[key, value], ...]}``
    so that its keys keep their JSON types (ints, bools), not only strings.

Training curves and the optimizer state are not saved: a loaded model predicts
exactly as the saved one, and further training (``partial_fit``, ``warm_start``)
starts a fresh optimizer.

The file names its class; :func:`load_model` rebuilds classes registered with
:func:`register_model`. The regressors register themselves in
:mod:`tsrnn.estimators.regressors`, which imports this module to save; the package
``tsrnn.estimators`` imports both, so the registry is filled before this module can
be used, and this module needs no import of the classes it rebuilds (no cycle).
"""

import json
import os
import threading
import zipfile

import numpy as np

FORMAT_VERSION = 1

# the first bytes of a zip archive (.npz) and of a .npy file
ZIP_MAGIC, NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"

# class name (as written in a file's meta) -> class
MODEL_CLASSES = {}


def register_model(cls):
    """Class decorator: let :func:`load_model` rebuild instances of ``cls`` from their files.

    The class is stored under its ``__name__``, the name :func:`save_model` writes.

    Parameters
    ----------
    cls : type
        An estimator with the fitted state of :mod:`tsrnn.estimators.regressors`
        (``get_params``, ``network_``, ``n_outputs_``, ``n_features_in_``, ...) and
        its ``_check_params`` and ``_new_network``.

    Returns
    -------
    cls : type
        Unchanged.
    """
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def save_model(model, path):
    """Write the fitted ``model`` to ``path`` in the model file format (see the module docstring).

    Parameters
    ----------
    model : RNNRegressor, LSTMRegressor or GRURegressor
        A fitted model.
    path : str or path-like
    """
    net = model.network_
    meta = {
        "format_version": FORMAT_VERSION,
        "estimator": type(model).__name__,
        "params": {k: _jsonable(v) for k, v in model.get_params().items()},
        "input_size": net.input_size,
        "n_outputs": model.n_outputs_,
        "y_ndim": model._y_ndim,
        "input_ndim": model._input_ndim,
        "n_features_in": model.n_features_in_,
        "feature_names_in": None if not hasattr(model, "feature_names_in_") else list(model.feature_names_in_),
    }
    if hasattr(model, "_persisted_state"):
        meta["extra"] = model._persisted_state()
    if getattr(model, "_quantiles", None) is not None:
        meta["head_quantiles"] = model._quantiles.tolist()
    try:
        text = json.dumps(meta)
    except TypeError as error:  # e.g. a classifier's classes_ of datetimes
        raise ValueError(
            f"save(): the model's parameters or fitted state cannot be written to a model file ({error}); "
            "only numbers, strings and booleans can (e.g. classes_ of such labels)."
        ) from None
    write_archive(path, params=net.params, meta=np.array(text))


def write_archive(path, **arrays):
    """Write ``arrays`` as an ``.npz`` archive at exactly ``path``, all or nothing.

    The archive goes to a temporary file beside ``path`` that replaces it only once
    complete, so a save that fails or is interrupted leaves an existing file intact.

    Parameters
    ----------
    path : str or path-like
    **arrays : ndarray
    """
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_model(path):
    """Load a model written by :meth:`RNNRegressor.save <tsrnn.RNNRegressor.save>` or :func:`save_model`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    RNNRegressor, LSTMRegressor or GRURegressor
        A fitted estimator whose predictions equal the saved model's.

    Raises
    ------
    ValueError
        When the file is truncated, damaged, not a model file, of a newer format
        version, holds pickled objects (never loaded: ``allow_pickle=False``), or
        its metadata or weights were tampered with; the message names the problem.
    FileNotFoundError
        When ``path`` does not exist.
    """
    params, meta = _read(path)
    version = meta.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ValueError(
            f"{path} is a tsrnn model file of format version {version}, newer than this tsrnn reads "
            f"({FORMAT_VERSION}); upgrade tsrnn to load it."
        )
    if "forecaster" in meta:
        raise ValueError(f"{path} is a tsrnn forecaster file; load it with tsrnn.load_forecaster.")
    if version != FORMAT_VERSION or meta.get("estimator") not in MODEL_CLASSES:
        raise ValueError(
            f"{path} is not a tsrnn model file of format version {FORMAT_VERSION} "
            f"(format_version={version!r}, estimator={meta.get('estimator')!r})."
        )
    try:
        model = MODEL_CLASSES[meta["estimator"]](**{k: _from_jsonable(v) for k, v in meta["params"].items()})
        model._check_params()
        if hasattr(model, "_restore_head_quantiles"):  # the head layout the weights were saved with
            model._restore_head_quantiles(meta.get("head_quantiles"))
        network = model._new_network(meta["input_size"], meta["n_outputs"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: the model file's metadata is damaged or tampered with ({error!r}).") from None
    if params.shape != network.params.shape or params.dtype != network.params.dtype:
        raise ValueError(f"{path}: weight vector of shape {params.shape} does not fit the saved configuration.")
    if not np.isfinite(params).all():  # a fit never keeps non-finite weights (tsrnn.nn.Trainer)
        raise ValueError(f"{path}: the weight vector holds NaN or inf values; the file is damaged or tampered with.")
    network.params[:] = params
    model.network_, model.n_outputs_ = network, meta["n_outputs"]
    model.n_features_in_ = meta["n_features_in"]
    if meta["feature_names_in"] is not None:
        model.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
    model._y_ndim, model._input_ndim = meta["y_ndim"], meta["input_ndim"]
    if hasattr(model, "_restore_persisted_state"):
        try:
            model._restore_persisted_state(meta["extra"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: the model file's metadata is damaged or tampered with ({error!r}).") from None
    model._history = None  # no optimizer state in the file: continued training starts a fresh optimizer
    model._fitted_architecture = model._architecture()
    model._fitted_rates = (model.learning_rate, model.weight_decay)
    return model


def _read(path):
    """The weight vector and metadata of a model file, or a ValueError naming what is wrong."""
    arrays, meta = read_archive(path, "model", ("params",), " (a forecaster's file loads with tsrnn.load_forecaster)")
    return arrays["params"], meta


def read_archive(path, kind, required=(), hint=""):
    """The arrays and JSON metadata of a tsrnn ``.npz`` file, or a ValueError naming what is wrong.

    ``allow_pickle=False``: an object array in the file (which could run code when
    unpickled) is refused, never loaded. Shared by the model and forecaster formats.

    Parameters
    ----------
    path : str or path-like
    kind : str
        What the file should be ('model', 'forecaster'), for the messages.
    required : sequence of str, default=()
        Array names the file must hold besides ``meta``.
    hint : str, default=''
        Appended to the message about missing entries.

    Returns
    -------
    arrays : dict of str to ndarray
        Every entry but ``meta``.
    meta : dict
    """
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
    except FileNotFoundError:
        raise
    except OSError as error:
        raise ValueError(f"{path} is not a readable tsrnn {kind} file: {error!r}") from None
    if not head.startswith((ZIP_MAGIC, NPY_MAGIC)):
        # numpy would take it for a pickle and advise unsafe loading: say what it is instead
        raise ValueError(
            f"{path} is not a readable tsrnn {kind} file: it is not a NumPy .npz archive (it does not "
            "start with the zip signature)."
        )
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a .npy file loads as a bare array, not an archive
            raise ValueError(f"{path} is a single NumPy array, not a tsrnn {kind} file (an .npz archive).")
        with archive:
            missing = {"meta", *required} - set(archive.files)
            if missing:
                raise ValueError(f"{path} is not a tsrnn {kind} file: it lacks {sorted(missing)}{hint}.")
            arrays = {name: archive[name] for name in archive.files if name != "meta"}
            meta = json.loads(str(archive["meta"]))
    except ValueError as error:
        if str(path) in str(error):
            raise
        if "pickle" in str(error):  # numpy's text advises allow_pickle=True: never repeat that
            raise ValueError(
                f"{path} is not a readable tsrnn {kind} file: it holds pickled (object) data, which tsrnn never loads."
            ) from None
        raise ValueError(
            f"{path} is not a readable tsrnn {kind} file (truncated, damaged, or holding pickled objects): {error}"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable tsrnn {kind} file (truncated or damaged): {error!r}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the {kind} file's metadata is not a JSON object.")
    return arrays, meta


def _jsonable(value):
    if isinstance(value, np.random.RandomState):
        raise ValueError("save() needs random_state to be an int or None, not a RandomState instance.")
    if isinstance(value, (np.ndarray, tuple)):
        return list(np.asarray(value).tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {"__dict_items__": [[_jsonable(k), _jsonable(v)] for k, v in value.items()]}
    return value


def _from_jsonable(value):
    """Undo :func:`_jsonable`'s encoding of dicts."""
    if isinstance(value, dict) and set(value) == {"__dict_items__"}:
        return {k: v for k, v in value["__dict_items__"]}
    return value
