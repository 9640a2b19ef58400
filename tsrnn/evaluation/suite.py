"""The accuracy suite: every bundled dataset, every model with default settings, several seeds.

Each dataset is backtested over ``n_windows`` rolling origins of ``horizon`` steps (the
last window is the classic hold-out of the final ``horizon`` observations). Neural
models run once per seed; the classical baselines are deterministic and run once.
"""

import time

import numpy as np
import pandas as pd

from ..datasets import list_datasets, load_dataset
from ..forecasting.conformal import check_levels
from ..forecasting.registry import MODEL_NAMES, MODELS, make_models
from ..forecasting.scoring import evaluate
from ..frequencies import default_horizon
from .compare import compare

NEURAL = tuple(name for name in MODEL_NAMES if MODELS[name].seeded)
CLASSICAL = tuple(name for name in MODEL_NAMES if not MODELS[name].seeded)
INTERVAL = [0.1, 0.9]  # baselines report an 80 % interval; its coverage is scored


def suite_datasets(names=None):
    """(name, data, season_length, horizon) for each bundled dataset.

    The horizon is the suite's for the dataset's frequency (:func:`tsrnn.frequencies.default_horizon`).
    """
    info = list_datasets().set_index("name")
    for name in names or info.index:
        row = info.loc[name]
        yield name, load_dataset(name), int(row["season_length"]), default_horizon(row["frequency"])


def run_suite(
    models=NEURAL + CLASSICAL, seeds=(0, 1, 2), datasets=None, n_windows=3, progress=False, log=print, level=None
):
    """Backtest every model on every bundled dataset.

    Parameters
    ----------
    models : sequence of str, default=all
        Names from :data:`tsrnn.forecasting.registry.MODEL_NAMES`.
    seeds : sequence of int, default=(0, 1, 2)
        ``random_state`` of the neural models, one run each.
    datasets : sequence of str or None, default=None
        Dataset names; None runs all bundled ones.
    n_windows : int, default=3
    progress : bool, default=False
    log : callable, default=print
        Receives one line per finished (dataset, seed).
    level : sequence of float or None, default=None
        Prediction interval levels in percent (e.g. ``(80, 95)``): every model forecasts
        its default intervals (``predict(level=...)``: model-based for ARIMA/ETS, conformal
        otherwise) and each row gains ``coverage_<level>`` (share of actuals inside),
        ``width_<level>`` (mean width over the seasonal naive scale,
        :func:`tsrnn.metrics.scaled_width`) and ``msis_<level>``. None: only the
        classical models' 80 % interval from their ``[0.1, 0.9]`` quantiles is scored
        (``coverage_80``), which costs nothing extra.

    Returns
    -------
    results : pd.DataFrame
        One row per (dataset, model, seed): ``mase``, ``smape``, the interval columns
        (above), ``holdout_mase`` (last window only), ``seconds`` (fit + predict per
        window, calibration refits included).
    """
    levels = check_levels(level)
    metrics = ("mase", "smape", "coverage", "msis", "scaled_width") if levels else ("mase", "smape", "coverage")
    neural = [m for m in models if m in NEURAL]
    classical = [m for m in models if m not in NEURAL]
    rows = []
    for name, y, season_length, horizon in suite_datasets(datasets):
        runs = [(seed, neural) for seed in seeds if neural] + ([(None, classical)] if classical else [])
        for seed, names in runs:
            built = make_models(names, horizon, season_length, 0 if seed is None else seed)
            for model in built:
                if seed is None and not levels and "quantiles" in model.get_params():
                    model.set_params(quantiles=INTERVAL)
            start = time.perf_counter()
            board, forecasts = compare(
                built,
                y,
                horizon=horizon,
                n_windows=n_windows,
                season_length=season_length,
                metrics=metrics,
                progress=progress,
                level=levels or None,
            )
            holdout = _holdout_mase(forecasts, y, season_length)
            for alias, scores in board.iterrows():
                row = dict(dataset=name, model=alias, seed=seed, mase=scores["mase"], smape=scores["smape"])
                if levels:
                    for lv in levels:
                        row[f"coverage_{lv:g}"] = scores[f"coverage-{lv:g}"]
                        row[f"width_{lv:g}"] = scores[f"scaled_width-{lv:g}"]
                        row[f"msis_{lv:g}"] = scores[f"msis-{lv:g}"]
                else:
                    row["coverage_80"] = scores.get("coverage-80", np.nan)
                row.update(
                    holdout_mase=holdout[alias],
                    seconds=(scores["fit_seconds"] + scores["predict_seconds"]) / n_windows,
                )
                rows.append(row)
            log(f"{name} (h={horizon}, seed={seed}): {time.perf_counter() - start:.1f} s")
    return pd.DataFrame(rows)


def _holdout_mase(forecasts, y, season_length):
    last = forecasts[forecasts["cutoff"] == forecasts.groupby("unique_id")["cutoff"].transform("max")]
    return evaluate(last, y, metrics=("mase",), season_length=season_length)["mase"]


def _mean(values):
    """Mean that never skips: a NaN (a failed or undefined score) makes it NaN."""
    return float(np.mean(values.to_numpy(dtype=np.float64))) if len(values) else np.nan


def _median(values):
    return float(np.median(values.to_numpy(dtype=np.float64))) if len(values) else np.nan


def summarize(results):
    """Per-model mean/median MASE across the suite and the spread across seeds.

    Datasets with several series count once (their series are averaged first). Every
    model is averaged over every dataset of ``results``: a dataset where a model has no
    row, or a NaN score, makes its suite mean NaN rather than being skipped for that model
    alone (the rule of :mod:`tsrnn.forecasting.scoring`), and a non-finite mean ranks last.

    Returns
    -------
    summary : pd.DataFrame
        Index ``model``; columns ``mean_mase``, ``median_mase``, ``mean_smape``,
        ``mean_holdout_mase``, ``mean_seconds``, ``seed_spread`` (max - min over seeds
        of the suite-mean MASE; 0 for deterministic models), then, where ``results`` has
        them, ``mean_<column>`` of each interval column (``coverage_80``, ``width_80``,
        ``msis_80``, ...).
    """
    interval = [c for c in results.columns if c.split("_")[0] in ("coverage", "width", "msis")]
    columns = ["mase", "smape", "holdout_mase", "seconds", *interval]
    models = pd.unique(results["model"])
    datasets = pd.unique(results["dataset"])
    per_seed = results.fillna({"seed": -1}).groupby(["model", "seed"])["mase"].agg(_mean)
    spread = per_seed.groupby("model").agg(lambda s: s.max() - s.min() if np.isfinite(s).all() else np.nan)
    per_dataset = results.groupby(["model", "dataset"])[columns].agg(_mean)
    per_dataset = per_dataset.reindex(pd.MultiIndex.from_product([models, datasets], names=["model", "dataset"]))
    summary = per_dataset.groupby("model").agg(
        mean_mase=("mase", _mean),
        median_mase=("mase", _median),
        mean_smape=("smape", _mean),
        mean_holdout_mase=("holdout_mase", _mean),
        mean_seconds=("seconds", _mean),
        **{f"mean_{c}": (c, _mean) for c in interval},
    )
    summary["seed_spread"] = spread
    summary = summary[[*summary.columns[:5], "seed_spread", *summary.columns[5:-1]]]
    keys = [summary[c].to_numpy(dtype=np.float64) for c in ("mean_mase", "mean_smape")]
    keys = [np.where(np.isfinite(k), k, np.inf) for k in keys]
    return summary.iloc[np.lexsort(keys[::-1])]


def markdown_table(frame, floatfmt="{:.3f}"):
    """A pandas DataFrame as a GitHub markdown table (no extra dependency)."""
    frame = frame.reset_index() if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex) else frame
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else floatfmt.format(v)
        return str(v)

    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
