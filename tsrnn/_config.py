"""Numba compilation flags and thread control, in one place.

Every ``@njit`` in tsrnn takes its flags from here (a test greps for hard-coded
``fastmath=``/``cache=``), so a single environment variable changes them all:

- ``TSRNN_CACHE`` (default ``1``): write compiled kernels to numba's on-disk cache.
- ``TSRNN_PARALLEL`` (default ``1``): compile the batch-sharded drivers with ``parallel=True``.
- ``TSRNN_NOGIL`` (default ``1``): release the GIL inside kernels.

``fastmath`` never includes ``nnan``/``ninf``: they let LLVM assume no NaN/inf,
which would break the NaN checks that stop a diverging fit.

Threads (ARCHITECTURE.md, "Inside the kernels"): the kernels' only parallelism is
numba's; every BLAS call inside a kernel runs single-threaded, and
:func:`kernel_threads` holds BLAS at one thread and picks the numba thread
count per call from the problem size (:func:`threads_for`), so small problems
never wake the thread pool. numba's threading layer is chosen and started here
(:func:`start_threads`): OpenMP first (thread-safe, unlike 'workqueue'), with
short spinning, so idle numba threads soon sleep instead of spinning on cores
that BLAS, torch or other processes need, and without nested parallelism,
which numba enables and which made torch in the same process oversubscribe.
"""

import numbers
import os
import threading
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
# Functions that take a cell's step function as an argument (the driver's time
# loops, kernels/cpu.py): compiled only as part of a cached entry that inlines
# them, and never cached on their own, since a signature holding a function
# never hits the cache and would add an entry in every cold process.
JIT_INNER = dict(JIT, cache=False, no_cpython_wrapper=True)
# numba.cuda kernels (tsrnn/kernels/cuda*.py): numba-cuda's fastmath is all or nothing (any true
# value means LLVM's 'fast', which includes nnan/ninf, plus flush-to-zero and approximate
# division), so it stays off for the same reason as above: NaN checks must survive.
CUDA_JIT = dict(fastmath=False)


# Threading layers in order of preference, unless the user chose one through
# NUMBA_THREADING_LAYER / NUMBA_THREADING_LAYER_PRIORITY. 'omp' is safe to call
# from several Python threads at once (dask, joblib's threading backend) and,
# with passive waiting, does not spin; 'workqueue' aborts on concurrent use.
THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]
# How long idle OpenMP (libgomp) threads spin before sleeping, unless the user
# set OMP_WAIT_POLICY or GOMP_SPINCOUNT: 10000 spins, tens of microseconds,
# instead of libgomp's 300000. Long spinning steals cores from whatever runs
# next (BLAS, torch, other processes); sleeping at once (OMP_WAIT_POLICY=PASSIVE)
# is as robust for tsrnn, but the OpenMP runtime is shared with torch when tsrnn
# starts it first, and passive waiting made torch's small-op loops 2x slower
# (W1 rnn step 6.3 -> 15 ms), while 10000 spins left them unchanged (6.4 ms).
GOMP_SPINCOUNT = "10000"

# Thread-count policy of threads_for(): a numba thread is woken only when it
# gets at least this many batch rows and multiply-adds of its own per layer
# call. Rows: per-step GEMMs on fewer rows lose efficiency, and a batch of 64
# (the estimators' default, the forecaster's typical shape) stays on one
# thread, which measured as fast or faster than two whenever other processes
# load the machine (2 threads: 2-3x slower steps with one core busy, 30 %
# faster when idle). Multiply-adds: below ~4M (~0.1 ms) a wake-up is not worth it.
PARALLEL_MIN_ROWS = 128
PARALLEL_MIN_MACS = 4e6

_start_lock = threading.Lock()
_started = False


def start_threads():
    """Choose and launch numba's threading layer, once (idempotent, cheap after the first call).

    Sets ``GOMP_SPINCOUNT`` (see the constant of that name) only while the
    OpenMP runtime loads and only when the user has set neither it nor
    ``OMP_WAIT_POLICY``. Without effect when an OpenMP runtime (numba's, or
    torch's, which numba then shares) is already loaded.
    """
    global _started
    if _started:
        return
    with _start_lock:
        if _started:
            return
        env_layer = {"NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY"} & set(os.environ)
        if not env_layer and numba.config.THREADING_LAYER == "default":
            numba.config.THREADING_LAYER_PRIORITY = list(THREADING_LAYER_PRIORITY)
        set_spin = not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(os.environ)
        if set_spin:
            os.environ["GOMP_SPINCOUNT"] = GOMP_SPINCOUNT
        try:
            numba.get_num_threads()  # launches the threading layer
        finally:
            if set_spin:
                os.environ.pop("GOMP_SPINCOUNT", None)
        if numba.threading_layer() == "omp":
            _limit_omp_nesting()
        _started = True


def _limit_omp_nesting():
    """Set OpenMP's max-active-levels back to 1 (the OpenMP default).

    numba's 'omp' layer raises it to the maximum at launch so that parallel
    functions can nest; tsrnn never nests (BLAS inside kernels is not OpenMP),
    but the runtime is process-wide: with nesting on, torch's intra-op
    parallel regions spawned nested teams and a W1 rnn training step went from
    6.4 to 156 ms. Best effort: does nothing when the runtime is not libgomp.
    """
    import ctypes

    try:
        ctypes.CDLL("libgomp.so.1").omp_set_max_active_levels(1)
    except (OSError, AttributeError):
        pass


def get_num_threads():
    """Number of threads numba kernels use."""
    start_threads()
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
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive int, -1 or None. Got {n_threads!r} instead.")
    start_threads()
    numba.set_num_threads(min(int(n_threads), numba.config.NUMBA_NUM_THREADS))


@contextmanager
def using_threads(n_threads):
    """Run the block with ``n_threads`` numba threads (None: leave as is), then restore the count.

    Parameters
    ----------
    n_threads : int or None
        As in :func:`set_num_threads`; ``-1`` means all cores.
    """
    if n_threads is None:
        yield
        return
    previous = get_num_threads()
    set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def threads_for(macs, rows):
    """Numba threads worth using for one layer call (at most the current thread count).

    Parameters
    ----------
    macs : float
        Multiply-adds of the call, e.g. ``T*B*G*H*(D+H)`` for a forward pass.
    rows : int
        Batch rows, which the kernels shard between threads.

    Returns
    -------
    int
        ``min(get_num_threads(), macs // PARALLEL_MIN_MACS, rows // PARALLEL_MIN_ROWS)``, at least 1.
    """
    limit = get_num_threads()
    return max(1, min(limit, int(macs // PARALLEL_MIN_MACS), int(rows // PARALLEL_MIN_ROWS)))


_blas_controller = None
# single_threaded_blas() state: BLAS's thread counts are process-wide, so the limit is
# reference-counted: set when the first block enters, restored when the last one leaves.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved = []


@contextmanager
def kernel_threads(n_threads):
    """Run kernels with ``n_threads`` numba threads (capped by the current count) and 1 BLAS thread.

    Restores both afterwards. See :func:`threads_for` to pick ``n_threads``.
    Safe to use from several Python threads at once: numba's thread count is
    per Python thread (each thread sets and restores its own), and the BLAS
    limit is shared (see :func:`single_threaded_blas`).
    """
    previous = get_num_threads()
    numba.set_num_threads(max(1, min(int(n_threads), previous)))
    try:
        with single_threaded_blas():
            yield
    finally:
        numba.set_num_threads(previous)


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while the parallel kernels run.

    The kernels call BLAS from inside ``prange``; a multi-threaded BLAS there
    oversubscribes the cores (numba threads x BLAS threads) and spins. The
    BLAS libraries are found once (threadpoolctl); each use then costs a few
    microseconds (threadpoolctl's own context took ~20 us per step).

    BLAS thread counts are process-wide, so concurrent blocks (fits or
    predictions in several Python threads) share one limit: the first block to
    enter saves the counts and sets 1, the last to leave restores them. Meanwhile
    every BLAS call of the process, in any thread, runs single-threaded.
    """
    global _blas_controller, _blas_users, _blas_saved
    with _blas_lock:
        if _blas_controller is None:
            import scipy.linalg.cython_blas  # noqa: F401  (numba's BLAS: load it before the snapshot)
            from threadpoolctl import ThreadpoolController

            _blas_controller = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        if _blas_users == 0:
            _blas_saved = [(c, n) for c in _blas_controller if (n := c.get_num_threads()) != 1]
            for c, _ in _blas_saved:
                _set_blas_threads(c, 1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for c, n in _blas_saved:
                    _set_blas_threads(c, n)
                _blas_saved = []


def _set_blas_threads(controller, n_threads):
    """Set a BLAS library's thread count from any Python thread.

    threadpoolctl (3.6+) lets only the first Python thread that sets an
    OpenBLAS (pthreads) limit set it again and silently ignores the others, so
    in a worker thread the limit never applied: BLAS ran multi-threaded inside
    the kernels (oversubscribed, and rounding differently from the same call in
    the main thread). The counts are process-wide either way, and every change
    tsrnn makes is serialised by ``_blas_lock`` and undone by the last block to
    leave, so tsrnn calls the library's own setter where threadpoolctl has one.
    """
    getattr(controller, "_real_set_num_threads", controller.set_num_threads)(n_threads)
