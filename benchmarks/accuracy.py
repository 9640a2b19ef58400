"""Accuracy of tsrnn's default forecasters against AutoARIMA, ETS and SeasonalNaive.

Run from the repository root:

    python benchmarks/accuracy.py                 # all datasets, seeds 0 1 2 -> benchmarks/ACCURACY.md
    python benchmarks/accuracy.py --datasets airpassengers --seeds 0
    python benchmarks/accuracy.py --level         # point forecasts only (no interval columns; faster)

Every model also forecasts its default 80 % and 95 % prediction intervals (``--level``):
model-based for AutoARIMA and ETS, conformal for the others (RNNForecaster on its
early-stopping validation windows, or on 19 refits at earlier cutoffs where those are too
few for 95 %, which dominates the neural models' time).

The same suite runs as ``tsrnn compare --suite``.
"""

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import numpy as np

DEFAULTS_NOTE = """## The defaults and why

The forecast is the sum of three stages, each fitted to what the previous one leaves:

- `base_forecast='seasonal_naive'`: the seasonal naive forecast of each window; the window
  is read relative to its last value, so trends and level shifts never push inputs outside
  the range seen in training. Before it, LSTM/GRU/RNN scored MASE 1.9-2.1 on the
  AirPassengers backtest (SeasonalNaive 1.2); with it, 0.72-0.77.
- `linear_base='auto'`: a ridge regression (penalty by generalised cross-validation) from
  the window to the residuals over the base, fitted in closed form before the network.
  'auto' fits it on the window alone ('changes') and with the scaled last value
  ('levels', which lets stationary series revert to their mean but extrapolates the level
  of trending ones) and keeps the one with the lower error on the validation windows.
  Small series do not give a network enough windows to learn a trend or a mean reversion
  reliably; the linear stage carries them and the network learns the rest.
- The network (LSTM/GRU/RNN, hidden 64, one layer, Adam at a constant 1e-3) trains on
  what is left, with early stopping on the most recent 10 % of each series' windows (the
  horizon-1 windows before them are dropped, so no training target is a validation
  target), patience 10, best weights restored.
- `input_size = 2 * max(season_length, horizon)`, `scaler='standard'` per series,
  `transform=None`, `n_models=1`.

What was measured on the way (suite mean MASE over the datasets, seeds 0 and 1, 3 windows;
GRU / LSTM; the AirPassengers hold-out is the last 12 months, target <= 0.5):

| variant | suite GRU | suite LSTM | AirPassengers hold-out |
| --- | --- | --- | --- |
| seasonal naive base only (the previous default) | 0.849 | 0.870 | 0.72 / 0.72 |
| + log transform of positive series (`transform='auto'`) | 0.980 | 0.960 | 0.68 / 0.69 |
| + the scaled level as a second input channel | 1.023 | 1.097 | 0.51 / 0.59 |
| input_size of 3 seasons | 0.878 | 0.931 | 0.69 / 0.75 |
| 3-seed ensemble (`n_models=3`) | 0.844 | 0.876 | 0.75 / 0.70 |
| base plus the window's drift (seasonal random walk with drift) | 0.922 | 0.985 | 0.45 / 0.43 |
| linear stage 'changes' | 0.827 | 0.829 | 0.40 / 0.39 |
| linear stage 'levels' | 0.847 | 0.825 | 0.52 / 0.52 |
| linear stage 'auto' (the default) | 0.759 | 0.747 | 0.40 / 0.39 |
| linear stage 'changes' alone, no network | 0.879 | | 0.40 |
| default + `lr_schedule='plateau'` | 0.764 | 0.755 | 0.40 / 0.39 |
| default + learning rate 3e-3 | 0.752 | 0.744 | 0.41 / 0.40 |
| default + learning rate 3e-3 + `lr_schedule='plateau'` | 0.756 | 0.749 | 0.41 / 0.40 |

- The level channel and 'levels' help the stationary series (sunspots 0.87 -> 0.51) and
  wreck the trending macro panel (1.2 -> 1.7-2.5): hence the choice on validation windows.
- The drift base won the AirPassengers hold-out but lost co2 and elnino: the window's own
  drift estimate is noisy where a learned average drift is not; the linear stage learns
  how much of the window's drift to trust.
- The network still matters: the linear stage alone scores 0.879; with the GRU on top 0.827.
- `lr_schedule='plateau'` (halve the learning rate after half the patience without
  improvement) and a 3x learning rate moved the suite by less than the seed spread
  (+-0.01): both stay options; the constant 1e-3 stays the default.
- `RNNForecaster.auto` (12 candidates around the defaults, 2 backtest windows each) lost to
  the defaults on the suite's hold-outs (LSTM, seeds 0 and 1): airpassengers 0.42 vs 0.39,
  elnino 0.84 vs 0.64, nile 1.40 vs 1.28, sunspots 1.09 vs 0.69, co2 0.31 vs 0.31. Two
  windows are too noisy a judge on series this short; it is a tool, not a default.
- Also tried on the AirPassengers hold-out only: refitting on all windows for the
  early-stopped number of epochs (0.74 / 0.72, no gain), scaling each window by its level
  (0.69 / 0.79).
"""


POINT_COLUMNS = ["mean_mase", "median_mase", "mean_smape", "mean_holdout_mase", "mean_seconds", "seed_spread"]


def write_report(results, path, command, elapsed):
    import numba
    import pandas as pd
    import statsmodels

    import tsrnn
    from tsrnn.evaluation.suite import markdown_table, summarize

    summary = summarize(results)
    per_dataset = results.groupby(["dataset", "model"])["mase"].agg(["mean", "min", "max"])
    wide = per_dataset["mean"].unstack("dataset")
    holdout = results.groupby(["dataset", "model"])["holdout_mase"].mean().unstack("dataset")
    spread = (per_dataset["max"] - per_dataset["min"]).unstack("dataset")
    seeds = sorted(int(s) for s in results["seed"].dropna().unique())
    levels = [c.split("_", 1)[1] for c in results.columns if c.startswith("msis_")]
    lines = [
        "# Accuracy: tsrnn defaults vs classical baselines",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.date.today()}; {elapsed / 60:.1f} min on {platform.machine()} with "
        f"{numba.get_num_threads()} threads; tsrnn {tsrnn.__version__}, numba {numba.__version__}, "
        f"statsmodels {statsmodels.__version__}, pandas {pd.__version__}.  ",
        f"Seeds of the neural models: {seeds}. Every model runs with its default settings.",
        "",
        "Each dataset is backtested over rolling origins (the last window is the usual hold-out",
        "of the final horizon); MASE is scaled by the in-sample seasonal naive error of each",
        "window's training data. Multi-series datasets are averaged over their series first.",
        "",
        "## Summary across the suite",
        "",
        markdown_table(summary[POINT_COLUMNS]),
        "",
        "`seed_spread`: max - min over seeds of the suite-mean MASE.",
        "",
        *_interval_sections(results, summary, levels),
        "## MASE per dataset (mean over seeds)",
        "",
        markdown_table(wide),
        "",
        "## Hold-out MASE per dataset (last window only: trained on all but the final horizon)",
        "",
        markdown_table(holdout),
        "",
        "## Spread of MASE across seeds (max - min)",
        "",
        markdown_table(spread),
        "",
        DEFAULTS_NOTE,
        "",
        "## All runs",
        "",
        markdown_table(results.set_index(["dataset", "model", "seed"])),
        "",
    ]
    Path(path).write_text("\n".join(lines))


def _interval_sections(results, summary, levels):
    """The report's prediction-interval tables: coverage, width and MSIS per model and level."""
    if not levels:
        return []
    from tsrnn.evaluation.suite import markdown_table

    columns = [f"mean_{kind}_{lv}" for lv in levels for kind in ("coverage", "width", "msis")]
    table = summary[columns].rename(columns=lambda c: c[len("mean_") :])
    per_dataset = {
        lv: results.groupby(["dataset", "model"])[f"coverage_{lv}"].mean().unstack("dataset") for lv in levels
    }
    lines = [
        "## Prediction intervals",
        "",
        f"Levels {', '.join(levels)} %, each model's default intervals (`predict(level=...)`): model-based",
        "for AutoARIMA and ETS, conformal for the others (RNNForecaster calibrates on its early-stopping",
        "validation windows, or on refits at earlier cutoffs where those are too few for the level).",
        "`coverage`: share of backtest actuals inside the interval (nominal: the level / 100);",
        "`width`: mean interval width over the in-sample seasonal naive MAE (`tsrnn.metrics.scaled_width`);",
        "`msis`: mean scaled interval score (M4; width plus 2 / alpha times each miss, over the same scale;",
        "lower is better). Means over datasets (each dataset's series averaged first) and seeds.",
        "",
        markdown_table(table),
        "",
    ]
    for lv, frame in per_dataset.items():
        lines += [f"### Coverage of the {lv} % interval per dataset (mean over seeds)", "", markdown_table(frame), ""]
    return lines


def main(argv=None):
    from tsrnn.evaluation.suite import run_suite, summarize

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=None)
    parser.add_argument("--models", default="lstm,gru,rnn,autoarima,ets,seasonalnaive")
    parser.add_argument("--n-windows", type=int, default=3)
    parser.add_argument(
        "--level",
        type=float,
        nargs="*",
        default=[80, 95],
        help="prediction interval levels in percent to score (default 80 95); none: point forecasts only",
    )
    parser.add_argument("--output", default=str(Path(__file__).with_name("ACCURACY.md")))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run_suite(args.models.split(","), args.seeds, args.datasets, args.n_windows, level=args.level or None)
    elapsed = time.perf_counter() - start
    command = "python benchmarks/accuracy.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_report(results, args.output, command.strip(), elapsed)
    results.to_csv(Path(args.output).with_suffix(".csv"), index=False)
    with np.printoptions(precision=3):
        print(summarize(results).round(3).to_string())
    print(f"Report written to {args.output}")


if __name__ == "__main__":
    main()
