"""Start-up costs of tsrnn, measured in fresh processes.

- ``import tsrnn`` (target <= 0.3 s);
- a warm process's first fit (target <= 1 s, issue 16): the wall time from the
  moment a fresh process is spawned to the end of its first fit, for
  ``from tsrnn import RNNRegressor`` and ``from tsrnn import RNNForecaster``, with
  a warm numba cache; beside it the floor that tsrnn cannot go under: a process
  that imports numpy, ``sklearn.base`` (which any scikit-learn estimator needs) and
  numba and calls one cached compiled function (numba's one-off loading of its
  typing and lowering registries, which the first compiled call of any process pays);
- the same first fit split into stages in one process (numpy, scikit-learn, numba,
  numba's first cached call, tsrnn's modules, the first fit, a second identical
  fit = the training itself);
- the staged run again with an empty cache: the cold compile of everything a
  default LSTM fit needs (target <= 10 s, issue 16).

The cache is numba's on-disk cache; the cold runs point ``NUMBA_CACHE_DIR`` at a
fresh empty directory, the warm runs at one the cold run filled. The fresh
processes of each kind are interleaved, so that a change of load on the machine
(a shared VM) weighs on every kind alike; medians are reported, with the CPU
time of the process (less sensitive to other load than the wall time).

Usage: ``python benchmarks/startup.py [--repeats 7] [--cold-repeats 1] [--trees before=DIR,after=.]
[--output benchmarks/RESULTS.md]``; ``--trees`` compares source trees (e.g. ``git archive`` of
the previous commit unpacked in DIR), their processes interleaved so that all see the same load.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# a small problem: 577 windows of 24 steps, 6 targets; 5 epochs keep the training itself short
DATA = r"""
import numpy as np
rng = np.random.default_rng(0)
t = np.arange(600)
series = np.sin(2 * np.pi * t / 25) + 0.1 * rng.standard_normal(600)
X = np.lib.stride_tricks.sliding_window_view(series[:-6], 24)[:-1]
y = np.lib.stride_tricks.sliding_window_view(series[24:], 6)[: len(X)]
"""

# a monthly series of 20 years for the forecaster
SERIES = r"""
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
index = pd.date_range("2000-01-01", periods=240, freq="MS")
y = pd.Series(np.sin(2 * np.pi * np.arange(240) / 12) + 0.1 * rng.standard_normal(240), index=index)
"""

REGRESSOR_PARAMS = "hidden_size=32, max_epochs=5, random_state=0"
FORECASTER_PARAMS = "horizon=12, hidden_size=32, max_epochs=5, random_state=0"

# Headline: spawn -> end of the first fit. The child reports wall-clock timestamps
# (time.time(), the parent's clock too) and its CPU time since it started.
FIRST_FIT = {
    "regressor": (
        "import json, time\nstarted = time.time()\nfrom tsrnn import RNNRegressor\nimported = time.time()\n"
        + DATA
        + "fit_start = time.time()\n"
        f"RNNRegressor({REGRESSOR_PARAMS}).fit(X, y)\n"
        "end, cpu = time.time(), time.process_time()\n"
        f"RNNRegressor({REGRESSOR_PARAMS}).fit(X, y)\n"
        "train_s = time.time() - end\n"
    ),
    "forecaster": (
        "import json, time\nstarted = time.time()\nfrom tsrnn import RNNForecaster\nimported = time.time()\n"
        + SERIES
        + "fit_start = time.time()\n"
        f"RNNForecaster({FORECASTER_PARAMS}).fit(y)\n"
        "end, cpu = time.time(), time.process_time()\n"
        f"RNNForecaster({FORECASTER_PARAMS}).fit(y)\n"
        "train_s = time.time() - end\n"
    ),
}
FIRST_FIT_REPORT = (
    "print(json.dumps(dict(started=started, import_s=imported - started, fit_s=end - fit_start, end=end, "
    "cpu_s=cpu, train_s=train_s)))\n"
)

# What any scikit-learn estimator running numba code pays before doing anything.
TRIVIAL_MODULE = "from numba import njit\n\n\n@njit(cache=True)\ndef add_one(x):\n    return x + 1.0\n"
FLOOR = r"""
import json, sys, time
started = time.time()
import numpy, sklearn.base, numba
sys.path.insert(0, sys.argv[1])
import startup_trivial
startup_trivial.add_one(1.0)
end, cpu = time.time(), time.process_time()
print(json.dumps(dict(started=started, end=end, cpu_s=cpu)))
"""

STAGED = (
    r"""
import json, sys, time
stages, t0 = {}, time.perf_counter()
def stage(name):
    global t0
    now = time.perf_counter()
    stages[name] = now - t0
    t0 = now
import numpy
stage("numpy_s")
import sklearn.base, sklearn.utils.validation  # what any scikit-learn estimator imports
stage("sklearn_s")
import numba
stage("numba_s")
sys.path.insert(0, sys.argv[1])
import startup_trivial
startup_trivial.add_one(1.0)
stage("numba_first_call_s")
from tsrnn import RNNRegressor
stage("tsrnn_import_s")
"""
    + DATA
    + "t0 = time.perf_counter()\n"
    f"RNNRegressor({REGRESSOR_PARAMS}).fit(X, y)\n"
    'stage("first_fit_s")\n'
    f"RNNRegressor({REGRESSOR_PARAMS}).fit(X, y)\n"
    'stage("second_fit_s")\n'
    "print(json.dumps(stages))\n"
)

STAGE_NAMES = ("numpy_s", "sklearn_s", "numba_s", "numba_first_call_s", "tsrnn_import_s", "first_fit_s", "second_fit_s")

IMPORT_ONLY = r"""
import json, sys, time
t0 = time.perf_counter()
import tsrnn
t = time.perf_counter() - t0
print(json.dumps(dict(import_s=t, numba_loaded="numba" in sys.modules)))
"""


def _run(code, cache_dir, *args, tree=None):
    """Run ``code`` in a fresh interpreter; its last stdout line (JSON), with ``spawned`` (time.time()).

    ``tree``: a directory holding the ``tsrnn`` package to import (the child runs in it,
    so that its ``tsrnn`` comes first on ``sys.path``); None imports the installed one.
    """
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    spawned = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=tree, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise RuntimeError(f"benchmark child failed (exit {out.returncode}):\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["spawned"] = spawned
    return result


def _median(runs, key):
    return statistics.median(run[key] for run in runs)


def _first_fit(code, cache, tree):
    run = _run(code + FIRST_FIT_REPORT, cache, tree=tree)
    run["start_to_fit_end_s"] = run["end"] - run["spawned"]
    run["interpreter_s"] = run["started"] - run["spawned"]
    return run


def measure(repeats=7, cold_repeats=1, trees=None):
    """Medians over fresh processes; returns a dict of seconds.

    ``trees``: ``{label: directory}`` of source trees to compare (e.g. a checkout of
    the previous commit and this one), each with its own numba cache, their processes
    interleaved; None measures the checkout this script is in.
    """
    if trees is None:
        trees = {"this checkout": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    scratch = tempfile.mkdtemp(prefix="tsrnn-startup-")  # every cache and the trivial module; removed at the end
    try:
        return _measure(repeats, cold_repeats, trees, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _measure(repeats, cold_repeats, trees, scratch):
    trivial_dir = tempfile.mkdtemp(dir=scratch)
    with open(os.path.join(trivial_dir, "startup_trivial.py"), "w") as f:
        f.write(TRIVIAL_MODULE)
    floor_cache = tempfile.mkdtemp(dir=scratch)
    _run(FLOOR, floor_cache, trivial_dir)  # compiles and caches the trivial function
    load_before = os.getloadavg()
    runs = {label: dict(imports=[], cold=[], staged=[], first={kind: [] for kind in FIRST_FIT}) for label in trees}
    floor = []
    for _ in range(repeats):
        for label, tree in trees.items():
            runs[label]["imports"].append(_run(IMPORT_ONLY, tempfile.mkdtemp(dir=scratch), tree=tree))
    for _ in range(cold_repeats):
        caches = {label: tempfile.mkdtemp(dir=scratch) for label in trees}
        for label, tree in trees.items():
            runs[label]["cold"].append(_run(STAGED, caches[label], trivial_dir, tree=tree))
            for code in FIRST_FIT.values():  # fills the cache with the forecaster's kernels too
                _run(code + FIRST_FIT_REPORT, caches[label], tree=tree)
        for _ in range(repeats):
            for label, tree in trees.items():
                for kind, code in FIRST_FIT.items():
                    runs[label]["first"][kind].append(_first_fit(code, caches[label], tree))
                runs[label]["staged"].append(_run(STAGED, caches[label], trivial_dir, tree=tree))
            run = _run(FLOOR, floor_cache, trivial_dir)
            run["start_to_end_s"] = run["end"] - run["spawned"]
            floor.append(run)
    first_keys = ("start_to_fit_end_s", "cpu_s", "interpreter_s", "import_s", "fit_s", "train_s")
    stage_names = list(STAGE_NAMES)
    return dict(
        trees={
            label: dict(
                import_s=_median(r["imports"], "import_s"),
                numba_loaded=any(run["numba_loaded"] for run in r["imports"]),
                first_fit={
                    kind: {key: _median(kind_runs, key) for key in first_keys} for kind, kind_runs in r["first"].items()
                },
                staged={name: _median(r["staged"], name) for name in stage_names},
                cold={name: _median(r["cold"], name) for name in stage_names},
            )
            for label, r in runs.items()
        },
        floor=dict(start_to_end_s=_median(floor, "start_to_end_s"), cpu_s=_median(floor, "cpu_s")),
        repeats=repeats,
        cold_repeats=cold_repeats,
        load_before=load_before,
        load_after=os.getloadavg(),
        cpus=os.cpu_count(),
    )


def _tree_report(tree):
    first, staged, cold = tree["first_fit"], tree["staged"], tree["cold"]
    reg, fc = first["regressor"], first["forecaster"]
    tsrnn_part = staged["tsrnn_import_s"] + staged["first_fit_s"] - staged["second_fit_s"]
    return (
        f"- `import tsrnn`: {tree['import_s']:.3f} s, numba {'loaded' if tree['numba_loaded'] else 'not loaded'} "
        "(target <= 0.3 s)\n"
        "- warm cache, process spawn -> end of the first fit (target <= 1 s):\n"
        f"  - `from tsrnn import RNNRegressor`; `RNNRegressor({REGRESSOR_PARAMS}).fit(X, y)` (577 x 24 windows): "
        f"**{reg['start_to_fit_end_s']:.2f} s** wall, {reg['cpu_s']:.2f} s CPU (interpreter start "
        f"{reg['interpreter_s']:.2f} s, import {reg['import_s']:.2f} s, first fit {reg['fit_s']:.2f} s, of which "
        f"training {reg['train_s']:.2f} s)\n"
        f"  - `from tsrnn import RNNForecaster`; `RNNForecaster({FORECASTER_PARAMS}).fit(y)` (240 months): "
        f"**{fc['start_to_fit_end_s']:.2f} s** wall, {fc['cpu_s']:.2f} s CPU (interpreter start "
        f"{fc['interpreter_s']:.2f} s, import {fc['import_s']:.2f} s, first fit {fc['fit_s']:.2f} s, of which "
        f"training {fc['train_s']:.2f} s)\n"
        f"- the regressor's first fit in stages, in one process: numpy {staged['numpy_s']:.2f} s, "
        f"`sklearn.base` {staged['sklearn_s']:.2f} s (it imports scipy.stats and pandas), numba "
        f"{staged['numba_s']:.2f} s, numba's first cached call {staged['numba_first_call_s']:.2f} s, "
        f"`from tsrnn import RNNRegressor` {staged['tsrnn_import_s']:.2f} s, first fit {staged['first_fit_s']:.2f} s, "
        f"second fit (the training) {staged['second_fit_s']:.2f} s: tsrnn's own start-up (its modules, loading "
        f"the cached kernel and optimizer, starting threads) **{tsrnn_part:.2f} s**\n"
        f"- the same with an empty cache: first fit {cold['first_fit_s']:.1f} s, of which compiling everything a "
        f"default LSTM fit needs ~{cold['first_fit_s'] - cold['second_fit_s']:.1f} s (target <= 10 s)\n"
    )


def report(result, command):
    load = "/".join(f"{x:.2f}" for x in result["load_before"]), "/".join(f"{x:.2f}" for x in result["load_after"])
    floor, n = result["floor"], result["repeats"]
    text = (
        f"Command: `{command}`; medians of {n} fresh processes of each kind ({result['cold_repeats']} with an "
        f"empty cache), on a shared {result['cpus']}-core VM (noisy: other engineers' tests run beside it), "
        f"load average (1/5/15 min) before {load[0]}, after {load[1]}.\n\n"
        "- the floor, process spawn -> numpy, `sklearn.base` and numba imported and one cached compiled "
        f"function called: **{floor['start_to_end_s']:.2f} s** wall, {floor['cpu_s']:.2f} s CPU\n"
    )
    trees = result["trees"]
    if len(trees) == 1:
        return text + _tree_report(next(iter(trees.values())))
    return text + "".join(f"\n{label}:\n\n{_tree_report(tree)}" for label, tree in trees.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cold-repeats", type=int, default=1)
    parser.add_argument(
        "--trees",
        default=None,
        help="compare source trees, interleaved: LABEL=DIR[,LABEL=DIR...], each DIR holding a tsrnn package "
        "(e.g. before=/tmp/old,after=.); default: this checkout",
    )
    parser.add_argument("--output", default=None, help="write the numbers into this markdown file")
    args = parser.parse_args(argv)
    trees = None
    if args.trees:
        try:
            pairs = [item.split("=", 1) for item in args.trees.split(",")]
            trees = {label: os.path.abspath(path) for label, path in pairs}
        except ValueError:
            parser.error(f"--trees takes LABEL=DIR[,LABEL=DIR...], not {args.trees!r}")
        missing = [path for path in trees.values() if not os.path.isfile(os.path.join(path, "tsrnn", "__init__.py"))]
        if missing:
            parser.error(f"no tsrnn package in {', '.join(missing)}")
    command = "python benchmarks/startup.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(measure(args.repeats, args.cold_repeats, trees), command.strip())
    print(text)
    if args.output:
        from speed import write_markdown  # benchmarks/speed.py, beside this file

        write_markdown(args.output, text, marker="startup")
    return 0


if __name__ == "__main__":
    sys.exit(main())
