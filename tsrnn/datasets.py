"""Real time series shipped with tsrnn (offline, small CSV files).

The files live in ``datasets/`` at the repository root; the wheel carries them as
``tsrnn/_datasets``. Sources and licences are in ``datasets/README.md``.

>>> from tsrnn.datasets import load_dataset, list_datasets
>>> y = load_dataset("airpassengers")        # pd.Series, monthly DatetimeIndex
>>> panel = load_dataset("macrodata")        # long frame unique_id, ds, y
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from .frequencies import default_season_length

__all__ = [
    "list_datasets",
    "load_airpassengers",
    "load_co2",
    "load_dataset",
    "load_elnino",
    "load_macrodata",
    "load_nile",
    "load_sunspots",
]


@dataclass(frozen=True)
class _Dataset:
    file: str
    freq: str  # pandas offset alias of the ds column
    description: str
    panel: bool = False

    @property
    def season_length(self):
        """The customary season of the frequency (tsrnn.frequencies), not a second table of it."""
        return default_season_length(self.freq)


_DATASETS = {
    "airpassengers": _Dataset(
        "airpassengers.csv",
        "MS",
        "Monthly international airline passengers (thousands), 1949-1960 (Box & Jenkins).",
    ),
    "co2": _Dataset(
        "co2.csv",
        "MS",
        "Mauna Loa atmospheric CO2 (ppm), monthly mean of weekly samples, 1965-2001.",
    ),
    "sunspots": _Dataset("sunspots.csv", "YS", "Yearly mean sunspot number, 1700-2008."),
    "nile": _Dataset("nile.csv", "YS", "Annual flow of the Nile at Aswan, 1871-1970."),
    "elnino": _Dataset(
        "elnino.csv",
        "MS",
        "Monthly sea surface temperature, Nino 1+2 region (deg C), 1950-2010.",
    ),
    "macrodata": _Dataset(
        "macrodata.csv",
        "QS",
        "US quarterly macro panel: realgdp, realcons, realinv, cpi, unemp; 1959Q1-2009Q3.",
        panel=True,
    ),
}


def _data_file(filename):
    """Path of a shipped CSV: inside the installed package, else in the checkout."""
    packaged = resources.files("tsrnn") / "_datasets" / filename
    if packaged.is_file():
        return packaged
    # Editable installs import tsrnn from the checkout, where the files sit at the root.
    checkout = Path(__file__).resolve().parent.parent / "datasets" / filename
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(
        f"Dataset file {filename!r} is neither in the installed package (tsrnn/_datasets) "
        f"nor in a source checkout ({checkout.parent}). The installation is incomplete."
    )


def load_dataset(name):
    """Load a shipped dataset by name.

    Parameters
    ----------
    name : str
        One of the names in :func:`list_datasets` (case-insensitive).

    Returns
    -------
    y : pd.Series or pd.DataFrame
        Single series: a float ``pd.Series`` named ``name`` with a ``DatetimeIndex``
        named ``ds`` whose ``freq`` is set. Panels: a long ``pd.DataFrame`` with columns
        ``unique_id, ds, y``, sorted by ``unique_id`` then ``ds``.

    Raises
    ------
    ValueError
        If ``name`` is not a known dataset; the message lists the known ones.
    """
    key = str(name).lower()
    if key not in _DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(sorted(_DATASETS))}.")
    info = _DATASETS[key]
    with _data_file(info.file).open("r") as handle:
        frame = pd.read_csv(handle, parse_dates=["ds"])
    frame["y"] = frame["y"].astype("float64")
    if info.panel:
        frame["unique_id"] = frame["unique_id"].astype(str)
        return frame[["unique_id", "ds", "y"]]
    index = pd.DatetimeIndex(frame["ds"], freq=info.freq, name="ds")
    return pd.Series(frame["y"].to_numpy(), index=index, name=key)


def load_airpassengers():
    """Monthly airline passengers 1949-1960 (Box & Jenkins series G), 144 values.

    Returns
    -------
    y : pd.Series
        Monthly (``MS``) series named ``airpassengers``.
    """
    return load_dataset("airpassengers")


def load_co2():
    """Mauna Loa CO2, monthly mean of the weekly samples, 1965-2001, 444 values.

    Returns
    -------
    y : pd.Series
        Monthly (``MS``) series named ``co2``.
    """
    return load_dataset("co2")


def load_sunspots():
    """Yearly mean sunspot number 1700-2008, 309 values.

    Returns
    -------
    y : pd.Series
        Yearly (``YS``) series named ``sunspots``.
    """
    return load_dataset("sunspots")


def load_nile():
    """Annual Nile flow at Aswan 1871-1970, 100 values.

    Returns
    -------
    y : pd.Series
        Yearly (``YS``) series named ``nile``.
    """
    return load_dataset("nile")


def load_elnino():
    """Monthly Nino 1+2 sea surface temperature 1950-2010, 732 values.

    Returns
    -------
    y : pd.Series
        Monthly (``MS``) series named ``elnino``.
    """
    return load_dataset("elnino")


def load_macrodata():
    """US quarterly macro panel 1959Q1-2009Q3: 5 series of 203 values.

    Returns
    -------
    y : pd.DataFrame
        Long frame ``unique_id, ds, y`` with ``unique_id`` in
        ``realgdp, realcons, realinv, cpi, unemp``.
    """
    return load_dataset("macrodata")


def list_datasets():
    """Describe the shipped datasets.

    Returns
    -------
    datasets : pd.DataFrame
        One row per dataset with columns ``name``, ``frequency`` (pandas offset alias),
        ``n_series``, ``length`` (observations per series), ``season_length`` and
        ``description``.
    """
    rows = []
    for name, info in _DATASETS.items():
        data = load_dataset(name)
        if info.panel:
            sizes = data.groupby("unique_id", sort=False).size()
            n_series, length = len(sizes), int(sizes.max())
        else:
            n_series, length = 1, len(data)
        rows.append(
            {
                "name": name,
                "frequency": info.freq,
                "n_series": n_series,
                "length": length,
                "season_length": info.season_length,
                "description": info.description,
            }
        )
    return pd.DataFrame(rows)
