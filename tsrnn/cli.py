"""The ``tsrnn`` command: compare models on a dataset, backtest a CSV, list data, warm up.

Examples
--------
``tsrnn compare --dataset airpassengers --horizon 12 --plot leaderboard.png``
``tsrnn backtest --csv sales.csv --time-col date --value-col units --id-col store``
``tsrnn datasets``
``tsrnn warmup``
``tsrnn bench --workloads W1 --cells lstm``
"""

import argparse
import sys
import time

from .forecasting.registry import MODEL_NAMES, check_model_names, make_models


def _model_names(args):
    """The names given to ``--models``; an unknown one ends the command with a message."""
    names = args.models.split(",")
    try:
        check_model_names(names)
    except ValueError as error:
        raise SystemExit(f"tsrnn: {error}") from None
    return names


def _run_comparison(y, args, season_length):
    from .evaluation import compare

    models = make_models(_model_names(args), args.horizon, season_length, args.seed)
    start = time.perf_counter()
    result = compare(
        models,
        y,
        horizon=args.horizon,
        n_windows=args.n_windows,
        season_length=season_length,
        n_jobs=args.n_jobs,
        progress=not args.quiet,
    )
    elapsed = time.perf_counter() - start
    import pandas as pd

    with pd.option_context("display.width", 120, "display.max_columns", 20, "display.precision", 3):
        print(result.leaderboard.to_string())
    print(f"\n{args.n_windows} backtest windows of {args.horizon} steps; {elapsed:.1f} s in all.")
    if args.plot:
        _save_plot(result, y, args.plot)
    return result


def _save_plot(result, y, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .evaluation import plot_forecasts, plot_leaderboard

    fig, (ax_forecast, ax_board) = plt.subplots(1, 2, figsize=(14, 5))
    last_cutoff = result.forecasts["cutoff"].max()
    plot_forecasts(result.forecasts[result.forecasts["cutoff"] == last_cutoff], y, ax=ax_forecast)
    plot_leaderboard(result.leaderboard, ax=ax_board)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"Plot written to {path}")


def cmd_compare(args):
    from .datasets import list_datasets, load_dataset

    if args.suite:
        return _run_suite(args)
    y = load_dataset(args.dataset)
    info = list_datasets().set_index("name").loc[args.dataset]
    season_length = args.season_length or int(info["season_length"])
    print(f"{args.dataset}: {info['description']} ({info['n_series']} series, frequency {info['frequency']})")
    _run_comparison(y, args, season_length)


def _run_suite(args):
    from .evaluation.suite import run_suite, summarize

    seeds = [int(s) for s in args.seeds.split(",")]
    results = run_suite(_model_names(args), seeds, n_windows=args.n_windows, progress=not args.quiet)
    import pandas as pd

    with pd.option_context("display.width", 140, "display.precision", 3):
        print(summarize(results).to_string())


def cmd_backtest(args):
    import pandas as pd

    frame = pd.read_csv(args.csv)
    missing = [c for c in (args.time_col, args.value_col, args.id_col) if c and c not in frame.columns]
    if missing:
        raise SystemExit(f"tsrnn: {args.csv} has no column(s) {missing}; its columns are {list(frame.columns)}.")
    ds = frame[args.time_col]
    if not pd.api.types.is_integer_dtype(ds):
        ds = pd.to_datetime(ds)
    if args.id_col:
        y = pd.DataFrame({"unique_id": frame[args.id_col], "ds": ds, "y": frame[args.value_col]})
    else:
        values = frame[args.value_col].to_numpy(dtype=float)
        y = pd.Series(values, index=pd.Index(ds, name=args.time_col), name=args.value_col)
        if isinstance(y.index, pd.DatetimeIndex):
            y.index.freq = pd.infer_freq(y.index)
    season_length = args.season_length
    if season_length is None:
        from .forecasting.panel import to_panel
        from .frequencies import default_season_length

        season_length = default_season_length(to_panel(y).freq)
    _run_comparison(y, args, season_length)


def cmd_datasets(args):
    import pandas as pd

    from .datasets import list_datasets

    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(list_datasets().to_string(index=False))


def cmd_warmup(args):
    """Compile (or load from the cache) every kernel a fit or forecast needs."""
    from .kernels import CELLS
    from .kernels.warmup import warmup

    start = time.perf_counter()
    warmup(list(CELLS), dtypes=args.dtypes.split(","))
    print(f"Kernels ready in {time.perf_counter() - start:.1f} s.")


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(prog="tsrnn", description="Fast RNN/LSTM/GRU forecasting on the CPU.")
    parser.add_argument("--version", action="version", version=f"tsrnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_comparison_options(p):
        p.add_argument("--horizon", type=int, default=12, help="forecast steps (default 12)")
        p.add_argument("--n-windows", type=int, default=3, help="backtest windows (default 3)")
        p.add_argument("--season-length", type=int, default=None, help="seasonal period (default: from the frequency)")
        names = ",".join(MODEL_NAMES)
        p.add_argument("--models", default=names, help=f"comma-separated, among {names}")
        p.add_argument("--seed", type=int, default=0, help="random_state of the neural models (default 0)")
        p.add_argument("--n-jobs", type=int, default=1, help="parallel (model, window) fits (default 1)")
        p.add_argument("--plot", default=None, metavar="PNG", help="write forecasts and leaderboard to this file")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("compare", help="backtest LSTM, GRU, RNN, AutoARIMA, ETS, SeasonalNaive on a bundled dataset")
    p.add_argument("--dataset", default="airpassengers", help="see `tsrnn datasets` (default airpassengers)")
    p.add_argument("--suite", action="store_true", help="run every bundled dataset (the accuracy suite) instead")
    p.add_argument("--seeds", default="0,1,2", help="with --suite: seeds of the neural models (default 0,1,2)")
    add_comparison_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("backtest", help="backtest the models on your own CSV")
    p.add_argument("--csv", required=True, help="file with one row per (series, time)")
    p.add_argument("--time-col", required=True, help="timestamps or integer time")
    p.add_argument("--value-col", required=True, help="the values to forecast")
    p.add_argument("--id-col", default=None, help="series identifier, for several series")
    add_comparison_options(p)
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("datasets", help="list the bundled datasets")
    p.set_defaults(func=cmd_datasets)

    sub.add_parser("bench", help="speed of the kernels vs PyTorch and the sgemm peak (`tsrnn bench --help`)")

    p = sub.add_parser("warmup", help="compile all kernels ahead of time (cached on disk)")
    p.add_argument("--dtypes", default="float32", help="comma-separated: float32,float64")
    p.set_defaults(func=cmd_warmup)
    return parser


def run_benchmark(argv):
    """``tsrnn bench``: run ``benchmarks/speed.py`` of the source checkout this package is in.

    The harness (PyTorch comparison, sgemm peak, profile) is development
    tooling and is not installed with the package; from an installed wheel this
    explains where to get it.
    """
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "speed.py"
    if not script.is_file():
        print(
            "tsrnn: error: tsrnn bench runs benchmarks/speed.py from a source checkout of tsrnn "
            f"(not found at {script}); clone the repository and install it with pip install -e .",
            file=sys.stderr,
        )
        return 2
    return runpy.run_path(str(script))["main"](argv, prog="tsrnn bench")


def main(argv=None):
    """Entry point of the ``tsrnn`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # the speed benchmark has its own options (benchmarks/speed.py)
        return run_benchmark(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ValueError as exc:  # bad input: one clear line, no traceback
        print(f"tsrnn: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
