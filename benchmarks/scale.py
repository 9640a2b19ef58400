"""Scale benchmark: many series, joblib workers and a Dask cluster (issue 15).

Every configuration runs in a fresh Python process (so one row's memory does not carry
into the next) and reports its wall time, the peak resident memory the run added over the
process tree (this process and, for the cluster rows, its worker processes; sampled every
50 ms, so spikes shorter than that are missed) and, for the global network, windows per
second. Configurations (``--configs``):

- ``fit``: ``RNNForecaster(cell="gru", horizon=7, input_size=28, hidden_size=32,
  max_epochs=1, batch_size=--batch-size)`` (default 'auto') fitted on all series (the numba kernels use
  both cores; there is no ``n_jobs`` for one global fit). Windows per second counts every
  input window of the panel (training and validation) over the fit's wall time.
- ``predict``: ``model.predict()`` of that model serial, and over partitions on the
  cluster (:func:`tsrnn.forecasting.distributed.predict`). To keep the row about
  prediction, the model is fitted on the last 60 points of every series and then
  conditioned on the whole history (``update``), which is what the forecast reads.
  The row also reports what is shipped: the pickled global part (once per worker) and
  the largest partition (rows + per-series state), against the whole fitted model.
- ``backtest``: ``backtest(rnn, y, horizon=7, n_windows=3, refit=False)`` serial, with
  ``n_jobs=2`` (joblib, loky) and with ``backend="dask"``; the global fit on the first
  window is in the time (one epoch).
- ``ets``, ``arima``: per-series models (``ETS(season_length=7)`` and
  ``AutoARIMA(season_length=7)``; ``--per-series-spec fast`` uses a fixed
  ``ETS(seasonal="add", auto=False)`` and an ``AutoARIMA`` without seasonal terms and
  ``max_p=max_q=2``) fitted and forecast serially and on the cluster
  (:func:`tsrnn.forecasting.distributed.forecast`).

Modes: ``serial``, ``jobs2`` (``n_jobs=2``, where a function takes it) and ``dask`` (a
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` started, and its
workers warmed up, before the clock starts; its start is reported apart).

Synthetic daily series (seeded): a level, a trend, a weekly season of random phase and
amplitude, and noise, ``--length`` points each. Run from a source checkout::

    python benchmarks/scale.py --series 1000 --configs predict backtest
    python benchmarks/scale.py --series 1000 10000 --configs fit --batch-size 512
    python benchmarks/scale.py --configs ets arima --per-series 1000 --length 500
    python benchmarks/scale.py --series 1000 --configs fit --output benchmarks/RESULTS.md

``--output`` appends the table and the command to a markdown file.
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd

RNN_PARAMS = dict(cell="gru", horizon=7, input_size=28, hidden_size=32, max_epochs=1, random_state=0)
MODES = {"fit": ("serial",), "predict": ("serial", "dask"), "backtest": ("serial", "jobs2", "dask")}
PER_SERIES_MODES = ("serial", "dask")


def make_panel(n_series, length, seed=0):
    """Long frame ``unique_id, ds, y`` of ``n_series`` synthetic daily series."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(10, 100, (n_series, 1))
    trend = rng.normal(0, 0.02, (n_series, 1)) * level / 10
    amplitude = rng.uniform(0.05, 0.3, (n_series, 1)) * level
    phase = rng.uniform(0, 2 * np.pi, (n_series, 1))
    noise = rng.normal(0, 1, (n_series, length)) * amplitude * 0.3
    y = level + trend * t + amplitude * np.sin(2 * np.pi * t / 7 + phase) + noise
    ids = np.array([f"s{i:06d}" for i in range(n_series)])
    return pd.DataFrame(
        {
            "unique_id": np.repeat(ids, length),
            "ds": np.tile(pd.date_range("2020-01-01", periods=length, freq="D").to_numpy(), n_series),
            "y": y.ravel(),
        }
    )


class PeakRSS:
    """Peak resident memory of this process and its children, sampled in a thread.

    The list of children is refreshed every second only: walking the process tree at
    every sample cost the driver ~15 % of a core, taken from the workers it measures.
    """

    def __init__(self, interval=0.05):
        import psutil

        self.process, self.interval = psutil.Process(), interval
        self.children, self.listed = [], 0.0
        self.baseline = self.peak = self.current()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self):
        if time.monotonic() - self.listed > 1.0:
            self.children, self.listed = self.process.children(recursive=True), time.monotonic()
        total = self.process.memory_info().rss
        for child in self.children:
            try:
                total += child.memory_info().rss
            except Exception:  # a child may exit between listing and reading
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())

    @property
    def growth_mb(self):
        return (self.peak - self.baseline) / 2**20


def _cluster():
    import distributed

    start = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    client = distributed.Client(cluster)
    # import the modules the tasks need and load the kernels, outside the timed run
    client.run(_warm_worker)
    return cluster, client, time.perf_counter() - start


def _warm_worker():
    # what the first task would otherwise import inside the timed run (statsmodels: ~2 s)
    import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401
    import statsmodels.tsa.statespace.sarimax  # noqa: F401

    import tsrnn.forecasting.arima  # noqa: F401
    import tsrnn.forecasting.ets  # noqa: F401
    from tsrnn.kernels.warmup import warmup

    warmup(cells=("gru",))


def _n_windows(n_series, length):
    return n_series * (length - RNN_PARAMS["input_size"] - RNN_PARAMS["horizon"] + 1)


def _pickled_mb(obj):
    return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)) / 2**20


def run_one(config):
    """One configuration in this process; returns its row (a dict)."""
    from tsrnn.forecasting import ETS, AutoARIMA, RNNForecaster
    from tsrnn.forecasting import distributed as td
    from tsrnn.forecasting.backtest import backtest
    from tsrnn.kernels.warmup import warmup

    kind, n, length, mode = config["kind"], config["series"], config["length"], config["mode"]
    row = dict(config)
    df = make_panel(n, length)
    row["frame_mb"] = round(df.memory_usage(deep=True).sum() / 2**20, 1)
    warmup(cells=("gru",))
    cluster = client = None
    if mode == "dask":
        cluster, client, start_s = _cluster()
        row["cluster_start_s"] = round(start_s, 1)
    params = dict(RNN_PARAMS, batch_size=config["batch_size"])
    try:
        model = None
        if kind == "predict":
            short = df.groupby("unique_id", sort=False).tail(60)
            model = RNNForecaster(**params).fit(short).update(df)
            row["model_mb"] = round(_pickled_mb(model), 2)
            row["global_part_mb"] = round(_pickled_mb(td.split_model(model)), 3)
        if kind in ("ets", "arima"):
            fast = config["spec"] == "fast"
            if kind == "ets":
                model = ETS(seasonal="add", season_length=7, auto=False) if fast else ETS(season_length=7)
            else:
                model = AutoARIMA(max_p=2, max_q=2, max_P=0, max_Q=0, max_D=0) if fast else AutoARIMA(season_length=7)
            row["model"] = repr(model)
        with PeakRSS() as memory:
            start = time.perf_counter()
            if kind == "fit":
                RNNForecaster(**params).fit(df)
            elif kind == "predict" and mode == "serial":
                model.predict()
            elif kind == "predict":
                td.predict(model)
            elif kind == "backtest":
                extra = {"serial": {}, "jobs2": {"n_jobs": 2}, "dask": {"backend": "dask"}}[mode]
                backtest(RNNForecaster(**params), df, horizon=7, n_windows=3, refit=False, **extra)
            elif mode == "serial":
                model.forecast(df, h=7)
            else:
                td.forecast(model, df, h=7)
            row["seconds"] = round(time.perf_counter() - start, 2)
        row["peak_growth_mb"] = round(memory.growth_mb, 1)
        if kind == "predict" and mode == "dask":
            # what each task received besides the global part: its rows and per-series state
            bounds = td.partition_bounds(model.panel_.indptr, td._n_partitions(client, None, n))
            row["largest_partition_mb"] = round(
                max(
                    _pickled_mb((td.take_series(model.panel_, a, b), td.series_state(model, a, b)))
                    for a, b in zip(bounds[:-1], bounds[1:])
                ),
                2,
            )
        if kind == "fit":
            row["windows_per_s"] = round(_n_windows(n, length) / row["seconds"])
        if kind in ("ets", "arima"):
            row["s_per_series"] = round(row["seconds"] / n, 4)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    return row


def configurations(args):
    configs = []
    for kind in args.configs:
        if kind in ("ets", "arima"):
            for mode in PER_SERIES_MODES:
                configs.append(dict(kind=kind, series=args.per_series, length=args.length, mode=mode))
            continue
        for n in args.series:
            for mode in MODES[kind]:
                configs.append(dict(kind=kind, series=n, length=args.length, mode=mode))
    for config in configs:
        config["batch_size"] = args.batch_size
        config["spec"] = args.per_series_spec
    return configs


def table(rows):
    columns = [
        "kind",
        "series",
        "length",
        "mode",
        "batch_size",
        "seconds",
        "peak_growth_mb",
        "frame_mb",
        "windows_per_s",
        "s_per_series",
        "model_mb",
        "global_part_mb",
        "largest_partition_mb",
        "cluster_start_s",
    ]
    frame = pd.DataFrame(rows)
    frame = frame[[c for c in columns if c in frame]]
    frame = frame[[c for c in frame if frame[c].notna().any()]].astype(object).where(frame.notna(), "")
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["fit", "predict", "backtest", "ets", "arima"],
        choices=["fit", "predict", "backtest", "ets", "arima"],
    )
    parser.add_argument(
        "--series",
        nargs="+",
        type=int,
        default=[1000, 10000, 30000],
        help="panel sizes for fit/predict/backtest (default 1000 10000 30000)",
    )
    parser.add_argument("--per-series", type=int, default=1000, help="series for ets/arima (default 1000)")
    parser.add_argument("--per-series-spec", choices=["full", "fast"], default="full")
    parser.add_argument("--length", type=int, default=500, help="points per series (default 500)")
    parser.add_argument(
        "--batch-size",
        type=lambda v: v if v == "auto" else int(v),
        default="auto",
        help="RNNForecaster batch_size: an int or 'auto' (default, the forecaster's own default)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    parser.add_argument("--output", help="append the table and the command to this markdown file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print("ROW " + json.dumps(run_one(json.loads(args.child))), flush=True)
        return

    rows = []
    for config in configurations(args):
        command = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(config)]
        print(f"-- {config['kind']} {config['series']} x {config['length']} {config['mode']}", flush=True)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            rows.append(dict(config, seconds=f"> {args.timeout:g} (stopped)"))
            continue
        lines = [line for line in done.stdout.splitlines() if line.startswith("ROW ")]
        if done.returncode or not lines:
            print(done.stderr[-2000:], file=sys.stderr)
            rows.append(dict(config, seconds="failed"))
            continue
        rows.append(json.loads(lines[-1][4:]))
        print(json.dumps(rows[-1]), flush=True)
    text = table(rows)
    print(text)
    if args.output:
        command = "python benchmarks/scale.py " + " ".join(sys.argv[1:])
        with open(args.output, "a") as f:
            f.write(f"\n`{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}):\n\n{text}\n")


if __name__ == "__main__":
    main()
