"""The CUDA kernels against the float64 reference on a real GPU, at the default launch sizes.

The simulator tests (test_cuda_kernels.py) lower the tiles to keep the
simulator fast and run blocks one after another; here the kernels run as
shipped (``TILE_ROWS`` rows and ``THREADS`` threads per block, ``GEMM_TILE``
tiles, the 48 KB shared-memory limit), blocks concurrently, in float32 and
float64 on the device's own arithmetic. Skipped with the reason when there is
no usable GPU (always in CI) or under the simulator.
"""

import os

import numpy as np
import pytest

pytestmark = pytest.mark.gpu

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("real-GPU tests: NUMBA_ENABLE_CUDASIM=1 replaces the GPU with the simulator", allow_module_level=True)
try:
    import numba_cuda  # noqa: F401
    from numba import cuda
except ImportError:
    pytest.skip("real-GPU tests: numba-cuda is not installed (the 'cuda' extra)", allow_module_level=True)
if not cuda.is_available():
    pytest.skip("real-GPU tests: no usable CUDA GPU and driver", allow_module_level=True)

from tsrnn.kernels import cuda as cuda_kernels  # noqa: E402
from tsrnn.kernels import get_cell  # noqa: E402

from .test_cpu_kernels import CASES, TOL, layer_problem, reference_layer  # noqa: E402
from .test_cuda_kernels import assert_layers_close, cuda_layer  # noqa: E402

# (B, T, D, H) at the default launch sizes: B = 37 leaves a partial third tile of 16 rows and a
# partial GEMM tile; H = 20 keeps W_hh in shared memory for every cell and dtype, H = 120 reads
# it from global memory for every cell in float32 (and float64).
SHAPES = [(37, 9, 5, 20), (40, 7, 3, 120)]


def test_shapes_cover_both_weight_placements():
    for cell in ("rnn", "lstm", "gru"):
        G = get_cell(cell).n_gates
        for dtype in (np.float32, np.float64):
            assert cuda_kernels._launch(37, 20, G * 20, dtype)[2]
            assert not cuda_kernels._launch(40, 120, G * 120, dtype)[2]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "B{}-T{}-D{}-H{}".format(*s))
@pytest.mark.parametrize("cell,activation", CASES)
def test_layer_matches_reference_on_the_gpu(cell, activation, shape, dtype, rng):
    p = layer_problem(cell, *shape, dtype, rng)
    assert_layers_close(cuda_layer(cell, activation, **p), reference_layer(cell, activation, **p), TOL[dtype])


def test_results_are_deterministic(rng):
    """Every sum has a fixed order (no atomics): two runs give the same bits."""
    p = layer_problem("lstm", 37, 9, 5, 20, np.float32, rng)
    first, second = cuda_layer("lstm", "tanh", **p), cuda_layer("lstm", "tanh", **p)
    for name, value in first.items():
        np.testing.assert_array_equal(value, second[name], err_msg=name)
