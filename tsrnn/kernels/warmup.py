"""Compile every kernel ahead of time (or load it from numba's on-disk cache)."""

import time
from functools import partial

import numpy as np

from . import CELLS, get_cell, get_kernels


def _zeros(*shape, dtype):
    return np.zeros(shape, dtype)


def warmup(cells=tuple(CELLS), dtypes=("float32",), progress=None, n_jobs=1):
    """Run each kernel once on a tiny problem so later calls start at full speed.

    With ``cache=True`` (the default, see :mod:`tsrnn._config`) the compiled code
    is written to numba's cache (:func:`tsrnn.kernels.announce.cache_location`),
    so this is paid once per machine, not per process. Both entries of each cell
    are compiled: the serial one (one thread) and, when numba may use more than
    one thread, the parallel one.

    Parameters
    ----------
    cells : sequence of {'rnn', 'lstm', 'gru'}, default=all cells
    dtypes : sequence of {'float32', 'float64'}, default=('float32',)
    progress : callable or None, default=None
        Called with a line of text before and after each (cell, dtype).
    n_jobs : int, default=1
        Compile the cells in this many processes at once (compilation is
        single-threaded; each process writes its cells to the shared cache).

    Returns
    -------
    dict
        Seconds per ``(cell, dtype)``.
    """
    import numba

    cells, dtypes = [get_cell(c).name for c in cells], [np.dtype(d).name for d in dtypes]
    if n_jobs > 1 and len(cells) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # "spawn": a fresh interpreter per worker (numba's threading layer must not be forked)
        times = {}
        with ProcessPoolExecutor(min(n_jobs, len(cells)), mp_context=multiprocessing.get_context("spawn")) as pool:
            for cell_times in pool.map(warmup, [[c] for c in cells], [dtypes] * len(cells)):
                for key, seconds in cell_times.items():
                    times[key] = seconds
                    if progress:
                        progress(f"{key[0]} {key[1]}: {seconds:.1f} s")
        return times
    times = {}
    thread_counts = sorted({1, numba.get_num_threads()})
    for cell in cells:
        for dtype in dtypes:
            if progress:
                progress(f"{cell} {dtype} ...")
            start = time.perf_counter()
            for n_threads in thread_counts:
                previous = numba.get_num_threads()
                numba.set_num_threads(n_threads)
                try:
                    _run_once(cell, np.dtype(dtype))
                finally:
                    numba.set_num_threads(previous)
            times[cell, dtype] = time.perf_counter() - start
            if progress:
                progress(f"{cell} {dtype}: {times[cell, dtype]:.1f} s")
    return times


def _run_once(cell, dtype):
    T, B, D, H = 2, 2, 1, 2
    spec, k = get_cell(cell), get_kernels(cell)
    S, GH, K = spec.n_states, spec.n_gates * H, spec.cache_factor * H
    z = partial(_zeros, dtype=dtype)
    x, state0, weights, work = z(T, B, D), z(S, B, H), (z(GH, D), z(GH, H), z(GH), z(GH)), z(0)
    k.forward(x, state0, *weights, 0, z(T, B, H), z(S, B, H), work)
    states, gates = z(T + 1, S, B, H), z(T, B, K)
    k.forward_train(x, state0, *weights, 0, states, gates, work)
    grads = [np.empty_like(w) for w in weights]
    k.backward(x, *weights, 0, states, gates, z(T, B, H), z(S, B, H), z(T, B, D), z(S, B, H), *grads, work)
