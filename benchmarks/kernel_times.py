"""Time tsrnn's CPU kernels alone, for an A/B of two source trees.

Prints one line per (cell, hidden size, kernel): milliseconds, median of 7 calls after a warm-up
call, float32, BLAS at one thread, for one layer of the W1, W2 and W3 shapes (T, B, D, H):
(48, 256, 1, 32), (96, 512, 4, 64), (168, 256, 8, 128).

Usage (a tree is a checkout; give each its own NUMBA_CACHE_DIR and alternate the runs)::

    NUMBA_CACHE_DIR=/tmp/cache_a python benchmarks/kernel_times.py /path/to/tree_a [threads]
    NUMBA_CACHE_DIR=/tmp/cache_b python benchmarks/kernel_times.py /path/to/tree_b [threads]
"""

import statistics
import sys
import time

SHAPES = [(48, 256, 1, 32), (96, 512, 4, 64), (168, 256, 8, 128)]


def main(root, n_threads=1):
    sys.path.insert(0, root)
    import numba
    import numpy as np

    from tsrnn import _config
    from tsrnn.kernels import CELLS, get_kernels, work_size

    if not _config.__file__.startswith(root):
        raise SystemExit(f"imported tsrnn from {_config.__file__}, not from {root}")
    numba.set_num_threads(n_threads)
    rng = np.random.default_rng(0)

    def draw(*shape):
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    for T, B, D, H in SHAPES:
        for cell in ("rnn", "gru", "lstm"):
            spec = CELLS[cell]
            G, S, C = spec.n_gates, spec.n_states, spec.cache_factor
            k = get_kernels(cell)
            x, s0, W = draw(T, B, D), draw(S, B, H), [draw(G * H, D), draw(G * H, H), draw(G * H), draw(G * H)]
            none, sT, states, gates = (
                np.empty((0, 0, 0), np.float32),
                draw(S, B, H),
                draw(T + 1, S, B, H),
                draw(T, B, C * H),
            )
            d0, grads = draw(S, B, H), [np.empty_like(w) for w in W]
            work = {
                kind: np.empty(work_size(cell, kind, B, D, H), np.float32)
                for kind in ("forward", "forward_train", "backward")
            }
            calls = {
                "fwd": lambda: k.forward(x, s0, *W, 0, none, sT, work["forward"]),
                "train": lambda: k.forward_train(x, s0, *W, 0, states, gates, work["forward_train"]),
                "bwd": lambda: k.backward(x, *W, 0, states, gates, none, sT, none, d0, *grads, work["backward"]),
            }
            with _config.single_threaded_blas():
                for name, call in calls.items():
                    call()
                    times = []
                    for _ in range(7):
                        start = time.perf_counter()
                        call()
                        times.append(time.perf_counter() - start)
                    print(cell, H, name, f"{statistics.median(times) * 1e3:.3f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
