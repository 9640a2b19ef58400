"""The accuracy suite: every bundled dataset, every model with default settings, several seeds.

Each dataset is backtested over ``n_windows`` rolling origins of ``horizon`` steps (the
last window is the classic hold-out of the final ``horizon`` observations). Neural
models run once per seed; the classical baselines are deterministic and run once.
"""

import time

import numpy as np
import pandas as pd

from ..datasets import list_datasets, load_dataset
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


def run_suite(models=NEURAL + CLASSICAL, seeds=(0, 1, 2), datasets=None, n_windows=3, progress=False, log=print):
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

    Returns
    -------
    results : pd.DataFrame
        One row per (dataset, model, seed): ``mase``, ``smape``, ``coverage-80``,
        ``holdout_mase`` (last window only), ``seconds`` (fit + predict per window).
    """
    neural = [m for m in models if m in NEURAL]
    classical = [m for m in models if m not in NEURAL]
    rows = []
    for name, y, season_length, horizon in suite_datasets(datasets):
        runs = [(seed, neural) for seed in seeds if neural] + ([(None, classical)] if classical else [])
        for seed, names in runs:
            built = make_models(names, horizon, season_length, 0 if seed is None else seed)
            for model in built:
                if seed is None and "quantiles" in model.get_params():
                    model.set_params(quantiles=INTERVAL)
            start = time.perf_counter()
            board, forecasts = compare(
                built,
                y,
                horizon=horizon,
                n_windows=n_windows,
                season_length=season_length,
                metrics=("mase", "smape", "coverage"),
                progress=progress,
            )
            holdout = _holdout_mase(forecasts, y, season_length)
            for alias, scores in board.iterrows():
                rows.append(
                    dict(
                        dataset=name,
                        model=alias,
                        seed=seed,
                        mase=scores["mase"],
                        smape=scores["smape"],
                        coverage_80=scores.get("coverage-80", np.nan),
                        holdout_mase=holdout[alias],
                        seconds=(scores["fit_seconds"] + scores["predict_seconds"]) / n_windows,
                    )
                )
            log(f"{name} (h={horizon}, seed={seed}): {time.perf_counter() - start:.1f} s")
    return pd.DataFrame(rows)


def _holdout_mase(forecasts, y, season_length):
    last = forecasts[forecasts["cutoff"] == forecasts.groupby("unique_id")["cutoff"].transform("max")]
    return evaluate(last, y, metrics=("mase",), season_length=season_length)["mase"]


def summarize(results):
    """Per-model mean/median MASE across the suite and the spread across seeds.

    Datasets with several series count once (their series are averaged first).

    Returns
    -------
    summary : pd.DataFrame
        Index ``model``; columns ``mean_mase``, ``median_mase``, ``mean_smape``,
        ``mean_holdout_mase``, ``mean_seconds``, ``seed_spread`` (max - min over seeds
        of the suite-mean MASE; 0 for deterministic models).
    """
    per_seed = results.fillna({"seed": -1}).groupby(["model", "seed"])["mase"].mean()
    spread = per_seed.groupby("model").agg(lambda s: s.max() - s.min())
    per_dataset = results.groupby(["model", "dataset"])[["mase", "smape", "holdout_mase", "seconds"]].mean()
    summary = per_dataset.groupby("model").agg(
        mean_mase=("mase", "mean"),
        median_mase=("mase", "median"),
        mean_smape=("smape", "mean"),
        mean_holdout_mase=("holdout_mase", "mean"),
        mean_seconds=("seconds", "mean"),
    )
    summary["seed_spread"] = spread
    return summary.sort_values("mean_mase")


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
