import shutil

import numpy as np
import pandas as pd
import pytest

from tsrnn import datasets
from tsrnn.datasets import list_datasets, load_dataset

SINGLE = {
    "airpassengers": ("MS", 144),
    "co2": ("MS", 444),
    "sunspots": ("YS", 309),
    "nile": ("YS", 100),
    "elnino": ("MS", 732),
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_single_series_have_a_regular_index(name):
    y = load_dataset(name)
    freq, length = SINGLE[name]
    assert isinstance(y, pd.Series) and y.name == name
    assert len(y) == length and y.dtype == np.float64
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.freq is not None
    assert y.index.freqstr.startswith(freq)
    assert y.notna().all() and y.index.is_monotonic_increasing
    # the same object through the named loader
    pd.testing.assert_series_equal(getattr(datasets, f"load_{name}")(), y)


def test_airpassengers_values():
    y = load_dataset("airpassengers")
    assert y.iloc[:3].tolist() == [112.0, 118.0, 132.0]
    assert y.iloc[-1] == 432.0 and y.sum() == 40363.0
    assert y.index[0] == pd.Timestamp("1949-01-01") and y.index[-1] == pd.Timestamp("1960-12-01")


def test_macrodata_is_a_long_panel():
    panel = load_dataset("macrodata")
    assert list(panel.columns) == ["unique_id", "ds", "y"]
    sizes = panel.groupby("unique_id", sort=False).size()
    assert list(sizes.index) == ["realgdp", "realcons", "realinv", "cpi", "unemp"]
    assert (sizes == 203).all()
    first = panel[panel["unique_id"] == "realgdp"]
    assert (first["ds"].dt.month.to_numpy() == np.tile([1, 4, 7, 10], 51)[:203]).all()
    assert (first["ds"].dt.day == 1).all()


def test_list_datasets():
    table = list_datasets()
    assert list(table.columns) == ["name", "frequency", "n_series", "length", "season_length", "description"]
    assert set(table["name"]) == set(SINGLE) | {"macrodata"}
    row = table.set_index("name").loc["macrodata"]
    assert row["n_series"] == 5 and row["length"] == 203 and row["season_length"] == 4
    assert table.set_index("name").loc["airpassengers", "season_length"] == 12


def test_unknown_dataset_lists_known_names():
    with pytest.raises(ValueError, match="Unknown dataset 'nope'.*airpassengers.*sunspots"):
        load_dataset("nope")


def test_name_is_case_insensitive():
    assert len(load_dataset("AirPassengers")) == 144


def test_packaged_files_win_over_the_checkout(tmp_path, monkeypatch):
    # The wheel ships the CSVs as tsrnn/_datasets; loaders must read them from there.
    package = tmp_path / "tsrnn"
    (package / "_datasets").mkdir(parents=True)
    source = datasets._data_file("nile.csv")
    shutil.copy(str(source), package / "_datasets" / "nile.csv")
    frame = pd.read_csv(package / "_datasets" / "nile.csv")
    frame.loc[0, "y"] = -1.0  # mark the packaged copy
    frame.to_csv(package / "_datasets" / "nile.csv", index=False)
    monkeypatch.setattr(datasets.resources, "files", lambda _: package)
    assert load_dataset("nile").iloc[0] == -1.0
