"""Peak memory and time of one global RNNForecaster fit on many daily series (issue 15).

Each size runs in a fresh subprocess (so peaks never mix): it builds a long frame
``unique_id, ds, y`` of ``--series`` daily series of ``--points`` values (string ids,
datetime64 ``ds``, float64 ``y``: 24 bytes a row), fits the issue's configuration
``RNNForecaster(cell='gru', horizon=7, input_size=28, hidden_size=32, max_epochs=1)``
once on 3 series first (so loading or compiling the kernels is not counted), then resets
the process's peak resident set (``/proc/self/clear_refs``) and fits on the whole frame.
The growth is ``VmHWM`` after the fit minus ``VmRSS`` before it; a thread polling
``VmRSS`` every 5 ms attributes the peak to the stage running at that moment (the
linear stage, the trainer, the validation residuals, the rest of ``fit``), and
``predict()`` is timed and measured the same way afterwards.

Run (from the repository root; Linux only, it reads ``/proc``)::

    NUMBA_CACHE_DIR=/tmp/nbc_shared .venv/bin/python benchmarks/scale_memory.py \\
        --series 1000 10000 --points 500 --batch-size 512

``--linear-base none`` fits without the linear stage; ``--tracemalloc`` adds the
tracemalloc peak of the linear stage alone (slower). Timings are wall-clock seconds
on whatever else the machine is running.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB -> bytes
    raise RuntimeError(f"{field} not in /proc/self/status")


class _Poller(threading.Thread):
    """Samples VmRSS and remembers the largest value seen in each stage."""

    def __init__(self, interval=0.005):
        super().__init__(daemon=True)
        self.interval, self.stage, self.peaks, self.running = interval, "setup", {}, True

    def run(self):
        while self.running:
            rss = _status("VmRSS")
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), rss)
            time.sleep(self.interval)


def _frame(n_series, n_points, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(n_points)
    level = rng.normal(100.0, 20.0, size=(n_series, 1))
    weekly = rng.normal(0.0, 5.0, size=(n_series, 1)) * np.sin(2 * np.pi * t / 7)
    walk = np.cumsum(rng.normal(0.0, 1.0, size=(n_series, n_points)), axis=1)
    y = (level + weekly + walk).ravel()
    ids = np.array([f"s{i:06d}" for i in range(n_series)], dtype=object)
    return pd.DataFrame(
        {
            "unique_id": np.repeat(ids, n_points),
            "ds": np.tile(pd.date_range("2020-01-01", periods=n_points, freq="D").to_numpy(), n_series),
            "y": y,
        }
    )


def _child(args):
    import numpy as np

    import tsrnn.forecasting.rnn as rnn_module
    from tsrnn.forecasting import RNNForecaster

    linear_base = None if args.linear_base == "none" else args.linear_base
    params = dict(
        cell="gru",
        horizon=7,
        input_size=28,
        hidden_size=32,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        linear_base=linear_base,
        random_state=0,
    )
    df = _frame(args.series, args.points)
    RNNForecaster(**params).fit(_frame(3, args.points, seed=1))  # load/compile the kernels first

    poller = _Poller()
    times = {}

    def staged(name, function):
        def wrapper(*a, **k):
            previous, poller.stage = poller.stage, name
            start = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - start
                poller.stage = previous

        return wrapper

    rnn_module.fit_linear_base = staged("linear", rnn_module.fit_linear_base)
    rnn_module.Trainer.fit = staged("train", rnn_module.Trainer.fit)
    cls = rnn_module.RNNForecaster
    cls._validation_residuals = staged("residuals", cls._validation_residuals)

    tm_peak = None
    if args.tracemalloc:
        import tracemalloc

        original = rnn_module.fit_linear_base

        def traced(*a, **k):
            tracemalloc.start()
            try:
                return original(*a, **k)
            finally:
                nonlocal tm_peak
                tm_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()

        rnn_module.fit_linear_base = traced

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident set
    before = _status("VmRSS")
    poller.stage = "fit (other)"
    poller.start()
    start = time.perf_counter()
    model = RNNForecaster(**params).fit(df)
    fit_seconds = time.perf_counter() - start
    fit_hwm = _status("VmHWM")
    after_fit = _status("VmRSS")
    poller.stage = "predict"
    start = time.perf_counter()
    forecast = model.predict()
    predict_seconds = time.perf_counter() - start
    poller.running = False
    poller.join()
    n_windows = int(args.series * (args.points - 28 - 7 + 1))
    result = dict(
        series=args.series,
        points=args.points,
        batch_size=args.batch_size,
        linear_base=args.linear_base,
        frame_mb=df.memory_usage(index=True, deep=False).sum() / 2**20,
        windows=n_windows,
        fit_growth_mb=(fit_hwm - before) / 2**20,
        retained_mb=(after_fit - before) / 2**20,
        stage_growth_mb={k: (v - before) / 2**20 for k, v in poller.peaks.items()},
        fit_seconds=fit_seconds,
        stage_seconds=times,
        predict_seconds=predict_seconds,
        tracemalloc_linear_mb=None if tm_peak is None else tm_peak / 2**20,
        use_level=None if model.linear_base_ is None else bool(model.linear_base_.use_level),
        forecast_rows=len(forecast),
        finite=bool(np.isfinite(forecast[model.alias]).all()),
    )
    print("RESULT " + json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--linear-base", default="auto", choices=["auto", "changes", "levels", "none"])
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (args.series,) = args.series
        return _child(args)
    rows = []
    for n in args.series:
        command = [sys.executable, os.path.abspath(__file__), "--child", "--series", str(n)]
        command += ["--points", str(args.points), "--batch-size", str(args.batch_size)]
        command += ["--max-epochs", str(args.max_epochs), "--linear-base", args.linear_base]
        command += ["--tracemalloc"] if args.tracemalloc else []
        done = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            print(done.stdout + done.stderr, file=sys.stderr)
            raise SystemExit(f"the run for {n} series failed (exit {done.returncode})")
        rows.append(json.loads(lines[-1][len("RESULT ") :]))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    header = f"{'series':>7} {'windows':>9} {'frame MB':>9} {'growth MB':>10} {'x frame':>8} {'fit s':>7}"
    header += f" {'linear s':>9} {'train s':>8} {'predict s':>9}  peak by stage (MB over start)"
    print(header)
    for r in rows:
        stages = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["stage_growth_mb"].items(), key=lambda kv: -kv[1]))
        s = r["stage_seconds"]
        print(
            f"{r['series']:>7} {r['windows']:>9} {r['frame_mb']:>9.1f} {r['fit_growth_mb']:>10.0f} "
            f"{r['fit_growth_mb'] / r['frame_mb']:>8.2f} {r['fit_seconds']:>7.1f} {s.get('linear', 0):>9.1f} "
            f"{s.get('train', 0):>8.1f} {r['predict_seconds']:>9.2f}  {stages}"
        )
        if r["tracemalloc_linear_mb"] is not None:
            print(f"{'':>7} tracemalloc peak of the linear stage: {r['tracemalloc_linear_mb']:.0f} MB")


if __name__ == "__main__":
    main()
