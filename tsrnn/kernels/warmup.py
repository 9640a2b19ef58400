"""Compile every kernel ahead of time (or load it from numba's on-disk cache)."""

import numpy as np

from . import CELLS, get_cell, get_kernels


def warmup(cells=tuple(CELLS), dtypes=("float32",)):
    """Run each kernel once on a tiny problem so later calls start at full speed.

    With ``cache=True`` (the default, see :mod:`tsrnn._config`) the compiled code
    is written to numba's cache, so this is paid once per machine, not per process.

    Parameters
    ----------
    cells : sequence of {'rnn', 'lstm', 'gru'}, default=all cells
    dtypes : sequence of {'float32', 'float64'}, default=('float32',)
    """
    T, B, D, H = 2, 2, 1, 2
    for cell in cells:
        spec, k = get_cell(cell), get_kernels(cell)
        S, GH, K = spec.n_states, spec.n_gates * H, spec.cache_factor * H
        for dtype in map(np.dtype, dtypes):
            z = lambda *shape: np.zeros(shape, dtype)  # noqa: E731
            x, state0, weights, work = z(T, B, D), z(S, B, H), (z(GH, D), z(GH, H), z(GH), z(GH)), z(0)
            k.forward(x, state0, *weights, 0, z(T, B, H), z(S, B, H), work)
            states, gates = z(T + 1, S, B, H), z(T, B, K)
            k.forward_train(x, state0, *weights, 0, states, gates, work)
            k.backward(x, *weights, 0, states, gates, z(T, B, H), z(S, B, H), z(T, B, D), z(S, B, H),
                       *(np.empty_like(w) for w in weights), work)
