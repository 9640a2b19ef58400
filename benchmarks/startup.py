"""Start-up costs of tsrnn, measured in fresh processes.

- ``import tsrnn`` (target <= 0.3 s);
- the first ``LSTMRegressor.fit`` of a process on a small problem with a warm
  numba cache: process overhead beyond the training itself (target <= 1 s);
- the same with an empty cache: cold compile of everything a default LSTM
  fit needs (target <= 20 s).

"Overhead" is ``imports + first fit - second fit`` in the same process (the
second fit of an identical model is the training itself); it is split into
importing scikit-learn (paid by any scikit-learn estimator), numba, and the rest. The cache is
numba's on-disk cache; the cold runs point ``NUMBA_CACHE_DIR`` at a fresh
empty directory, the warm runs at one the cold run filled.

Usage: ``python benchmarks/startup.py [--repeats 5] [--cold-repeats 1] [--output benchmarks/RESULTS.md]``
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, time
t0 = time.perf_counter()
import tsrnn
t_import = time.perf_counter() - t0
t0 = time.perf_counter()
import numba
t_numba = time.perf_counter() - t0
t0 = time.perf_counter()
import sklearn.base, sklearn.utils.validation  # what any scikit-learn estimator imports
t_sklearn = time.perf_counter() - t0
import numpy as np
rng = np.random.default_rng(0)
t = np.arange(600)
series = np.sin(2 * np.pi * t / 25) + 0.1 * rng.standard_normal(600)
X = np.lib.stride_tricks.sliding_window_view(series[:-6], 24)[:-1]
y = np.lib.stride_tricks.sliding_window_view(series[24:], 6)[: len(X)]
params = dict(hidden_size=32, max_epochs=5, random_state=0)
t1 = time.perf_counter()
tsrnn.LSTMRegressor(**params).fit(X, y).predict(X[:10])
t_first = time.perf_counter() - t1
t2 = time.perf_counter()
tsrnn.LSTMRegressor(**params).fit(X, y).predict(X[:10])
t_second = time.perf_counter() - t2
times = dict(import_s=t_import, numba_s=t_numba, sklearn_s=t_sklearn, first_fit_s=t_first, second_fit_s=t_second)
print(json.dumps(times))
"""

IMPORT_ONLY = r"""
import json, sys, time
t0 = time.perf_counter()
import tsrnn
t = time.perf_counter() - t0
print(json.dumps(dict(import_s=t, numba_loaded="numba" in sys.modules)))
"""


def _run(code, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(repeats=5, cold_repeats=1):
    """Medians over fresh processes; returns a dict of seconds."""
    imports = [_run(IMPORT_ONLY, tempfile.mkdtemp(prefix="tsrnn-startup-"))["import_s"] for _ in range(repeats)]
    cold, warm = [], []
    for _ in range(cold_repeats):
        cache = tempfile.mkdtemp(prefix="tsrnn-cold-")
        cold.append(_run(CHILD, cache))
        for _ in range(repeats):
            warm.append(_run(CHILD, cache))

    def overhead(run):
        return run["import_s"] + run["numba_s"] + run["sklearn_s"] + run["first_fit_s"] - run["second_fit_s"]

    return dict(
        import_s=statistics.median(imports),
        warm_overhead_s=statistics.median(overhead(r) for r in warm),
        warm_first_fit_s=statistics.median(r["first_fit_s"] for r in warm),
        train_s=statistics.median(r["second_fit_s"] for r in warm),
        numba_s=statistics.median(r["numba_s"] for r in warm),
        sklearn_s=statistics.median(r["sklearn_s"] for r in warm),
        cold_overhead_s=statistics.median(overhead(r) for r in cold),
        cold_first_fit_s=statistics.median(r["first_fit_s"] for r in cold),
        repeats=repeats,
        cold_repeats=cold_repeats,
    )


def report(result):
    return (
        f"- `import tsrnn`: {result['import_s']:.3f} s (median of {result['repeats']} fresh processes; "
        "target <= 0.3 s)\n"
        f"- first `LSTMRegressor(hidden_size=32, max_epochs=5).fit` + predict, warm cache: "
        f"{result['warm_first_fit_s']:.2f} s, of which training {result['train_s']:.2f} s; "
        f"process overhead (imports + first fit - training) {result['warm_overhead_s']:.2f} s (target <= 1 s): "
        f"importing scikit-learn (which loads scipy.stats and pandas) {result['sklearn_s']:.2f} s, numba "
        f"{result['numba_s']:.2f} s, tsrnn itself (its modules, loading the cached kernel, starting threads) "
        f"{result['warm_overhead_s'] - result['sklearn_s'] - result['numba_s']:.2f} s\n"
        f"- the same with an empty cache: first fit {result['cold_first_fit_s']:.1f} s, overhead "
        f"(compiling everything a default LSTM fit needs) {result['cold_overhead_s']:.1f} s (target <= 20 s)\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold-repeats", type=int, default=1)
    parser.add_argument("--output", default=None, help="write the numbers into this markdown file")
    args = parser.parse_args(argv)
    text = report(measure(args.repeats, args.cold_repeats))
    print(text)
    if args.output:
        from speed import write_markdown  # benchmarks/speed.py, beside this file

        write_markdown(args.output, text, marker="startup")
    return 0


if __name__ == "__main__":
    sys.exit(main())
