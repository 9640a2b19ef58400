"""Load a script of benchmarks/ as a module (it is not a package), for the tests of its functions."""

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name):
    """The module ``benchmarks/<name>.py``, freshly executed (e.g. ``load_benchmark("gpu")``)."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
