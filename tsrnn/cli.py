"""The ``tsrnn`` command: compare models, backtest or forecast a CSV, list data, warm up.

Examples
--------
``tsrnn compare --dataset airpassengers --plot leaderboard.png``
``tsrnn backtest --csv sales.csv --time-col date --value-col units --id-col store --output board.csv``
``tsrnn forecast --csv sales.csv --time-col date --value-col units --id-col store --output forecasts.csv``
``tsrnn datasets``
``tsrnn warmup``
``tsrnn bench --workloads W1 --cells lstm``

The horizon and the season length default to the data's frequency
(:func:`tsrnn.frequencies.default_horizon`, :func:`~tsrnn.frequencies.default_season_length`),
the rule of the accuracy suite. Every user error (a bad option, a missing file or column, data
that cannot be read) ends the command with one line ``tsrnn: error: ...`` on stderr and exit
status 2; options and files are checked before numba and statsmodels load, so a typo costs no
waiting. Results go to stdout (or ``--output``), notes and progress to stderr.
"""

import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path

from .forecasting.registry import MODEL_NAMES, check_model_names, make_models

#: Model parameters settable from the command line: forecaster parameter -> option. Models
#: without the parameter (the baselines) keep their defaults.
MODEL_OPTIONS = {"input_size": "--input-size", "hidden_size": "--hidden-size", "max_epochs": "--max-epochs"}

#: Upper bound (exclusive) of the count options (horizon, sizes, epochs, windows, jobs): far above
#: any real use, low enough that a typo is refused here rather than as a failed allocation later.
MAX_COUNT = 10**6

#: Upper bound (exclusive) of a seed: numpy's random_state takes 32-bit seeds.
MAX_SEED = 2**32


class UsageError(Exception):
    """A problem with the command's options, files or data: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are the one line every other tsrnn error is (no usage dump)."""

    def error(self, message):
        self.exit(2, f"tsrnn: error: {message} (see `{self.prog} --help`)\n")


def _note(message):
    print(message, file=sys.stderr)


# ---------------------------------------------------------------- option types


def _int_at_least(minimum, maximum=MAX_COUNT):
    """An argparse type: an int with ``minimum <= value < maximum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        if value >= maximum:
            kinds = {0: "a non-negative integer", 1: "a positive integer"}
            kind = kinds.get(minimum, f"an integer >= {minimum} and")
            raise argparse.ArgumentTypeError(f"must be {kind} below {maximum}, got {value}")
        return value

    return parse


def _n_jobs(text):
    value = _int_at_least(-MAX_COUNT)(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive number of workers, or -1 for all cores; got 0")
    return value


def _names(text):
    """A comma-separated list of names (column names, dtypes)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"names repeat in {text!r}")
    return names


def _levels(text):
    """Interval levels in percent, each in (0, 100)."""
    levels = []
    for name in _names(text):
        try:
            level = float(name)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected levels in percent such as 80,95; got {text!r}") from None
        if not 0 < level < 100:
            raise argparse.ArgumentTypeError(f"levels are percentages in (0, 100); got {name}")
        levels.append(level)
    return levels


def _models(text):
    names = [n.lower() for n in _names(text)]
    try:
        check_model_names(names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return names


# ---------------------------------------------------------------- checks before the run


def _check_files(args):
    """Input file, output folders and the plot's needs, before any heavy import."""
    csv = getattr(args, "csv", None)
    if csv is not None and not Path(csv).exists():
        raise UsageError(f"--csv {csv}: no such file.")
    if csv is not None and not Path(csv).is_file():  # a folder, /dev/null, a pipe
        raise UsageError(f"--csv {csv}: is not a regular file; give a CSV file.")
    for option in ("output", "forecasts", "plot"):
        path = getattr(args, option, None)
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise UsageError(f"--{option} {path}: the folder {Path(path).resolve().parent} does not exist.")
    if getattr(args, "plot", None) is None:
        return
    if getattr(args, "suite", False):
        raise UsageError("--plot draws one dataset; it does not combine with --suite.")
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib, which is not installed: pip install 'tsrnn[plot]'.")
    import matplotlib

    matplotlib.use("Agg")  # the command writes files, it opens no windows
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(args.plot).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise UsageError(
            f"--plot {args.plot}: unknown image format {suffix!r}; use one of {', '.join(sorted(formats))}."
        )


# ---------------------------------------------------------------- reading a CSV


def _time_column(column, name, path):
    """Integers stay integers; anything else must parse as timestamps."""
    import pandas as pd

    if column.isna().any():
        first = int(column.isna().to_numpy().argmax())
        raise UsageError(
            f"column {name!r} of {path} has {int(column.isna().sum())} empty value(s) (first on line {first + 2})."
        )
    if pd.api.types.is_integer_dtype(column):
        return column
    if pd.api.types.is_numeric_dtype(column):
        # to_datetime would read 1.5 as nanoseconds since 1970: silently wrong
        raise UsageError(f"column {name!r} of {path} holds non-integer numbers; time must be timestamps or integers.")
    try:
        with warnings.catch_warnings():
            # pandas warns when it parses element by element (no one format): a note for programmers
            warnings.simplefilter("ignore", UserWarning)
            return pd.to_datetime(column)
    except (ValueError, TypeError) as error:
        try:  # timestamps with several UTC offsets (a summer-time change): one UTC time line
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return pd.to_datetime(column, utc=True)
        except (ValueError, TypeError):
            pass
        raise UsageError(
            f"column {name!r} of {path} holds neither integers nor timestamps (first value {column.iloc[0]!r}): {error}"
        ) from None


def _numeric_column(column, name, path, allow_empty=None):
    """Numbers as float64; text, true/false or empty cells (outside ``allow_empty``) are errors."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        raise UsageError(f"column {name!r} of {path} holds true/false values; it must hold numbers.")
    values = pd.to_numeric(column, errors="coerce").astype("float64")
    text = values.isna() & column.notna()
    if text.any():
        first = int(text.to_numpy().argmax())
        raise UsageError(
            f"column {name!r} of {path} must hold numbers; line {first + 2} has {column.iloc[first]!r} "
            f"({int(text.sum())} such value(s))."
        )
    empty = values.isna() if allow_empty is None else values.isna() & ~allow_empty
    if empty.any():
        first = int(empty.to_numpy().argmax())
        raise UsageError(
            f"column {name!r} of {path} has {int(empty.sum())} empty value(s) (first on line {first + 2}); "
            "fill or drop them: tsrnn does not guess."
        )
    return values


def _read_frame(path, id_col):
    """The CSV as pandas reads it, except that the id column is the file's text, unchanged.

    Read as numbers, ids ``01`` and ``1`` would merge into one series and ``007`` come back as
    ``7.0``; read with pandas' missing-value markers, an id ``NA`` would be an empty cell.
    A column name that repeats in the header is an error: pandas would rename it ``y.1``.
    """
    import pandas as pd

    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
    for name in dict.fromkeys(header):
        if name and header.count(name) > 1:  # empty names are pandas' "Unnamed: k", never clash
            raise UsageError(f"column {name!r} appears {header.count(name)} times in the CSV header of {path}.")
    frame = pd.read_csv(path, dtype=None if id_col is None or id_col not in header else {id_col: str})
    if id_col is not None and id_col in header:  # a missing id column is reported with the others
        # The ids as the file spells them: without pandas' missing-value markers ("NA" is an id,
        # not a gap), which keep_default_na can only turn off for every column at once.
        ids = pd.read_csv(path, usecols=[id_col], dtype=str, keep_default_na=False)[id_col]
        frame[id_col] = ids  # an empty cell is "" (reported by _read_csv with its line)
    return frame


def _read_csv(args, future=False):
    """The CSV as a long frame ``unique_id, ds, y`` (+ covariates) and the covariates' future rows.

    With ``future`` (``tsrnn forecast``), the rows after a series' last value whose value
    cell is empty hold the known covariates of its forecast steps; they come back as
    ``X_future`` (None when there are none).
    """
    import pandas as pd

    path = Path(args.csv)
    try:
        frame = _read_frame(path, args.id_col)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path} as a CSV file: {' '.join(str(error).split())}") from None
    frame = frame.reset_index(drop=True)
    known, past = args.covariates or [], args.past_covariates or []
    keys = [args.time_col, args.value_col] + ([args.id_col] if args.id_col else [])
    wanted = keys + known + past
    repeated = sorted({c for c in wanted if wanted.count(c) > 1})
    if repeated:
        raise UsageError(f"column(s) {repeated} are named twice among the time, value, id and covariate options.")
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise UsageError(f"{path} has no column(s) {missing}; its columns are {list(frame.columns)}.")
    unused = [c for c in frame.columns if c not in wanted]
    if unused:
        _note(f"tsrnn: ignoring column(s) {unused} of {path.name} (name them in --covariates or --past-covariates).")

    uid = frame[args.id_col] if args.id_col else pd.Series(args.value_col, index=frame.index)
    empty = uid.str.strip() == ""  # ids are read as text: an empty cell is "", not NaN
    if empty.any():
        first = int(empty.to_numpy().argmax())
        raise UsageError(f"column {args.id_col!r} of {path} has empty value(s) (first on line {first + 2}).")
    ds = _time_column(frame[args.time_col], args.time_col, path)
    if future:
        # A row is in the future when no later row of its series has a value.
        observed = frame[args.value_col].notna()
        seen = observed.iloc[::-1].groupby(uid.iloc[::-1].to_numpy(), sort=False).cummax().iloc[::-1]
    else:
        seen = pd.Series(True, index=frame.index)
    long = pd.DataFrame(
        {"unique_id": uid, "ds": ds, "y": _numeric_column(frame[args.value_col], args.value_col, path, ~seen)}
    )
    for name in known:
        long[name] = _numeric_column(frame[name], name, path)
    for name in past:  # only observed up to the forecast origin
        long[name] = _numeric_column(frame[name], name, path, ~seen)
    # A CSV's rows are a set of observations: sorting them loses nothing (the library itself
    # never reorders; duplicates still raise there).
    order = long.sort_values(["unique_id", "ds"], kind="stable").index
    long, seen = long.loc[order].reset_index(drop=True), seen.loc[order].reset_index(drop=True)
    history = long[seen.to_numpy()].reset_index(drop=True)
    if history.empty:
        raise UsageError(f"{path} has no values in column {args.value_col!r}.")
    if not future or seen.all():
        return history, None
    if not known:
        raise UsageError(
            f"column {args.value_col!r} of {path} ends with empty values; these future rows are read only "
            "for the --covariates known in advance (none given): drop them."
        )
    return history, long.loc[~seen.to_numpy(), ["unique_id", "ds", *known]].reset_index(drop=True)


# ---------------------------------------------------------------- models


def _frequency(y):
    from .forecasting.panel import to_panel

    return to_panel(y, use_exog=False).freq


def _defaults(args, freq):
    """Horizon and season length: the options, else the frequency's (tsrnn.frequencies)."""
    from .frequencies import default_horizon, default_season_length

    horizon = args.horizon or default_horizon(freq)
    season_length = args.season_length or default_season_length(freq)
    return horizon, season_length


def _build_models(args, horizon, season_length):
    models = make_models(args.models, horizon, season_length, args.seed)
    given = {p: getattr(args, p) for p in MODEL_OPTIONS if getattr(args, p) is not None}
    past = getattr(args, "past_covariates", None)
    for param in given:
        if not any(param in m.get_params(deep=False) for m in models):
            raise UsageError(f"{MODEL_OPTIONS[param]} sets the neural models (lstm, gru, rnn); --models has none.")
    for model in models:
        params = model.get_params(deep=False)
        model.set_params(**{p: v for p, v in given.items() if p in params})
        if past and "past_covariates" in params:
            model.set_params(past_covariates=list(past))
        elif past and getattr(model, "_uses_exog", False):  # the documented hook flag of BaseForecaster
            # it would read the past covariates as known in advance: a leak in a backtest
            raise UsageError(
                f"{model.alias} takes covariates only as known in advance, not --past-covariates; "
                "leave it out of --models or pass these columns as --covariates."
            )
    return models


# ---------------------------------------------------------------- commands


def _print_table(frame):
    import pandas as pd

    with pd.option_context("display.width", 140, "display.max_columns", 20, "display.precision", 3):
        print(frame.to_string())


def _run_comparison(y, args, horizon, season_length):
    from .evaluation import compare

    models = _build_models(args, horizon, season_length)
    start = time.perf_counter()
    result = compare(
        models,
        y,
        horizon=horizon,
        n_windows=args.n_windows,
        season_length=season_length,
        n_jobs=args.n_jobs,
        progress=not args.quiet,
        level=args.level,
    )
    elapsed = time.perf_counter() - start
    _print_table(result.leaderboard)
    print(
        f"\n{args.n_windows} backtest windows of {horizon} steps (season length {season_length}); "
        f"{elapsed:.1f} s in all."
    )
    if args.output:
        result.leaderboard.to_csv(args.output)
        _note(f"Leaderboard written to {args.output}")
    if args.forecasts:
        result.forecasts.to_csv(args.forecasts, index=False)
        _note(f"Backtest forecasts written to {args.forecasts}")
    if args.plot:
        from .evaluation.plots import plot_comparison

        _save_figure(plot_comparison(result, y), args.plot)
    return result


def _save_figure(figure, path):
    figure.savefig(path, dpi=110)
    _note(f"Plot written to {path}")


def cmd_compare(args):
    from .datasets import list_datasets, load_dataset

    if args.suite:
        return _run_suite(args)
    y = load_dataset(args.dataset)
    info = list_datasets().set_index("name").loc[args.dataset]
    horizon, season_length = _defaults(args, info["frequency"])
    print(f"{args.dataset}: {info['description']} ({info['n_series']} series, frequency {info['frequency']})")
    _run_comparison(y, args, horizon, season_length)


def _run_suite(args):
    from .evaluation.suite import run_suite, summarize

    fixed = ["horizon", "season_length", *MODEL_OPTIONS, "forecasts", "level"]
    given = [f"--{name.replace('_', '-')}" for name in fixed if getattr(args, name) is not None]
    if given:  # the suite's settings are fixed per dataset: say so rather than ignore them
        raise UsageError(f"--suite runs each dataset with its own horizon and default models; drop {', '.join(given)}.")
    results = run_suite(args.models, args.seeds, n_windows=args.n_windows, progress=not args.quiet)
    summary = summarize(results)
    _print_table(summary)
    if args.output:
        summary.to_csv(args.output)
        _note(f"Suite summary written to {args.output}")


def cmd_backtest(args):
    y, _ = _read_csv(args)
    horizon, season_length = _defaults(args, _frequency(y))
    _run_comparison(y, args, horizon, season_length)


def _future_steps(history, X_future, horizon):
    """The horizon the future covariate rows give: as many rows for every series.

    README promises that the horizon is the number of future rows; a ``--horizon`` that
    disagrees would leave rows unread (or steps without covariates), so it is an error.
    """
    ids = history["unique_id"].drop_duplicates()
    steps = X_future.groupby("unique_id", sort=False).size().reindex(ids, fill_value=0)
    if steps.nunique() != 1:
        counts = {str(k): int(v) for k, v in steps.head(5).items()}
        raise UsageError(
            f"the series have different numbers of future covariate rows ({counts}{'...' if len(steps) > 5 else ''}); "
            "give every series as many future rows as forecast steps."
        )
    rows = int(steps.iloc[0])
    if horizon is not None and horizon != rows:
        raise UsageError(
            f"--horizon {horizon} disagrees with the {rows} future covariate rows of each series "
            f"(the horizon is their number); drop --horizon or give {horizon} future rows per series."
        )
    return rows


def cmd_forecast(args):
    """Fit every model on all the data; write the forecasts (and intervals) as one tidy CSV."""
    history, X_future = _read_csv(args, future=True)
    if X_future is not None:
        args.horizon = _future_steps(history, X_future, args.horizon)
    horizon, season_length = _defaults(args, _frequency(history))
    forecasts = None
    for model in _build_models(args, horizon, season_length):
        start = time.perf_counter()
        forecast = model.fit(history).predict(horizon, X_future, level=args.level)
        if not args.quiet:
            _note(f"{model.alias}: fitted and forecast in {time.perf_counter() - start:.1f} s")
        forecasts = forecast if forecasts is None else forecasts.merge(forecast, on=["unique_id", "ds"], how="outer")
    n_series = forecasts["unique_id"].nunique()
    if args.output:
        forecasts.to_csv(args.output, index=False)
        _note(
            f"Forecasts of {n_series} series, {horizon} steps (season length {season_length}), written to {args.output}"
        )
    else:
        forecasts.to_csv(sys.stdout, index=False)
    if args.plot:
        from .evaluation.plots import plot_forecasts

        _save_figure(plot_forecasts(forecasts, history, history=4 * horizon), args.plot)


def cmd_datasets(args):
    import pandas as pd

    from .datasets import list_datasets

    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(list_datasets().to_string(index=False))


def cmd_warmup(args):
    """Compile (or load from the cache) every kernel a fit or forecast needs, with progress."""
    from .kernels import CELLS, get_cell
    from .kernels.announce import cache_location
    from .kernels.warmup import warmup

    cells = [c for c in args.cells.split(",") if c] if args.cells else list(CELLS)
    dtypes = [d for d in args.dtypes.split(",") if d]
    for cell in cells:
        get_cell(cell)  # an unknown name fails here, before any compilation
    for dtype in dtypes:
        if dtype not in ("float32", "float64"):
            raise ValueError(f"Unknown dtype {dtype!r} in --dtypes; expected float32 and/or float64.")
    print(f"Compiling tsrnn's kernels into {cache_location()} (once per machine; later processes load them).")
    start = time.perf_counter()
    warmup(cells, dtypes=dtypes, progress=lambda line: print(f"  {line}", flush=True), n_jobs=args.jobs)
    print(f"Kernels ready in {time.perf_counter() - start:.1f} s.")


def build_parser():
    from . import __version__

    parser = _Parser(prog="tsrnn", description="Fast RNN/LSTM/GRU forecasting on the CPU.")
    parser.add_argument("--version", action="version", version=f"tsrnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    at_least_1 = _int_at_least(1)

    def add_model_options(p):
        names = ",".join(MODEL_NAMES)
        p.add_argument("--models", type=_models, default=list(MODEL_NAMES), help=f"comma-separated, among {names}")
        p.add_argument("--horizon", type=at_least_1, default=None, help="forecast steps (default: from the frequency)")
        p.add_argument(
            "--season-length", type=at_least_1, default=None, help="seasonal period (default: from the frequency)"
        )
        p.add_argument("--input-size", type=at_least_1, default=None, help="past steps the networks read")
        p.add_argument("--hidden-size", type=at_least_1, default=None, help="hidden units of the networks (64)")
        p.add_argument("--max-epochs", type=at_least_1, default=None, help="training epochs at most (200)")
        p.add_argument(
            "--seed", type=_int_at_least(0, MAX_SEED), default=0, help="random_state of the networks (default 0)"
        )
        p.add_argument("--quiet", action="store_true", help="no progress")

    def add_level_option(p, text):
        p.add_argument("--level", type=_levels, default=None, metavar="80,95", help=text)

    def add_comparison_options(p):
        p.add_argument("--n-windows", type=at_least_1, default=3, help="backtest windows (default 3)")
        p.add_argument("--n-jobs", type=_n_jobs, default=1, help="parallel (model, window) fits (default 1)")
        p.add_argument("--output", default=None, metavar="CSV", help="write the leaderboard to this CSV file")
        p.add_argument("--forecasts", default=None, metavar="CSV", help="write the backtest forecasts to this CSV file")
        p.add_argument("--plot", default=None, metavar="PNG", help="draw forecasts and leaderboard to this image")
        add_level_option(p, "also score prediction intervals at these levels (%%): coverage, interval score")

    def add_csv_options(p):
        p.add_argument("--csv", required=True, help="file with one row per (series, time)")
        p.add_argument("--time-col", required=True, help="timestamps or integer time")
        p.add_argument("--value-col", required=True, help="the values to forecast")
        p.add_argument("--id-col", default=None, help="series identifier, for several series")
        p.add_argument(
            "--covariates", type=_names, default=[], metavar="A,B", help="covariate columns known in advance"
        )
        p.add_argument(
            "--past-covariates", type=_names, default=[], metavar="C", help="covariate columns known only up to now"
        )

    p = sub.add_parser("compare", help="backtest LSTM, GRU, RNN, AutoARIMA, ETS, SeasonalNaive on a bundled dataset")
    p.add_argument("--dataset", default="airpassengers", help="see `tsrnn datasets` (default airpassengers)")
    p.add_argument("--suite", action="store_true", help="run every bundled dataset (the accuracy suite) instead")
    p.add_argument(
        "--seeds",
        type=lambda s: [_int_at_least(0, MAX_SEED)(x) for x in _names(s)],
        default=[0, 1, 2],
        help="with --suite",
    )
    add_model_options(p)
    add_comparison_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("backtest", help="backtest the models on your own CSV")
    add_csv_options(p)
    add_model_options(p)
    add_comparison_options(p)
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("forecast", help="fit the models on all of your CSV and write their forecasts")
    add_csv_options(p)
    add_model_options(p)
    add_level_option(p, "add prediction intervals at these levels (%%)")
    p.add_argument("--output", default=None, metavar="CSV", help="forecasts file (default: stdout)")
    p.add_argument("--plot", default=None, metavar="PNG", help="draw the forecasts after the history to this image")
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("datasets", help="list the bundled datasets")
    p.set_defaults(func=cmd_datasets)

    sub.add_parser(
        "bench",
        help="speed of the kernels vs PyTorch and the sgemm peak (`tsrnn bench --help`; `--device cuda`: the GPU's)",
    )

    p = sub.add_parser("warmup", help="compile all kernels ahead of time (cached on disk)")
    p.add_argument("--cells", default=None, help="comma-separated cells among rnn,lstm,gru (default: all)")
    p.add_argument("--dtypes", default="float32", help="comma-separated: float32,float64")
    p.add_argument("--jobs", type=_int_at_least(1), default=1, help="compile the cells in this many processes at once")
    p.set_defaults(func=cmd_warmup)
    return parser


def run_benchmark(argv):
    """``tsrnn bench``: run ``benchmarks/speed.py`` of the source checkout this package is in
    (``benchmarks/gpu.py`` with ``--device cuda``).

    The harness (PyTorch comparison, sgemm peak, profile) is development
    tooling and is not installed with the package; from an installed wheel this
    explains where to get it.
    """
    import runpy

    name = "speed.py"
    if "--device" in argv:  # tsrnn bench --device cuda: the GPU benchmark (benchmarks/gpu.py)
        at = argv.index("--device")
        device = argv[at + 1] if at + 1 < len(argv) else None
        if device not in ("cpu", "cuda"):
            print("tsrnn: error: tsrnn bench --device takes 'cpu' or 'cuda'", file=sys.stderr)
            return 2
        argv = argv[:at] + argv[at + 2 :]
        name = "gpu.py" if device == "cuda" else name
    script = Path(__file__).resolve().parent.parent / "benchmarks" / name
    if not script.is_file():
        print(
            f"tsrnn: error: tsrnn bench runs benchmarks/{name} from a source checkout of tsrnn "
            f"(not found at {script}); clone the repository and install it with pip install -e .",
            file=sys.stderr,
        )
        return 2
    return runpy.run_path(str(script))["main"](argv, prog="tsrnn bench")  # gpu.py: exit 2 without a GPU


def main(argv=None):
    """Entry point of the ``tsrnn`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after ``tsrnn``; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 on a user error (reported as one line on stderr), 130 when
        interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # the speed benchmark has its own options (benchmarks/speed.py)
        return run_benchmark(argv[1:])
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version (0) or an argument error (2, already reported)
        return stop.code
    try:
        _check_files(args)
        args.func(args)
    except (UsageError, ValueError, TypeError, OSError) as error:
        # bad options or data: one clear line, no traceback
        print(f"tsrnn: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tsrnn: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
