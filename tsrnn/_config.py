"""Numba compilation flags and thread control, in one place.

Every ``@njit`` in tsrnn takes its flags from here (a test greps for hard-coded
``fastmath=``/``cache=``), so a single environment variable changes them all:

- ``TSRNN_CACHE`` (default ``1``): write compiled kernels to numba's on-disk cache.
- ``TSRNN_PARALLEL`` (default ``1``): compile the batch-sharded drivers with ``parallel=True``.
- ``TSRNN_NOGIL`` (default ``1``): release the GIL inside kernels.

``fastmath`` never includes ``nnan``/``ninf``: they let LLVM assume no NaN/inf,
which would break the NaN checks that stop a diverging fit.
"""

import os
from contextlib import contextmanager

import numba


def _env_flag(name, default):
    value = os.environ.get(name, default)
    return value.strip().lower() not in {"0", "false", "no", "off", ""}


FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
CACHE = _env_flag("TSRNN_CACHE", "1")
PARALLEL = _env_flag("TSRNN_PARALLEL", "1")
NOGIL = _env_flag("TSRNN_NOGIL", "1")

# Keyword sets for the decorators, so kernels write ``@njit(**JIT)``.
JIT = dict(fastmath=set(FASTMATH), cache=CACHE, nogil=NOGIL, error_model="numpy")
JIT_PARALLEL = dict(JIT, parallel=PARALLEL)


def get_num_threads():
    """Number of threads numba kernels use."""
    return numba.get_num_threads()


def set_num_threads(n_threads):
    """Set the number of numba threads (``None`` or ``-1`` means all cores).

    Parameters
    ----------
    n_threads : int or None
        Threads for the parallel kernels, at most ``numba.config.NUMBA_NUM_THREADS``.
    """
    if n_threads is None or n_threads == -1:
        n_threads = numba.config.NUMBA_NUM_THREADS
    if not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive int, -1 or None. Got {n_threads!r} instead.")
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))


_blas_controller = None


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while the parallel kernels run.

    The kernels call BLAS from inside ``prange``; a multi-threaded BLAS there
    oversubscribes the cores (numba threads x BLAS threads) and spins.
    """
    global _blas_controller
    if _blas_controller is None:
        import scipy.linalg.cython_blas  # noqa: F401  (numba's BLAS: load it before the snapshot)
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    with _blas_controller.limit(limits=1, user_api="blas"):
        yield
