"""The numba.cuda kernels of a training step (tsrnn.kernels.cuda_train) against NumPy and tsrnn.nn.

CI runs this module with ``NUMBA_ENABLE_CUDASIM=1`` (set before numba is
imported), like test_cuda_kernels.py. The simulator runs one Python thread per
CUDA thread and the blocks one after another, so shapes are tiny and the
launches small (32 threads, at most 3 blocks), enough to exercise several
blocks, grid-stride loops and the reductions' trees. The losses and optimizers
are checked against the CPU training path's own functions
(tsrnn.nn.losses, tsrnn.nn.optimizers). The PTX compile test is in
test_cuda_compile.py.
"""

import numpy as np
import pytest

from .._cuda import require_cuda  # noqa: E402

cuda = require_cuda()

from tsrnn.kernels import cuda_train  # noqa: E402
from tsrnn.nn import losses, optimizers  # noqa: E402

# The simulator computes in float64 whatever the dtype; on a GPU float32 is float32.
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=1e-4, atol=1e-5)}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)

THREADS, MAX_BLOCKS = 32, 3  # 96 threads per grid-stride launch: the shapes below are larger


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    """Blocks of 32 threads and at most 3 of them, so several blocks and strided loops run."""
    monkeypatch.setattr(cuda_train, "THREADS", THREADS)
    monkeypatch.setattr(cuda_train, "MAX_BLOCKS", MAX_BLOCKS)


def nans(shape, dtype):
    """An output buffer whose unwritten elements show."""
    return np.full(shape, np.nan, dtype)


# --- gather, layer_output, multiply --------------------------------------------------------------


@DTYPES
def test_gather_inputs_and_targets(dtype, rng):
    X = rng.standard_normal((5, 9, 3)).astype(dtype)  # (T, N, D)
    idx = np.array([4, 0, 8, 4, 2, 7, 1], np.int64)  # repeats, first and last sample
    out = nans((5, 7, 3), dtype)  # 105 elements: more than one grid-stride pass
    cuda_train.gather(X, idx, out)
    np.testing.assert_array_equal(out, X[:, idx])
    y = rng.standard_normal((9, 2)).astype(dtype)
    rows = nans((1, 7, 2), dtype)
    cuda_train.gather(y.reshape(1, 9, 2), idx, rows)
    np.testing.assert_array_equal(rows[0], y[idx])


def test_gather_from_strided_columns(rng):
    """A strided device source (columns ``X[:, a:b]``, as the device predict path passes) is read as it is
    (numba copies only contiguous host arrays)."""
    X = rng.standard_normal((4, 12, 3))
    src = cuda.to_device(X)[:, 3:10]
    assert not src.is_c_contiguous()
    idx = np.array([6, 0, 3], np.int64)
    out = nans((4, 3, 3), np.float64)
    cuda_train.gather(src, idx, out)
    np.testing.assert_array_equal(out, X[:, 3:10][:, idx])


def test_gather_index_out_of_range_gives_nan(rng):
    X = rng.standard_normal((2, 5, 3))
    out = np.zeros((2, 3, 3))
    cuda_train.gather(X, np.array([1, 5, -1], np.int64), out)
    np.testing.assert_array_equal(out[:, 0], X[:, 1])
    assert np.isnan(out[:, 1:]).all()


@DTYPES
@pytest.mark.parametrize("S", [1, 2])
@pytest.mark.parametrize("masked", [False, True])
def test_layer_output(S, masked, dtype, rng):
    T, B, H = 4, 5, 6  # 120 elements
    states = rng.standard_normal((T + 1, S, B, H)).astype(dtype)
    mask = (rng.random((T, B, H)) > 0.4).astype(dtype) / dtype(0.6) if masked else np.empty((0, 0, 0), dtype)
    out = nans((T, B, H), dtype)
    cuda_train.layer_output(states, mask, out)
    expected = states[1:, 0] * mask if masked else states[1:, 0]
    np.testing.assert_array_equal(out, expected)


@DTYPES
def test_multiply(dtype, rng):
    a = rng.standard_normal((4, 5, 6)).astype(dtype)
    mask = rng.standard_normal((4, 5, 6)).astype(dtype)
    expected = a * mask
    cuda_train.multiply(a, mask)
    np.testing.assert_array_equal(a, expected)


# --- dropout masks -------------------------------------------------------------------------------


def test_splitmix64_reference():
    """The host-side hash is SplitMix64 (its published outputs for seed 1234567), and the kernels'
    compiled ``random_bits`` computes the same bits in wrapping uint64 arithmetic."""
    state, outputs = 1234567, []
    for _ in range(5):
        state += cuda_train._GAMMA
        outputs.append(cuda_train.splitmix64(state))
    assert outputs == [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                       16408922859458223821]  # fmt: skip
    for key in (0, 1, 2**63 + 12345, 2**64 - 1):
        for e in (0, 1, 77, 2**40 + 3):
            expected = cuda_train.splitmix64(key + (e + 1) * cuda_train._GAMMA)
            assert int(cuda_train.random_bits(np.uint64(key), e, np.uint64(0))) == expected
            assert int(cuda_train.random_bits(np.uint64(key), e, np.uint64(40))) == expected >> 40


def reference_mask(seed, p, shape, dtype):
    """The documented mask, element by element with Python ints."""
    key = cuda_train.splitmix64(seed + cuda_train._GAMMA)
    mantissa = np.finfo(dtype).nmant + 1
    size = int(np.prod(shape))
    bits = [cuda_train.splitmix64(key + (e + 1) * cuda_train._GAMMA) >> (64 - mantissa) for e in range(size)]
    u = np.array(bits, np.float64) * 2.0**-mantissa
    keep = dtype(1.0) / dtype(1.0 - p)
    return np.where(u >= p, keep, dtype(0.0)).astype(dtype).reshape(shape)


@DTYPES
def test_dropout_mask(dtype, monkeypatch):
    shape, p = (60, 50), 0.3  # 3000 elements
    mask = nans(shape, dtype)
    cuda_train.dropout_mask(12345, p, mask)
    keep = dtype(1.0) / dtype(1.0 - p)
    assert set(np.unique(mask)) == {dtype(0.0), keep}
    # binomial standard deviation of the kept fraction: sqrt(0.21 / 3000) = 0.008
    assert abs(np.mean(mask > 0) - (1 - p)) < 0.03
    np.testing.assert_array_equal(mask, reference_mask(12345, p, shape, dtype))
    again = nans(shape, dtype)
    cuda_train.dropout_mask(12345, p, again)
    np.testing.assert_array_equal(again, mask)
    other = nans(shape, dtype)
    cuda_train.dropout_mask(12346, p, other)
    assert np.mean(other != mask) > 0.2  # about 2 p (1 - p) = 0.42 of the elements differ
    # the launch configuration does not enter the mask
    monkeypatch.setattr(cuda_train, "THREADS", 64)
    monkeypatch.setattr(cuda_train, "MAX_BLOCKS", 1)
    relaunched = nans(shape, dtype)
    cuda_train.dropout_mask(12345, p, relaunched)
    np.testing.assert_array_equal(relaunched, mask)


def test_dropout_mask_p_zero_and_large_seed():
    mask = nans((3, 4, 5), np.float32)
    cuda_train.dropout_mask(2**63 - 1, 0.0, mask)
    np.testing.assert_array_equal(mask, 1.0)


def test_dropout_mask_rejects_bad_arguments():
    mask = np.zeros((4, 5))
    for seed in (-1, 2**63):
        with pytest.raises(ValueError, match="seed"):
            cuda_train.dropout_mask(seed, 0.5, mask)
    for p in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="probability"):
            cuda_train.dropout_mask(1, p, mask)
    with pytest.raises(ValueError, match="C-contiguous"):
        cuda_train.dropout_mask(1, 0.5, mask.T)
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda_train.dropout_mask(1, 0.5, np.zeros(3, np.int32))


# --- losses --------------------------------------------------------------------------------------

B, N_OUT, Q, N_CLASSES = 5, 2, 3, 4
QUANTILES = np.array([0.1, 0.5, 0.9])
REFERENCE_LOSSES = {
    "mse": losses.mse,
    "mae": losses.mae,
    "huber": losses.huber,
    "quantile": losses.quantile,
    "cross_entropy": losses.softmax_cross_entropy,
}


def loss_problem(name, Tp, dtype, rng):
    """``pred (Tp, B, P)``, ``target (B, Tp, n)`` and quantiles, with errors on both sides of the
    Huber delta and one exact zero error (the sign's and the pinball's kink)."""
    if name == "cross_entropy":
        P = n = N_CLASSES
        classes = rng.integers(0, N_CLASSES, B * Tp)
        weights = np.array([1.0, 2.5, 0.5, 1.5])  # class weights, as the classifier passes them
        target = (np.eye(N_CLASSES)[classes] * weights[classes, None]).reshape(B, Tp, n)
        pred = 3.0 * rng.standard_normal((Tp, B, P))
    else:
        n = N_OUT
        P = n * Q if name == "quantile" else n
        target = rng.standard_normal((B, Tp, n))
        pred = 2.0 * rng.standard_normal((Tp, B, P))
        pred[0, 0, 0] = target[0, 0, 0]
    return pred.astype(dtype), target.astype(dtype), QUANTILES.astype(dtype)


def device_loss(kind, pred, target, quantiles):
    dpred, terms = nans(pred.shape, pred.dtype), nans(pred.shape, pred.dtype)
    cuda_train.loss_terms(cuda_train.LOSS_KINDS[kind], pred, target, quantiles, dpred, terms)
    return dpred, terms


def reference_loss(name, pred, target, quantiles):
    """The CPU loss on the rows in sample-major order, as the network passes a per-step head."""
    Tp, B_, P = pred.shape
    rows = pred.transpose(1, 0, 2).reshape(B_ * Tp, P)
    value, grad = REFERENCE_LOSSES[name](rows, target.reshape(B_ * Tp, -1), quantiles)
    return value, grad.reshape(B_, Tp, P).transpose(1, 0, 2)


@DTYPES
@pytest.mark.parametrize("Tp", [1, 3])
@pytest.mark.parametrize("name", sorted(REFERENCE_LOSSES))
def test_loss_terms_match_the_cpu_losses(name, Tp, dtype, rng):
    pred, target, quantiles = loss_problem(name, Tp, dtype, rng)
    dpred, terms = device_loss(name, pred, target, quantiles)
    value, grad = reference_loss(name, pred, target, quantiles)
    np.testing.assert_allclose(dpred, grad, **TOL[dtype])
    np.testing.assert_allclose(terms.astype(np.float64).sum(), value, **TOL[dtype])
    out = nans(4, dtype)
    cuda_train.sum_into(terms, out, 2)
    np.testing.assert_allclose(out[2], value, **TOL[dtype])


def test_loss_comparison_can_fail(rng):
    """Control: the mse kernel does not pass for the mae reference."""
    pred, target, quantiles = loss_problem("mse", 3, np.float64, rng)
    dpred, terms = device_loss("mse", pred, target, quantiles)
    value, grad = reference_loss("mae", pred, target, quantiles)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(dpred, grad, **TOL[np.float64])
    assert not np.isclose(terms.sum(), value)


def test_mae_and_huber_gradients_keep_nan(rng):
    """A NaN prediction gives a NaN gradient (np.sign's), never a silent 0."""
    for name in ("mae", "huber"):
        pred, target, quantiles = loss_problem(name, 1, np.float64, rng)
        pred[0, 1, 1] = np.nan
        dpred, terms = device_loss(name, pred, target, quantiles)
        assert np.isnan(dpred[0, 1, 1]) and np.isnan(terms[0, 1, 1])
        assert np.isfinite(np.delete(dpred.ravel(), 1 * N_OUT + 1)).all()


def test_huber_delta_is_the_cpu_loss_delta():
    assert cuda_train.HUBER_DELTA == losses.HUBER_DELTA


def test_loss_terms_reject_bad_shapes(rng):
    pred, target, quantiles = loss_problem("quantile", 1, np.float64, rng)
    dpred, terms = np.empty_like(pred), np.empty_like(pred)
    with pytest.raises(ValueError, match="n \\* Q"):
        cuda_train.loss_terms(cuda_train.LOSS_KINDS["quantile"], pred, target, quantiles[:2], dpred, terms)
    with pytest.raises(ValueError, match="P = n"):
        cuda_train.loss_terms(cuda_train.LOSS_KINDS["mse"], pred, target, quantiles, dpred, terms)
    with pytest.raises(ValueError, match="LOSS_KINDS"):
        cuda_train.loss_terms(7, pred, target, quantiles, dpred, terms)
    with pytest.raises(TypeError, match="target has dtype float32"):
        cuda_train.loss_terms(3, pred, target.astype(np.float32), quantiles, dpred, terms)


# --- reductions ----------------------------------------------------------------------------------


@DTYPES
def test_sum_into(dtype, rng):
    a = rng.standard_normal((5, 40)).astype(dtype)  # 200 elements: 7 strided partials per thread
    out = nans(3, dtype)
    cuda_train.sum_into(a, out, 1)
    np.testing.assert_allclose(out[1], a.astype(np.float64).sum(), **TOL[dtype])
    assert np.isnan(out[[0, 2]]).all()  # only out[i] is written
    with pytest.raises(IndexError, match="out index 3"):
        cuda_train.sum_into(a, out, 3)


def norm_of(grad, losses_=None, i=0, status=0):
    dtype = grad.dtype.type
    losses_ = np.ones(2, dtype) if losses_ is None else losses_
    norm, status_ = nans(1, dtype), np.array([status], np.int32)
    cuda_train.grad_norm(grad, losses_, i, norm, status_)
    return norm[0], status_[0]


@DTYPES
def test_grad_norm(dtype, rng):
    grad = rng.standard_normal(500).astype(dtype)
    norm, status = norm_of(grad)
    np.testing.assert_allclose(norm, np.linalg.norm(grad.astype(np.float64)), **TOL[dtype])
    assert status == 0
    assert norm_of(np.zeros(100, dtype)) == (0.0, 0)
    assert norm_of(np.empty(0, dtype)) == (0.0, 0)


@pytest.mark.parametrize("scale", [1e30, 1e-30])
def test_grad_norm_float32_neither_overflows_nor_underflows(scale, rng):
    grad = (scale * rng.standard_normal(300)).astype(np.float32)
    with np.errstate(over="ignore", under="ignore"):
        plain = np.sqrt(np.dot(grad, grad))  # control: the float32 sum of squares overflows or underflows
    assert not np.isclose(plain, np.linalg.norm(grad.astype(np.float64)), rtol=1e-2, atol=0.0)
    norm, status = norm_of(grad)
    assert status == 0 and np.isfinite(norm)
    np.testing.assert_allclose(norm, np.linalg.norm(grad.astype(np.float64)), rtol=1e-5)


@DTYPES
def test_grad_norm_flags_what_is_not_finite(dtype, rng):
    grad = rng.standard_normal(200).astype(dtype)
    for bad, expected in ((np.nan, np.isnan), (np.inf, np.isposinf), (-np.inf, np.isposinf)):
        g = grad.copy()
        g[137] = bad
        norm, status = norm_of(g)
        assert status == 1 and expected(norm), (bad, norm)
    for bad in (np.nan, np.inf):
        losses_ = np.array([1.0, bad, 2.0], dtype)
        assert norm_of(grad, losses_, i=1)[1] == 2  # the 1-based index of the first non-finite batch
        assert norm_of(grad, losses_, i=2)[1] == 0  # only this batch's loss is checked
    # sticky: neither a finite step nor a later non-finite one changes it
    assert norm_of(grad, status=1)[1] == 1
    g = grad.copy()
    g[0] = np.nan
    assert norm_of(g, i=1, status=1)[1] == 1


# --- optimizers ----------------------------------------------------------------------------------

OPTIMIZER_CASES = {
    # name: (kind, optimizer keyword arguments)
    "sgd": (0, {}),
    "momentum": (1, {"momentum": 0.8}),
    "adam": (2, {}),
    "adamw": (2, {}),
}


def device_update(name, opt, params, grad, m, v, clip_norm, status):
    """One ``optimizer_step`` with the host scalars taken from the CPU optimizer ``opt`` (as the device
    training loop derives them), after ``grad_norm``."""
    dtype = params.dtype.type
    kind = OPTIMIZER_CASES[name][0]
    norm = nans(1, dtype)
    cuda_train.grad_norm(grad, np.zeros(1, dtype), 0, norm, status)
    lr, wd = opt.learning_rate, opt.weight_decay
    decoupled = name == "adamw"
    momentum = getattr(opt, "momentum", 0.0)
    beta1, beta2, eps, bias1, bias2_sqrt = 0.0, 0.0, 0.0, 1.0, 1.0
    if kind == 2:
        t = opt.t  # the CPU optimizer's step count after its own step
        beta1, beta2, eps = opt.beta1, opt.beta2, opt.eps
        bias1, bias2_sqrt = 1.0 - beta1**t, float(np.sqrt(1.0 - beta2**t))
    cuda_train.optimizer_step(
        kind, params, grad, m, v, norm, status, clip_norm, lr, wd if decoupled else 0.0, 0.0 if decoupled else wd,
        momentum, beta1, beta2, eps, bias1, bias2_sqrt,
    )  # fmt: skip
    return norm[0]


@DTYPES
@pytest.mark.parametrize("name", sorted(OPTIMIZER_CASES))
def test_optimizer_step_matches_the_cpu_optimizers(name, dtype, rng):
    size, clip_norm = 150, 1.0
    params = rng.standard_normal(size).astype(dtype)
    ref_params = params.copy()
    opt = optimizers.OPTIMIZERS[name](ref_params, 0.05, weight_decay=0.1, **OPTIMIZER_CASES[name][1])
    m, v = np.zeros(size, dtype), np.zeros(size, dtype)
    status = np.zeros(1, np.int32)
    # gradient norms about 3.7, 0.37, 7.3: clipped, not clipped, clipped
    for scale in (0.3, 0.03, 0.6):
        grad = (scale * rng.standard_normal(size)).astype(dtype)
        ref_grad = grad.copy()
        ref_norm = optimizers.clip_grad_norm(ref_grad, clip_norm)
        opt.step(ref_params, ref_grad)
        norm = device_update(name, opt, params, grad, m, v, clip_norm, status)
        np.testing.assert_allclose(norm, ref_norm, **TOL[dtype])
        np.testing.assert_allclose(params, ref_params, **TOL[dtype])
        if name == "momentum":
            np.testing.assert_allclose(m, opt.velocity, **TOL[dtype])
        if name in ("adam", "adamw"):
            np.testing.assert_allclose(m, opt.m, **TOL[dtype])
            np.testing.assert_allclose(v, opt.v, **TOL[dtype])
        if name == "sgd":
            assert not m.any() and not v.any()  # never touched
    assert status[0] == 0


@pytest.mark.parametrize("name", sorted(OPTIMIZER_CASES))
def test_optimizer_step_does_nothing_once_diverged(name, rng):
    params, grad = rng.standard_normal(120), rng.standard_normal(120)
    m, v = rng.standard_normal(120), rng.random(120)
    before = params.copy(), m.copy(), v.copy()
    opt = optimizers.OPTIMIZERS[name](params.copy(), 0.05, weight_decay=0.1, **OPTIMIZER_CASES[name][1])
    if name.startswith("adam"):
        opt.t = 1
    status = np.ones(1, np.int32)
    device_update(name, opt, params, grad, m, v, 1.0, status)
    for after, was in zip((params, m, v), before):
        np.testing.assert_array_equal(after, was)
    # and a NaN gradient sets the flag within the same step, so that step keeps the weights
    grad[5] = np.nan
    status[0] = 0
    device_update(name, opt, params, grad, m, v, 1.0, status)
    assert status[0] == 1
    np.testing.assert_array_equal(params, before[0])


def test_optimizer_step_rejects_bad_arguments(rng):
    params = rng.standard_normal(10)
    norm, status = np.ones(1), np.zeros(1, np.int32)
    args = (0.0, 0.1, 0.0, 0.0, 0.0, 0.9, 0.999, 1e-8, 1.0, 1.0)
    with pytest.raises(ValueError, match="OPTIMIZER_KINDS"):
        cuda_train.optimizer_step(3, params, params.copy(), params, params, norm, status, *args)
    with pytest.raises(ValueError, match="grad has shape"):
        cuda_train.optimizer_step(0, params, params[:5].copy(), params, params, norm, status, *args)
    with pytest.raises(ValueError, match="status must be an int32"):
        cuda_train.optimizer_step(0, params, params.copy(), params, params, norm, np.zeros(1), *args)
    with pytest.raises(ValueError, match="bias1"):
        cuda_train.optimizer_step(2, params, params.copy(), params.copy(), params.copy(), norm, status, *args[:8],
                                  0.0, 1.0)  # fmt: skip


def test_device_arrays_as_the_training_loop_passes_them(rng):
    """Device arrays, read flat through reshaped views, and the unused moments aliasing the gradient
    (sgd) or each other (momentum), as tsrnn.nn.device passes them."""
    mask = cuda.device_array((3, 4, 5), np.float64)
    cuda_train.dropout_mask(7, 0.5, mask)
    np.testing.assert_array_equal(mask.copy_to_host(), reference_mask(7, 0.5, (3, 4, 5), np.float64))
    a = rng.standard_normal((3, 4, 5))
    a_d = cuda.to_device(a)
    cuda_train.multiply(a_d, mask)
    np.testing.assert_array_equal(a_d.copy_to_host(), a * mask.copy_to_host())
    params, grad = rng.standard_normal(100), rng.standard_normal(100)
    norm, status = cuda.to_device(np.array([np.linalg.norm(grad)])), cuda.to_device(np.zeros(1, np.int32))
    p_d, g_d = cuda.to_device(params), cuda.to_device(grad)
    cuda_train.optimizer_step(0, p_d, g_d, g_d, g_d, norm, status, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0)
    np.testing.assert_allclose(p_d.copy_to_host(), params - 0.1 * grad, **TOL[np.float64])
    np.testing.assert_array_equal(g_d.copy_to_host(), grad)
    velocity = cuda.to_device(np.ones(100))
    cuda_train.optimizer_step(1, p_d, g_d, velocity, velocity, norm, status, 0.0, 0.1, 0.0, 0.0, 0.5, 0.0, 0.0,
                              0.0, 1.0, 1.0)  # fmt: skip
    np.testing.assert_allclose(velocity.copy_to_host(), 0.5 + grad, **TOL[np.float64])
    np.testing.assert_allclose(p_d.copy_to_host(), params - 0.1 * grad - 0.1 * (0.5 + grad), **TOL[np.float64])


# --- bidirectional layers and token input ---------------------------------------------------------


@DTYPES
def test_reverse_time_and_add_reversed(dtype, rng):
    src = rng.standard_normal((4, 5, 6)).astype(dtype)  # 120 elements: more than one grid-stride pass
    out = nans(src.shape, dtype)
    cuda_train.reverse_time(src, out)
    np.testing.assert_array_equal(out, src[::-1])
    a = rng.standard_normal(src.shape).astype(dtype)
    expected = a + src[::-1]
    cuda_train.add_reversed(a, src)
    np.testing.assert_array_equal(a, expected)


@DTYPES
@pytest.mark.parametrize("S", [1, 2])
@pytest.mark.parametrize("masked", [False, True])
def test_join_directions_of_training_states(S, masked, dtype, rng):
    """A bidirectional layer's outputs ``[forward | reverse reversed back]``, as network._layer_output."""
    T, B, H = 4, 3, 5  # 120 outputs
    forward, reverse = (rng.standard_normal((T + 1, S, B, H)).astype(dtype) for _ in range(2))
    mask = (rng.random((T, B, 2 * H)) > 0.4).astype(dtype) / dtype(0.6) if masked else np.empty((0, 0, 0), dtype)
    out = nans((T, B, 2 * H), dtype)
    cuda_train.join_directions(forward, reverse, 1, mask, out)
    expected = np.concatenate([forward[1:, 0], reverse[:0:-1, 0]], axis=2)  # reverse states T, ..., 1
    np.testing.assert_array_equal(out, expected * mask if masked else expected)


@DTYPES
def test_join_directions_final_states(dtype, rng):
    """The head's input, torch's h_n: both directions' final states, from the training states (t0 = T)
    and from the inference stateT viewed as one step (t0 = 0)."""
    T, S, B, H = 3, 2, 4, 5
    forward, reverse = (rng.standard_normal((T + 1, S, B, H)).astype(dtype) for _ in range(2))
    out = nans((1, B, 2 * H), dtype)
    cuda_train.join_directions(forward, reverse, T, np.empty((0, 0, 0), dtype), out)
    np.testing.assert_array_equal(out[0], np.concatenate([forward[T, 0], reverse[T, 0]], axis=1))
    out[:] = np.nan
    cuda_train.join_directions(forward[T:], reverse[T:], 0, np.empty((0, 0, 0), dtype), out)
    np.testing.assert_array_equal(out[0], np.concatenate([forward[T, 0], reverse[T, 0]], axis=1))


def test_join_directions_rejects_bad_arguments(rng):
    states = rng.standard_normal((4, 1, 2, 3))
    no_mask = np.empty((0, 0, 0))
    with pytest.raises(IndexError, match="out of range"):
        cuda_train.join_directions(states, states, 2, no_mask, np.zeros((3, 2, 6)))
    with pytest.raises(ValueError, match="out has shape"):
        cuda_train.join_directions(states, states, 1, no_mask, np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match="reverse has shape"):
        cuda_train.join_directions(states, states[:3], 1, no_mask, np.zeros((3, 2, 6)))


@DTYPES
@pytest.mark.parametrize("T", [1, 4])
def test_split_directions(T, dtype, rng):
    """Each direction's half of the upstream gradient in its own time order (T = 1: the final state's)."""
    B, H = 5, 3
    d = rng.standard_normal((T, B, 2 * H)).astype(dtype)
    d_forward, d_reverse = nans((T, B, H), dtype), nans((T, B, H), dtype)
    cuda_train.split_directions(d, d_forward, d_reverse)
    np.testing.assert_array_equal(d_forward, d[:, :, :H])
    np.testing.assert_array_equal(d_reverse, d[::-1, :, H:])
    with pytest.raises(ValueError, match="even number of features"):
        cuda_train.split_directions(d[:, :, 1:], d_forward, d_reverse)


@DTYPES
def test_embed(dtype, rng):
    V, D, T, N = 6, 4, 3, 9
    E = rng.standard_normal((V, D)).astype(dtype)
    tokens = rng.integers(0, V, (T, N)).astype(np.int64)
    idx = np.array([8, 0, 3, 3, 5, 1, 7], np.int64)  # repeats, first and last sample; 84 elements
    out = nans((T, idx.size, D), dtype)
    cuda_train.embed(E, tokens, idx, out)
    np.testing.assert_array_equal(out, E[tokens[:, idx]])


def test_embed_out_of_range_gives_nan(rng):
    E = rng.standard_normal((3, 2))
    tokens = np.array([[0, 3, 1], [2, 1, -1]], np.int64)  # ids 3 and -1 out of range
    out = np.zeros((2, 3, 2))
    cuda_train.embed(E, tokens, np.array([0, 1, 7], np.int64), out)  # sample 7 out of range
    np.testing.assert_array_equal(out[:, 0], E[tokens[:, 0]])
    assert np.isnan(out[0, 1]).all() and np.isnan(out[:, 2]).all()
    np.testing.assert_array_equal(out[1, 1], E[1])
    with pytest.raises(TypeError, match="tokens must be a 2-D int64 array"):
        cuda_train.embed(E, tokens.astype(np.int32), np.array([0], np.int64), np.zeros((2, 1, 2)))


def test_token_positions(rng):
    tokens = np.array([[3, 0, 3], [1, 3, 0]])  # (T, B) = (2, 3): token 2 unused, 3 repeated
    distinct, starts, positions = cuda_train.token_positions(tokens, vocab_size=5)
    np.testing.assert_array_equal(distinct, [0, 1, 3])
    groups = [positions[starts[s] : starts[s + 1]].tolist() for s in range(distinct.size)]
    assert groups == [[1, 5], [3], [0, 2, 4]]  # flat positions t * B + b, ascending
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 3\)"):
        cuda_train.token_positions(tokens, vocab_size=3)


@DTYPES
@pytest.mark.parametrize("bidirectional", [False, True])
def test_embedding_grad_matches_add_at(bidirectional, dtype, rng):
    """The CPU path's scatter-add (network._loss_and_grad): zeros for unused tokens, repeats summed."""
    V, D, T, B = 7, 3, 4, 5
    tokens = rng.integers(0, V - 2, (T, B))  # the last two ids unused
    tokens[0, 0] = tokens[3, 4] = tokens[1, 2]  # a repeated id across steps and samples
    dx = rng.standard_normal((T, B, D)).astype(dtype)
    dx_rev = rng.standard_normal((T, B, D)).astype(dtype) if bidirectional else np.empty((0, 0, 0), dtype)
    grad = nans((V, D), dtype)
    cuda_train.embedding_grad(dx, dx_rev, *cuda_train.token_positions(tokens, V), grad)
    expected = np.zeros((V, D), dtype)
    np.add.at(expected, tokens.ravel(), (dx + dx_rev[::-1] if bidirectional else dx).reshape(T * B, D))
    np.testing.assert_allclose(grad, expected, **TOL[dtype])
    assert not grad[V - 2 :].any()


def test_embedding_grad_is_deterministic_on_device_arrays(rng):
    V, D, T, B = 5, 2, 3, 8
    tokens = rng.integers(0, V, (T, B))
    dx = cuda.to_device(rng.standard_normal((T, B, D)))
    positions = [cuda.to_device(a) for a in cuda_train.token_positions(tokens, V)]
    results = []
    for _ in range(2):
        grad = cuda.to_device(np.full((V, D), np.nan))
        cuda_train.embedding_grad(dx, cuda_train._unused(3, np.float64), *positions, grad)
        results.append(grad.copy_to_host())
    np.testing.assert_array_equal(results[0], results[1])
    assert np.isfinite(results[0]).all()


def test_embedding_grad_rejects_bad_arguments(rng):
    dx = rng.standard_normal((2, 3, 4))
    distinct, starts, positions = cuda_train.token_positions(np.array([[0, 1, 1], [2, 0, 1]]), 3)
    with pytest.raises(ValueError, match=r"grad must have shape \(V, D=4\)"):
        cuda_train.embedding_grad(dx, np.empty((0, 0, 0)), distinct, starts, positions, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="distinct holds ids outside"):
        cuda_train.embedding_grad(dx, np.empty((0, 0, 0)), distinct, starts, positions, np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"positions must lie in \[0, T \* B\)"):
        cuda_train.embedding_grad(dx[:1], np.empty((0, 0, 0)), distinct, starts, positions, np.zeros((3, 4)))
