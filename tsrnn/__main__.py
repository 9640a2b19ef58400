"""``python -m tsrnn``: the same command line as ``tsrnn`` (see :mod:`tsrnn.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
