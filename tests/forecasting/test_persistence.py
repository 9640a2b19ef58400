"""Forecaster files (tsrnn.forecasting.persistence): exact round trips and refused files."""

import io
import json
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest

from tsrnn import load_forecaster
from tsrnn.datasets import load_airpassengers
from tsrnn.forecasting import ARIMA, ETS, AutoARIMA, ConformalIntervals, Naive, RNNForecaster, SeasonalNaive
from tsrnn.forecasting.persistence import FORMAT_VERSION


def _monthly(n=60, n_series=2, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2000-01-31", periods=n, freq="ME", name="month")
    t = np.arange(n)
    data = {f"s{k}": 100 + 5 * k + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n) for k in range(n_series)}
    return pd.DataFrame(data, index=index)


def _inputs():
    wide = _monthly()
    long = wide.reset_index().melt(id_vars="month", var_name="unique_id", value_name="y")
    long = long.rename(columns={"month": "ds"})[["unique_id", "ds", "y"]]
    return {"series": wide["s0"], "wide": wide, "long": long}


FORECASTERS = {
    "seasonal_naive": lambda: SeasonalNaive(season_length=12, quantiles=[0.1, 0.9]),
    "naive": lambda: Naive(alias="rw"),
    "arima": lambda: ARIMA(order=(1, 1, 0), seasonal_order=(0, 1, 0, 12), quantiles=[0.2]),
    "auto_arima": lambda: AutoARIMA(season_length=12, max_p=1, max_q=1, max_P=0, max_Q=0),
    "ets": lambda: ETS(season_length=12, auto=False, error="mul", trend="add", seasonal="mul", quantiles=[0.1]),
    "rnn": lambda: RNNForecaster(horizon=6, hidden_size=4, max_epochs=2, quantiles=[0.1, 0.9], random_state=0),
}


def _predictions(model):
    return model.predict(6, level=[80])


def _assert_same(a, b):
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("kind", ["series", "wide", "long"])
@pytest.mark.parametrize("name", sorted(FORECASTERS))
def test_save_load_predicts_identically(tmp_path, name, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = FORECASTERS[name]().fit(_inputs()[kind])
        expected = _predictions(model)
        path = tmp_path / "model.npz"
        model.save(path)
        loaded = load_forecaster(path)
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        _assert_same(_predictions(loaded), expected)
        _assert_same(loaded.predict(3), model.predict(3))


@pytest.mark.filterwarnings("ignore:.*calibration residuals")
def test_conformal_and_update_survive_the_file(tmp_path):
    y = load_airpassengers()
    model = ARIMA(
        order=(1, 1, 1), seasonal_order=(0, 1, 1, 12), prediction_intervals=ConformalIntervals(n_windows=2, h=6)
    )
    model.fit(y.iloc[:-12])
    model.save(tmp_path / "arima.npz")
    loaded = load_forecaster(tmp_path / "arima.npz")
    assert loaded.prediction_intervals == model.prediction_intervals
    _assert_same(loaded.predict(6, level=[80, 95]), model.predict(6, level=[80, 95]))
    # the loaded model is conditioned on new data exactly as the original
    _assert_same(loaded.update(y).predict(6), model.update(y).predict(6))


@pytest.mark.parametrize("name", ["arima", "ets", "rnn"])
def test_pickle_and_joblib_round_trips_are_exact(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = FORECASTERS[name]().fit(_inputs()["wide"])
        expected = _predictions(model)
        _assert_same(_predictions(pickle.loads(pickle.dumps(model))), expected)
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        buffer.seek(0)
        _assert_same(_predictions(joblib.load(buffer)), expected)


def test_unfitted_and_unsaveable_forecasters_refuse_to_save(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Naive().save(tmp_path / "x.npz")
    model = ETS(random_state=np.random.RandomState(0)).fit(_inputs()["series"])
    with pytest.raises(ValueError, match="random_state"):
        model.save(tmp_path / "x.npz")


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "naive.npz"
    SeasonalNaive(season_length=12).fit(_inputs()["wide"]).save(path)
    return path


def _rewrite(path, edit):
    with np.load(path) as archive:
        entries = {k: archive[k] for k in archive.files}
    meta = json.loads(str(entries["meta"]))
    edit(meta, entries)
    entries["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **entries)


def test_newer_version_is_refused(saved):
    _rewrite(saved, lambda meta, _: meta.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match="newer"):
        load_forecaster(saved)


@pytest.mark.parametrize(
    "edit",
    [
        lambda meta, _: meta.update(format_version="1"),
        lambda meta, _: meta.update(forecaster="os.system"),
        lambda meta, _: meta.update(forecaster="builtins.eval"),
        lambda meta, _: meta["params"].update(season_length="twelve"),
        lambda meta, _: meta["params"].update(bogus=1),
        lambda meta, _: meta["state"].pop("panel_"),
        lambda meta, _: meta["state"]["panel_"]["fields"].update(values={"$array": "missing"}),
        lambda meta, _: meta["state"].update(sigma_={"$pickle": "x"}),
        lambda meta, _: meta["state"]["panel_"].update({"$dataclass": "ConformalIntervalsX"}),
    ],
)
def test_tampered_files_are_refused(saved, edit):
    _rewrite(saved, edit)
    with pytest.raises(ValueError, match="forecaster file"):
        load_forecaster(saved)


def test_truncated_pickled_and_foreign_files_are_refused(saved, tmp_path):
    data = saved.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_forecaster(truncated)
    pickled = tmp_path / "pickled.npz"
    with open(pickled, "wb") as f:
        np.savez(f, meta=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled"):
        load_forecaster(pickled)
    text = tmp_path / "text.npz"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="forecaster file"):
        load_forecaster(text)
    single = tmp_path / "single.npy"
    np.save(single, np.arange(3))
    with pytest.raises(ValueError, match="single NumPy array"):
        load_forecaster(single)
    with pytest.raises(FileNotFoundError):
        load_forecaster(tmp_path / "absent.npz")


def test_load_model_points_forecaster_files_to_load_forecaster(saved, tmp_path):
    from tsrnn import load_model

    with pytest.raises(ValueError, match="load_forecaster"):
        load_model(saved)
    single = tmp_path / "single.npy"
    np.save(single, np.arange(3))
    with pytest.raises(ValueError, match="single NumPy array"):
        load_model(single)


@pytest.mark.parametrize("name", ["seasonal_naive", "arima", "rnn"])
@pytest.mark.parametrize("freq", ["D", "W-SUN", "QE"])
def test_update_with_data_of_another_frequency_is_refused(name, freq):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = _inputs()["series"]
        model = FORECASTERS[name]().fit(y)
        other = pd.Series(y.to_numpy(), index=pd.date_range("2000-01-31", periods=len(y), freq=freq, name="month"))
        other.name = y.name
        expected = model.predict(6)
        with pytest.raises(ValueError, match="frequency"):
            model.update(other)
        _assert_same(model.predict(6), expected)  # the refused update left the model as it was


def test_update_with_integer_time_on_a_datetime_model_is_refused():
    y = _inputs()["series"]
    model = Naive().fit(y)
    with pytest.raises(ValueError, match="frequency"):
        model.update(pd.Series(y.to_numpy(), name=y.name))


def test_load_in_a_fresh_process(tmp_path):
    """A file loads in a process that has imported nothing but ``tsrnn`` (whose names load
    on first use): the loader imports the forecaster's own module."""
    import subprocess
    import sys

    paths, expected = {}, {}
    y = _inputs()["series"]
    for name in ("seasonal_naive", "ets", "arima", "rnn"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = FORECASTERS[name]().fit(y)
        paths[name] = str(tmp_path / f"{name}.npz")
        model.save(paths[name])
        expected[name] = _predictions(model).to_numpy().tolist()
    code = (
        "import json, sys, tsrnn\n"
        "paths = json.loads(sys.argv[1])\n"
        "print(json.dumps({k: tsrnn.load_forecaster(p).predict(6, level=[80]).to_numpy().tolist()"
        " for k, p in paths.items()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(paths)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == expected


def test_load_refuses_arrays_and_parameters_that_do_not_fit_together(tmp_path):
    """A file whose arrays or parameters were changed but which is still a valid archive is
    refused at load (a trial forecast and a network-vs-parameters check), never later."""
    model = RNNForecaster(horizon=6, input_size=12, hidden_size=8, max_epochs=2, random_state=0)
    model.fit(load_airpassengers()).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["meta"]))
    timestamps = max((k for k in arrays if arrays[k].shape == (144,)), key=lambda k: int(k[1:]))
    cases = {"cut timestamps": {timestamps: arrays[timestamps][:100]}}
    for key, value in (("horizon", 24), ("hidden_size", 32)):
        changed = json.loads(json.dumps(meta))
        changed["params"][key] = value
        cases[key] = {"meta": np.array(json.dumps(changed))}
    for name, change in cases.items():
        np.savez(tmp_path / f"{name}.npz", **{**arrays, **change})
        with pytest.raises(ValueError, match="damaged or tampered"):
            load_forecaster(tmp_path / f"{name}.npz")


def test_models_with_covariates_load_and_forecast_identically(tmp_path):
    """The load-time trial forecast is skipped where forecasts need future covariates."""
    y = _inputs()["series"]
    X = pd.DataFrame({"x": np.sin(np.arange(len(y)))}, index=y.index)
    future = pd.DataFrame(
        {"x": np.sin(np.arange(len(y), len(y) + 6))}, index=pd.date_range(y.index[-1], periods=7, freq="ME")[1:]
    )
    for model in (ARIMA(order=(1, 0, 0)), RNNForecaster(horizon=6, hidden_size=4, max_epochs=1, random_state=0)):
        model.fit(y, X).save(tmp_path / "m.npz")
        loaded = load_forecaster(tmp_path / "m.npz")
        _assert_same(loaded.predict(6, future), model.predict(6, future))
