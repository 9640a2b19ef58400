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

MODEL_NAMES = ("lstm", "gru", "rnn", "autoarima", "ets", "seasonalnaive")


def make_models(names, horizon, season_length, seed):
    """Build the named forecasters with their default settings.

    Parameters
    ----------
    names : sequence of str
        Among ``MODEL_NAMES``.
    horizon, season_length : int
    seed : int
        ``random_state`` of the neural models.

    Returns
    -------
    list of BaseForecaster
    """
    from .forecasting import ETS, AutoARIMA, SeasonalNaive
    from .forecasting.rnn import RNNForecaster

    factories = {
        "lstm": lambda: RNNForecaster("lstm", horizon, season_length=season_length, random_state=seed),
        "gru": lambda: RNNForecaster("gru", horizon, season_length=season_length, random_state=seed),
        "rnn": lambda: RNNForecaster("rnn", horizon, season_length=season_length, random_state=seed),
        "autoarima": lambda: AutoARIMA(season_length=season_length),
        "ets": lambda: ETS(season_length=season_length),
        "seasonalnaive": lambda: SeasonalNaive(season_length=season_length),
    }
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise SystemExit(f"tsrnn: unknown model(s) {unknown}; choose from {', '.join(MODEL_NAMES)}.")
    return [factories[n]() for n in names]


def _run_comparison(y, args, season_length):
    from .evaluation import compare

    models = make_models(args.models.split(","), args.horizon, season_length, args.seed)
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
    results = run_suite(args.models.split(","), seeds, n_windows=args.n_windows, progress=not args.quiet)
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
        y = pd.Series(frame[args.value_col].to_numpy(dtype=float), index=pd.Index(ds, name=args.time_col), name=args.value_col)
        if isinstance(y.index, pd.DatetimeIndex):
            y.index.freq = pd.infer_freq(y.index)
    season_length = args.season_length
    if season_length is None:
        from .forecasting._panel import default_season_length, to_panel

        season_length = default_season_length(to_panel(y).freq)
    _run_comparison(y, args, season_length)


def cmd_datasets(args):
    from .datasets import list_datasets

    import pandas as pd

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
    parser = argparse.ArgumentParser(prog="tsrnn", description="Fast RNN/LSTM/GRU forecasting on the CPU.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_comparison_options(p):
        p.add_argument("--horizon", type=int, default=12, help="forecast steps (default 12)")
        p.add_argument("--n-windows", type=int, default=3, help="backtest windows (default 3)")
        p.add_argument("--season-length", type=int, default=None, help="seasonal period (default: from the frequency)")
        p.add_argument("--models", default=",".join(MODEL_NAMES), help=f"comma-separated, among {','.join(MODEL_NAMES)}")
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


def main(argv=None):
    """Entry point of the ``tsrnn`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # the speed benchmark has its own options (see tsrnn.bench)
        from .bench import build_parser as bench_parser, run_from_args

        return run_from_args(bench_parser().parse_args(argv[1:]), " ".join(["tsrnn", *argv]))
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ValueError as exc:  # bad input: one clear line, no traceback
        print(f"tsrnn: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
