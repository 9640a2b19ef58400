"""Speed of tsrnn's CPU kernels vs PyTorch and the machine's sgemm peak.

A thin script over :mod:`tsrnn.bench` (also ``tsrnn bench`` / ``python -m tsrnn.bench``):

    python benchmarks/speed.py --output benchmarks/RESULTS.md
    python benchmarks/speed.py --workloads W1 --cells lstm --busy 1   # under load
    python benchmarks/speed.py --profile --workloads W3                # where the time goes
"""

import sys

from tsrnn.bench import build_parser, run_from_args

if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit(run_from_args(build_parser().parse_args(argv), " ".join(["python benchmarks/speed.py", *argv])))
