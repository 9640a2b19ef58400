"""Scalar activations for the compiled kernels: tanh, sigmoid, relu, selu.

The kernels call these once per gate element, inside loops that LLVM
vectorises. libm's ``tanhf``/``expf`` cannot be vectorised (PyPI numba has no
SVML) and dominated naive kernels, so float32 uses a clamped rational
approximation (the Eigen/XLA ``ptanh_float`` coefficients) and
``sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5``. Measured against float64
``np.tanh`` on every normal float32 input its largest relative error is
2.9e-7 (a few float32 ulp; ``np.tanh`` in float32 has 1.1e-7), and it is
never above 1 in magnitude.

float64 keeps libm's ``tanh`` and ``1 / (1 + exp(-x))``: a rational of this
size cannot reach the ~1e-12 agreement with :mod:`tsrnn.kernels.reference`
that the float64 kernels are tested for. They are written ``math.tanh`` and
``math.exp``, not ``np.tanh``/``np.exp``: numba-cuda has no implementation of
the NumPy ufunc ``exp`` on a scalar, so the CUDA kernels (which call these as
device functions) would not compile in float64; on the CPU both spellings
lower to the same libm calls (the float64 CPU kernels' results were checked
bit for bit before and after the change, and tests/kernels/test_activations.py
checks the two spellings agree exactly). The dtype is chosen at compile time
(``isinstance`` on the scalar type is resolved by numba's typing and the other
branch is pruned), so each dtype compiles to one straight-line function.

NaN in gives NaN out for every function here: the clamps are written as
comparisons that are false for NaN, and ``_config`` never enables ``nnan``.
"""

import math

import numpy as np
from numba import njit

from .. import _config

# Odd numerator x * P(x^2) and even denominator Q(x^2), lowest degree first.
_P1 = np.float32(4.89352455891786e-03)
_P3 = np.float32(6.37261928875436e-04)
_P5 = np.float32(1.48572235717979e-05)
_P7 = np.float32(5.12229709037114e-08)
_P9 = np.float32(-8.60467152213735e-11)
_P11 = np.float32(2.00018790482477e-13)
_P13 = np.float32(-2.76076847742355e-16)
_Q0 = np.float32(4.89352518554385e-03)
_Q2 = np.float32(2.26843463243900e-03)
_Q4 = np.float32(1.18534705686654e-04)
_Q6 = np.float32(1.19825839466702e-06)
# Inputs are clamped to +-_CLAMP, the smallest float32 where the rational
# reaches exactly 1.0 in float32; below it, it never exceeds 1 (every float32
# in [7.5, 20] is checked by tests/kernels/test_activations.py; below 7.5 it
# is within 3e-7 of tanh < 0.9999994). So large inputs give exactly +-1 and
# no output clamp is needed.
_CLAMP = np.float32(7.998811721801758)
_HALF = np.float32(0.5)
_TINY = np.float32(4e-4)


@njit(**_config.JIT)
def _tanh_rational(x):
    """Clamped rational tanh in float32 arithmetic (no special case near 0).

    Branch-free (the clamps are selects that keep NaN: comparisons with NaN
    are False), so LLVM vectorises it; about 0.45 ns per element on one core.
    """
    x = _CLAMP if x > _CLAMP else x
    x = -_CLAMP if x < -_CLAMP else x
    x2 = x * x
    p = _P13
    p = p * x2 + _P11
    p = p * x2 + _P9
    p = p * x2 + _P7
    p = p * x2 + _P5
    p = p * x2 + _P3
    p = p * x2 + _P1
    q = _Q6
    q = q * x2 + _Q4
    q = q * x2 + _Q2
    q = q * x2 + _Q0
    return x * p / q


@njit(**_config.JIT)
def _tanh_float32(x):
    """Rational tanh, evaluated in float32 arithmetic."""
    # tanh(x) = x to float32 precision below 4e-4; the rational's slope at 0
    # is off by 1.3e-7 (and x*p underflows for denormals), so small inputs
    # (and signed zeros) pass through.
    r = _tanh_rational(x)
    return x if abs(x) < _TINY else r


@njit(**_config.JIT)
def tanh(x):
    """Hyperbolic tangent: fast rational in float32, libm's ``tanh`` in float64.

    Parameters
    ----------
    x : float32 or float64

    Returns
    -------
    float of the same type as ``x``
    """
    if isinstance(x, np.float32):
        return _tanh_float32(x)
    return math.tanh(x)


@njit(**_config.JIT)
def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``.

    float32 computes ``0.5 * tanh(0.5 * x) + 0.5`` with the rational tanh
    (absolute error below 2e-7, vectorisable); float64 uses ``math.exp``.

    Parameters
    ----------
    x : float32 or float64

    Returns
    -------
    float of the same type as ``x``
    """
    if isinstance(x, np.float32):
        # No small-input pass-through needed: near 0 the result is 0.5 + tiny.
        return _HALF * _tanh_rational(_HALF * x) + _HALF
    return 1.0 / (1.0 + math.exp(-x))


@njit(**_config.JIT)
def relu(x):
    """``max(x, 0)`` that keeps NaN (``x < 0`` is False for NaN).

    Parameters
    ----------
    x : float32 or float64

    Returns
    -------
    float of the same type as ``x``
    """
    return type(x)(0.0) if x < 0 else x


# SELU (Klambauer et al. 2017, "Self-normalizing neural networks"), with the constants
# torch.nn.SELU uses.
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_SELU_SCALE32 = np.float32(SELU_SCALE)
_SELU_SCALE_ALPHA32 = np.float32(SELU_SCALE * SELU_ALPHA)


@njit(**_config.JIT)
def selu(x):
    """``scale * x`` for ``x > 0``, ``scale * alpha * (exp(x) - 1)`` otherwise (NaN stays NaN).

    Parameters
    ----------
    x : float32 or float64

    Returns
    -------
    float of the same type as ``x``
    """
    if isinstance(x, np.float32):
        return _SELU_SCALE32 * x if x > 0 else _SELU_SCALE_ALPHA32 * math.expm1(x)
    return SELU_SCALE * x if x > 0 else SELU_SCALE * SELU_ALPHA * math.expm1(x)


@njit(**_config.JIT)
def selu_slope(h):
    """The derivative of :func:`selu` written in terms of its output ``h = selu(x)``:
    ``scale`` where ``h > 0``, else ``scale * alpha * exp(x) = h + scale * alpha``.

    Parameters
    ----------
    h : float32 or float64

    Returns
    -------
    float of the same type as ``h``
    """
    if isinstance(h, np.float32):
        return _SELU_SCALE32 if h > 0 else h + _SELU_SCALE_ALPHA32
    return SELU_SCALE if h > 0 else h + SELU_SCALE * SELU_ALPHA
