"""The compiled activations against NumPy, in float32 and float64."""

import numba
import numpy as np
import pytest

from tsrnn import _config
from tsrnn.kernels import activations

FUNCTIONS = ("tanh", "sigmoid", "relu", "selu", "selu_slope")


@numba.njit(**_config.JIT)
def _apply(code, x, out):
    # One compiled loop per dtype, with the kernels' flags, so the activations
    # are inlined and vectorised as they are in the kernels.
    for k in range(x.size):
        if code == 0:
            out[k] = activations.tanh(x[k])
        elif code == 1:
            out[k] = activations.sigmoid(x[k])
        elif code == 2:
            out[k] = activations.relu(x[k])
        elif code == 3:
            out[k] = activations.selu(x[k])
        else:
            out[k] = activations.selu_slope(x[k])


def apply(name, x):
    out = np.empty_like(x)
    _apply(FUNCTIONS.index(name), x, out)
    return out


def _inputs(dtype):
    """A dense grid, tiny and huge magnitudes of both signs, and the special values."""
    grid = np.linspace(-20.0, 20.0, 400_001)
    tiny = np.geomspace(1e-30, 1.0, 2_000)
    huge = np.geomspace(1.0, 1e30, 2_000)
    special = [0.0, -0.0, np.inf, -np.inf]
    x = np.concatenate([grid, tiny, -tiny, huge, -huge, special]).astype(dtype)
    return x[np.isfinite(x) | np.isinf(x)]


def _exact_tanh(x):
    return np.tanh(x.astype(np.float64))


def _exact_sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def test_float32_tanh_is_accurate_and_bounded():
    x = _inputs(np.float32)
    y = apply("tanh", x)
    assert y.dtype == np.float32
    exact = _exact_tanh(x)
    nonzero = exact != 0
    rel = np.abs(y[nonzero] - exact[nonzero]) / np.abs(exact[nonzero])
    # A few float32 ulp (np.tanh in float32 itself reaches 1.1e-7 here).
    assert rel.max() < 4e-7
    assert np.all(np.abs(y) <= 1.0)
    np.testing.assert_array_equal(apply("tanh", -x), -y)  # odd, exactly
    # tanh(+-0) keeps the sign, saturates at +-1.
    np.testing.assert_array_equal(
        apply("tanh", np.array([0.0, -0.0, 1e-38, 30.0, -30.0, np.inf, -np.inf], np.float32)),
        np.array([0.0, -0.0, 1e-38, 1.0, -1.0, 1.0, -1.0], np.float32),
    )
    assert np.signbit(apply("tanh", np.array([-0.0], np.float32)))[0]


def test_float32_tanh_never_exceeds_one_near_saturation():
    """Every float32 in [7.5, 20] (both signs), through the vectorised loop: the clamp
    point is where the rational first reaches 1.0, and it must never pass it."""
    lo, hi = np.array([7.5, 20.0], np.float32).view(np.uint32)
    x = np.arange(lo, hi + 1, dtype=np.uint32).view(np.float32)
    y = apply("tanh", x)
    assert y.max() == 1.0 and y.min() > 0.9999
    assert np.all(y[x >= activations._CLAMP] == 1.0)
    np.testing.assert_array_equal(apply("tanh", -x), -y)
    s = apply("sigmoid", np.concatenate([2 * x, -2 * x]))
    assert s.max() == 1.0 and s.min() == 0.0


def test_float32_sigmoid_is_accurate():
    x = _inputs(np.float32)
    y = apply("sigmoid", x)
    assert y.dtype == np.float32
    exact = _exact_sigmoid(x)
    assert np.abs(y - exact).max() < 3e-7
    assert np.all((y >= 0.0) & (y <= 1.0))
    # 0.5 * tanh(x/2) + 0.5 is accurate in absolute terms only: for x << 0 the
    # cancellation leaves ~1e-7 absolute error on a tiny value. Where the
    # sigmoid is not small, it is also accurate relative to its value.
    upper = x >= -1
    assert (np.abs(y - exact)[upper] / exact[upper]).max() < 1e-6


def test_float64_matches_numpy_to_rounding():
    x = _inputs(np.float64)
    np.testing.assert_allclose(apply("tanh", x), np.tanh(x), rtol=1e-15, atol=0)
    np.testing.assert_allclose(apply("sigmoid", x), _exact_sigmoid(x), rtol=1e-15, atol=0)


@numba.njit(**_config.JIT)
def _numpy_spelling(x, tanh_out, sigmoid_out):
    # The float64 branch before it was spelt with ``math`` (for CUDA): numba's ``np.tanh``/``np.exp``.
    for k in range(x.size):
        tanh_out[k] = np.tanh(x[k])
        sigmoid_out[k] = 1.0 / (1.0 + np.exp(-x[k]))


def test_float64_is_bit_identical_to_the_numpy_spelling():
    """``math.tanh``/``math.exp`` (which also compile for CUDA) give the CPU kernels the same bits."""
    x = np.concatenate([_inputs(np.float64), [-745.2, -710.0, 710.0, 745.2, 1e-300, -1e-300]])
    tanh_np, sigmoid_np = np.empty_like(x), np.empty_like(x)
    _numpy_spelling(x, tanh_np, sigmoid_np)
    np.testing.assert_array_equal(apply("tanh", x), tanh_np)
    np.testing.assert_array_equal(apply("sigmoid", x), sigmoid_np)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_is_exact(dtype):
    x = _inputs(dtype)
    np.testing.assert_array_equal(apply("relu", x), np.maximum(x, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_nan_in_gives_nan_out(name, dtype):
    x = np.array([np.nan, -np.nan, 1.0, np.nan], dtype)
    y = apply(name, x)
    np.testing.assert_array_equal(np.isnan(y), [True, True, False, True])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_dtype_computes_in_its_own_type(name):
    """float32 must not be promoted to float64 (half the SIMD width) on the way."""
    dispatcher = getattr(activations, name)
    for dtype in (np.float32, np.float64):
        dispatcher(dtype(0.5))
    signatures = {sig.args[0]: sig.return_type for sig in dispatcher.nopython_signatures}
    assert signatures[numba.float32] == numba.float32
    assert signatures[numba.float64] == numba.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_selu_matches_torch_and_its_slope_its_derivative(dtype):
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-30.0, 30.0, 60_001), [0.0, -0.0, 1e-30, -1e-30, np.inf, -np.inf]]).astype(dtype)
    y = apply("selu", x)
    assert y.dtype == dtype
    expected = torch.selu(torch.from_numpy(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(y, expected, rtol=2e-7 if dtype == np.float32 else 1e-15, atol=1e-300)
    assert np.isnan(apply("selu", np.array([np.nan], dtype=dtype))).all()
    # the slope from the output: scale above 0, scale * alpha * exp(x) below
    slope = apply("selu_slope", y[np.isfinite(x)])
    xs = x[np.isfinite(x)].astype(np.float64)
    exact = np.where(xs > 0, activations.SELU_SCALE, activations.SELU_SCALE * activations.SELU_ALPHA * np.exp(xs))
    np.testing.assert_allclose(slope, exact, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)
