"""Say when a kernel call is compiling, so a first fit's wait is never silent.

The first call of a cell's kernels in a process either loads them from numba's
on-disk cache (well under a second) or compiles them for this CPU (tens of
seconds on a small machine). :func:`announcing` wraps a kernel so that a first
call still running after :data:`NOTICE_AFTER` seconds is announced once, while
it runs: on the ``tsrnn`` logger (INFO) always, and on stderr inside
:func:`notes_to_stderr` (what ``verbose`` estimators use). When it ends, the
time it took is logged. Later calls pay one set lookup.
"""

import contextlib
import logging
import sys
import threading
import time

import numba

logger = logging.getLogger("tsrnn")

# A cache load takes 0.1-0.7 s here; a call still running after this is compiling.
NOTICE_AFTER = 1.0

_done = set()
_lock = threading.Lock()
_stderr = threading.local()


@contextlib.contextmanager
def notes_to_stderr(enabled=True):
    """Also print compile notices to stderr in this thread while the block runs.

    Parameters
    ----------
    enabled : bool, default=True
        False leaves the setting as it is (convenient for ``verbose`` flags).
    """
    previous = getattr(_stderr, "on", False)
    _stderr.on = previous or bool(enabled)
    try:
        yield
    finally:
        _stderr.on = previous


def cache_location():
    """Where numba keeps tsrnn's compiled kernels: ``NUMBA_CACHE_DIR``, or next to the package's sources."""
    import os

    return numba.config.CACHE_DIR or os.path.join(os.path.dirname(__file__), "__pycache__")


def announcing(kernel, cell):
    """``kernel`` with a notice on its first slow call per dtype and entry (serial or parallel).

    Parameters
    ----------
    kernel : callable
        A kernel whose first argument is an array (its dtype is part of what compiles).
    cell : str
        The cell's name, for the message.

    Returns
    -------
    callable
        The same call, same signature and docstring.
    """

    def wrapper(*args):
        key = (cell, args[0].dtype.char, numba.get_num_threads() > 1)
        if key in _done:
            return kernel(*args)
        return _first_call(kernel, key, args)

    wrapper.__name__ = wrapper.__qualname__ = kernel.__name__
    wrapper.__doc__ = kernel.__doc__
    wrapper.__wrapped__ = kernel  # inspect.signature reports the kernel's own arguments
    return wrapper


def _first_call(kernel, key, args):
    cell, dtype, parallel = key
    precision, entry = "float32" if dtype == "f" else "float64", "parallel" if parallel else "serial"
    what = f"tsrnn's {cell.upper()} kernels ({precision}, {entry})"
    to_stderr = getattr(_stderr, "on", False)
    finished = threading.Event()

    def notice():
        if not finished.wait(NOTICE_AFTER):
            message = f"compiling {what} for this CPU (once; cached in {cache_location()} for later processes)"
            logger.info(message)
            if to_stderr:
                print(f"tsrnn: {message}", file=sys.stderr, flush=True)

    watcher = threading.Thread(target=notice, name="tsrnn-compile-notice", daemon=True)
    watcher.start()
    start = time.perf_counter()
    try:
        result = kernel(*args)
    finally:
        finished.set()
        watcher.join()
    seconds = time.perf_counter() - start
    if seconds >= NOTICE_AFTER:
        logger.info(f"{what} ready after {seconds:.1f} s")
    with _lock:
        _done.add(key)
    return result
