"""The numba CPU kernels against the float64 NumPy reference.

Shapes stay small: every (cell, dtype) pair compiles three parallel kernels
once (seconds each on a cold cache), and inputs are always C-contiguous with
an int ``act``, so the whole module adds exactly one signature per dtype.
"""

import ast
import inspect
import os
import pathlib
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import tsrnn
from tsrnn import _config
from tsrnn.kernels import ACTIVATIONS, CELLS, get_cell, get_kernels, reference, work_size

from ._helpers import assert_same_results, make_problem

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "selu"), ("lstm", "tanh"), ("gru", "tanh")]
DTYPES = [np.float64, np.float32]
# float32 kernels are compared with the float64 reference on the same
# float32-cast inputs.
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=1e-4, atol=1e-5)}
OUTPUTS = ("out", "stateT", "states", "gates", "dx", "dstate0", "dW_ih", "dW_hh", "db_ih", "db_hh")


def layer_problem(cell, B, T, D, H, dtype, rng):
    """One layer's time-major inputs, cast to ``dtype``.

    Weights are at most PyTorch's init scale ``U(-1/sqrt(H), 1/sqrt(H))``: larger
    recurrent weights make long sequences chaotic, and then float32 rounding
    grows exponentially with T whatever the kernel.
    """
    x, params, state0, dout, dstateT = make_problem(cell, B, T, D, H, 1, rng)
    scale = min(1.0, 2.0 / np.sqrt(H))  # make_problem draws from U(-0.5, 0.5)
    c = lambda a: np.ascontiguousarray(a, dtype=dtype)
    return dict(
        x=c(x.transpose(1, 0, 2)),
        state0=c(state0[0]),
        weights=tuple(c(scale * w) for w in params[0]),
        dout=c(dout.transpose(1, 0, 2)),
        dstateT=c(dstateT[0]),
    )


def work(cell, kind, x, H, workspace=True):
    """The kernels' scratch array: NaN-filled (kernels must not read what they did
    not write) and of the documented size, or empty so that the kernel allocates."""
    if not workspace:
        return np.empty(0, x.dtype)
    return np.full(work_size(cell, kind, x.shape[1], x.shape[2], H), np.nan, x.dtype)


def kernel_forward_train(cell, activation, x, state0, weights, workspace=True):
    spec = get_cell(cell)
    T, B, _ = x.shape
    S, _, H = state0.shape
    # NaN-filled outputs: anything a kernel forgets to write shows up.
    states = np.full((T + 1, S, B, H), np.nan, x.dtype)
    gates = np.full((T, B, spec.cache_factor * H), np.nan, x.dtype)
    w = work(cell, "forward_train", x, H, workspace)
    get_kernels(cell).forward_train(x, state0, *weights, ACTIVATIONS[activation], states, gates, w)
    return states, gates


def kernel_backward(cell, activation, x, weights, states, gates, dout, dstateT, with_dx=True, workspace=True):
    """``(dx, dstate0, dW_ih, dW_hh, db_ih, db_hh)``; ``dx`` has size 0 unless ``with_dx``."""
    dx = np.full(x.shape, np.nan, x.dtype) if with_dx else np.empty((0, 0, 0), x.dtype)
    dstate0 = np.full(dstateT.shape, np.nan, x.dtype)
    grads = [np.full(w.shape, np.nan, x.dtype) for w in weights]
    w = work(cell, "backward", x, dstateT.shape[2], workspace)
    get_kernels(cell).backward(
        x, *weights, ACTIVATIONS[activation], states, gates, dout, dstateT, dx, dstate0, *grads, w
    )
    return (dx, dstate0, *grads)


def kernel_forward(cell, activation, x, state0, weights, with_out=True, workspace=True):
    """``(out, stateT)`` of the inference kernel; ``out`` has size 0 unless ``with_out``."""
    T, B, _ = x.shape
    S, _, H = state0.shape
    out = np.full((T, B, H), np.nan, x.dtype) if with_out else np.empty((0, 0, 0), x.dtype)
    stateT = np.full((S, B, H), np.nan, x.dtype)
    w = work(cell, "forward", x, H, workspace)
    get_kernels(cell).forward(x, state0, *weights, ACTIVATIONS[activation], out, stateT, w)
    return out, stateT


def kernel_layer(cell, activation, x, state0, weights, dout, dstateT, with_dx=True, workspace=True):
    """All outputs of the three kernels of one layer, by name."""
    out, stateT = kernel_forward(cell, activation, x, state0, weights, workspace=workspace)
    states, gates = kernel_forward_train(cell, activation, x, state0, weights, workspace)
    grads = kernel_backward(cell, activation, x, weights, states, gates, dout, dstateT, with_dx, workspace)
    return dict(zip(OUTPUTS, (out, stateT, states, gates, *grads)))


def reference_layer(cell, activation, x, state0, weights, dout, dstateT):
    f64 = lambda a: np.asarray(a, np.float64)
    weights = tuple(map(f64, weights))
    states, gates = reference.layer_forward(cell, f64(x), f64(state0), *weights, activation)
    grads = reference.layer_backward(cell, f64(x), *weights, states, gates, f64(dout), f64(dstateT), activation)
    return dict(zip(OUTPUTS, (states[1:, 0], states[-1], states, gates, *grads)))


def kernel_network(cell, activation, x, params, state0, dout, dstateT, dtype):
    """Stacked layers through the kernels, with the API of reference.forward + backward.

    ``x (B, T, D)``, ``state0``/``dstateT (L, S, B, H)``, ``dout (B, T, H)``.
    Returns ``out, stateT, dx, dstate0, grads`` like the reference.
    """
    c = lambda a: np.ascontiguousarray(a, dtype=dtype)
    params = [tuple(c(w) for w in layer) for layer in params]
    layer_in = c(x.transpose(1, 0, 2))
    cache = []
    for layer, weights in enumerate(params):
        states, gates = kernel_forward_train(cell, activation, layer_in, c(state0[layer]), weights)
        cache.append((layer_in, states, gates))
        layer_in = c(states[1:, 0])  # a copy: lstm interleaves h and c
    out = layer_in.transpose(1, 0, 2)
    stateT = np.stack([states[-1] for _, states, _ in cache])
    d_layer_out = c(dout.transpose(1, 0, 2))
    dstate0, grads = np.empty_like(stateT), [None] * len(params)
    for layer in range(len(params) - 1, -1, -1):
        layer_in, states, gates = cache[layer]
        dx, dstate0[layer], *grads[layer] = kernel_backward(
            cell, activation, layer_in, params[layer], states, gates, d_layer_out, c(dstateT[layer])
        )
        d_layer_out = dx
    return out, stateT, d_layer_out.transpose(1, 0, 2), dstate0, grads


def assert_layers_close(ours, ref, tol):
    for name in OUTPUTS:
        np.testing.assert_allclose(ours[name], ref[name], err_msg=name, **tol)


# (B, T, D, H): a single sample and step, an odd batch, a batch that fills
# both shards, and one modest size whose input width takes the BLAS
# projection path (D > SMALL_D) instead of the hand loop.
SHAPES = [(1, 1, 3, 5), (7, 13, 3, 5), (64, 6, 2, 16), (33, 20, 12, 48)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "B{}-T{}-D{}-H{}".format(*s))
@pytest.mark.parametrize("cell,activation", CASES)
def test_layer_matches_reference(cell, activation, shape, dtype, rng):
    p = layer_problem(cell, *shape, dtype, rng)
    ours = kernel_layer(cell, activation, **p)
    # out/stateT (inference kernel) and states (training kernel) are each
    # checked against the reference; they agree to rounding, not bit for bit
    # (LLVM may pick differently vectorised loop versions for each).
    assert_layers_close(ours, reference_layer(cell, activation, **p), TOL[dtype])


@pytest.mark.parametrize("cell,activation", CASES)
def test_zero_dout_only_final_state_gradient(cell, activation, rng):
    """The usual case in a network whose head reads the final state only."""
    p = layer_problem(cell, 9, 7, 3, 6, np.float64, rng)
    p["dout"][:] = 0.0
    assert_layers_close(kernel_layer(cell, activation, **p), reference_layer(cell, activation, **p), TOL[np.float64])


@pytest.mark.parametrize("cell,activation", CASES)
def test_empty_dx_skips_input_gradient_only(cell, activation, rng):
    p = layer_problem(cell, 9, 7, 3, 6, np.float32, rng)
    full = kernel_layer(cell, activation, **p)
    skipped = kernel_layer(cell, activation, **p, with_dx=False)
    assert skipped["dx"].size == 0
    for name in OUTPUTS[5:]:
        np.testing.assert_array_equal(skipped[name], full[name], err_msg=name)


@pytest.mark.parametrize("cell,activation", CASES)
def test_optional_outputs_and_inputs(cell, activation, rng):
    """``out`` of size 0 skips the per-step outputs only; ``dout`` of size 0 means zero;
    kernels without a workspace allocate their own and give the same results."""
    p = layer_problem(cell, 9, 7, 3, 6, np.float32, rng)
    full = kernel_layer(cell, activation, **p)
    _, stateT = kernel_forward(cell, activation, p["x"], p["state0"], p["weights"], with_out=False)
    np.testing.assert_array_equal(stateT, full["stateT"])
    own = kernel_layer(cell, activation, **p, workspace=False)
    for name in OUTPUTS:
        np.testing.assert_array_equal(own[name], full[name], err_msg=name)
    zero = np.zeros_like(p["dout"])
    dense = kernel_backward(cell, activation, p["x"], p["weights"], full["states"], full["gates"], zero, p["dstateT"])
    empty = np.empty((0, 0, 0), p["x"].dtype)
    skipped = kernel_backward(
        cell, activation, p["x"], p["weights"], full["states"], full["gates"], empty, p["dstateT"]
    )
    for a, b in zip(dense, skipped):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell,activation", CASES)
def test_empty_sequence(cell, activation, rng):
    p = layer_problem(cell, 4, 3, 2, 5, np.float64, rng)
    p["x"], p["dout"] = p["x"][:0], p["dout"][:0]
    ours = kernel_layer(cell, activation, **p)
    np.testing.assert_array_equal(ours["stateT"], p["state0"])
    np.testing.assert_array_equal(ours["states"], p["state0"][None])
    np.testing.assert_array_equal(ours["dstate0"], p["dstateT"])
    for name in ("dW_ih", "dW_hh", "db_ih", "db_hh"):
        np.testing.assert_array_equal(ours[name], 0.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("cell,activation", CASES)
def test_network_matches_reference(cell, activation, num_layers, dtype, rng):
    x, params, state0, dout, dstateT = make_problem(cell, B=6, T=5, D=3, H=4, num_layers=num_layers, rng=rng)
    if dtype == np.float32:  # the reference sees exactly the float32 inputs
        x, state0, dout, dstateT = (a.astype(dtype).astype(np.float64) for a in (x, state0, dout, dstateT))
        params = [tuple(w.astype(dtype).astype(np.float64) for w in layer) for layer in params]
    out, stateT, cache = reference.forward(cell, x, params, state0, activation)
    dx, dstate0, grads = reference.backward(cell, params, cache, dout, dstateT, activation)
    ours = kernel_network(cell, activation, x, params, state0, dout, dstateT, dtype)
    assert_same_results(ours, (out, stateT, dx, dstate0, grads), **TOL[dtype])


@pytest.mark.parametrize("cell,activation", CASES)
def test_repeated_calls_are_bit_identical(cell, activation, rng):
    p = layer_problem(cell, 64, 9, 3, 8, np.float32, rng)
    first = kernel_layer(cell, activation, **p)
    second = kernel_layer(cell, activation, **p)
    for name in OUTPUTS:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


@pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2 or not _config.PARALLEL, reason="needs parallel kernels and 2+ threads"
)
@pytest.mark.parametrize("cell,activation", CASES)
def test_results_do_not_depend_on_thread_count(cell, activation, rng):
    p = layer_problem(cell, 64, 9, 3, 8, np.float64, rng)
    parallel = kernel_layer(cell, activation, **p)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        serial = kernel_layer(cell, activation, **p)
    finally:
        numba.set_num_threads(previous)
    assert_layers_close(parallel, serial, dict(rtol=1e-12, atol=1e-14))


def test_get_kernels():
    for cell in CELLS:
        kernels = get_kernels(cell)
        assert kernels._fields == ("forward", "forward_train", "backward")
        assert kernels.backward.__name__ == f"{cell}_backward"
    with pytest.raises(ValueError, match="Unknown cell 'xlstm'"):
        get_kernels("xlstm")
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        get_kernels("lstm", device="tpu")


def test_get_kernels_cuda_without_a_gpu_names_what_is_missing():
    """Without numba-cuda, or without a GPU and the simulator, one clear error (the CUDA
    kernels themselves are tested in test_cuda_kernels.py)."""
    try:
        from numba import cuda
    except ImportError:
        cuda = None
    if cuda is not None and getattr(cuda, "implementation", None) == "NVIDIA" and cuda.is_available():
        pytest.skip("numba.cuda is usable here (a GPU or the simulator)")
    with pytest.raises(
        RuntimeError, match="device='cuda' needs (the numba-cuda package|numpy < 2.5|a usable CUDA GPU)"
    ):
        get_kernels("lstm", device="cuda")


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_kernels_share_one_signature_and_document_it(cell):
    expected = "x, state0, W_ih, W_hh, b_ih, b_hh, act"
    kernels = get_kernels(cell)
    assert str(inspect.signature(kernels.forward)) == f"({expected}, out, stateT, work)"
    assert str(inspect.signature(kernels.forward_train)) == f"({expected}, states, gates, work)"
    assert str(inspect.signature(kernels.backward)) == (
        "(x, W_ih, W_hh, b_ih, b_hh, act, states, gates, dout, dstateT, dx, dstate0, dW_ih, dW_hh, db_ih, db_hh, work)"
    )
    for kernel in kernels:
        section = kernel.__doc__.split("Parameters\n    ----------\n")[1]
        # numpydoc: "    name : type" or "    a, b, c" at the first indent level.
        entries = [line for line in section.splitlines() if line.startswith("    ") and line[4:5] not in ("", " ")]
        documented = {name.strip() for line in entries for name in line.split(" : ")[0].split(",")}
        for name in inspect.signature(kernel).parameters:
            assert name in documented, f"{kernel.__name__}: parameter {name!r} is not documented"


# --- rules that keep compilation predictable ---------------------------------

PACKAGE = pathlib.Path(tsrnn.__file__).parent
FLAGS = {"fastmath", "cache", "parallel", "nogil"}


def _decorator_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield from ((node, d) for d in node.decorator_list)


def _name(expr):
    return expr.attr if isinstance(expr, ast.Attribute) else getattr(expr, "id", "")


def test_numba_flags_come_from_config():
    """Only ``_config.py`` sets fastmath/cache/parallel/nogil; every njit takes ``**_config.JIT*``."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_config.py":
            continue
        where = path.relative_to(PACKAGE.parent)
        for func, deco in _decorator_calls(ast.parse(path.read_text())):
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            is_cpu_jit = _name(target) in {"njit", "jit"} and not (
                isinstance(target, ast.Attribute) and _name(target.value) == "cuda"
            )
            if call:
                problems += [
                    f"{where}:{deco.lineno} {func.name}: hard-coded {k.arg}=" for k in call.keywords if k.arg in FLAGS
                ]
            if is_cpu_jit:
                spread = [k.value for k in call.keywords if k.arg is None] if call else []
                if not any(
                    isinstance(v, ast.Attribute) and _name(v.value) == "_config" and v.attr.startswith("JIT")
                    for v in spread
                ):
                    problems.append(f"{where}:{deco.lineno} {func.name}: @{_name(target)} without **_config.JIT")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_two_compiled_entries_with_one_signature_per_dtype(cell):
    """Each cell compiles one serial and one parallel entry (its three kernels are wrappers
    over them) once per dtype: arrays of another layout or integer literals would add
    silent recompiles. One thread runs the serial entry, more the parallel one."""
    from tsrnn.kernels import cpu
    from tsrnn.kernels.warmup import warmup

    warmup([cell], dtypes=("float32", "float64"))
    for compiled in cpu.ENTRIES[cell]:
        dtypes = [next(str(arg.dtype) for arg in sig if hasattr(arg, "dtype")) for sig in compiled.signatures]
        assert sorted(dtypes) == ["float32", "float64"], compiled


@pytest.mark.parametrize("n_threads", [1, 2])
def test_thread_count_picks_the_entry(n_threads, monkeypatch, rng):
    """One thread runs the serial entry (a default fit never compiles numba's parallel
    passes), more threads the parallel one; both give the same numbers."""
    from tsrnn.kernels import cpu

    if n_threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs 2 threads")
    used = []
    serial, parallel = cpu.ENTRIES["gru"]

    def recording(name, entry):
        return lambda *args: (used.append(name), entry(*args))

    monkeypatch.setitem(cpu.ENTRIES, "gru", (recording("serial", serial), recording("parallel", parallel)))
    forward = cpu.cell_kernels("gru")[0]
    p = layer_problem("gru", 4, 3, 2, 3, np.float64, rng)
    out = np.empty((3, 4, 3))
    stateT = np.empty((1, 4, 3))
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        forward(p["x"], p["state0"], *p["weights"], 0, out, stateT, np.empty(0))
    finally:
        numba.set_num_threads(previous)
    assert used == ["serial" if n_threads == 1 else "parallel"]
    expected, _ = kernel_forward("gru", "tanh", p["x"], p["state0"], p["weights"])
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def _run_python(code):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_compiles_nothing():
    out = _run_python(
        """
        import sys
        import tsrnn, tsrnn.kernels
        loaded = sorted(m for m in sys.modules if m.startswith("tsrnn.kernels."))
        import gc
        from numba.core.dispatcher import Dispatcher
        compiled = [d for d in gc.get_objects() if isinstance(d, Dispatcher) and d.overloads]
        print(loaded, len(compiled))
        """
    )
    assert out.split() == ["[]", "0"]


@pytest.mark.skipif(not _config.CACHE, reason="TSRNN_CACHE is off")
def test_fresh_process_loads_kernels_from_cache(rng):
    """What users pay once: a second process must compile nothing."""
    p = layer_problem("gru", 3, 2, 2, 3, np.float64, rng)
    kernel_layer("gru", "tanh", **p)  # compiles (and caches) if not cached yet
    out = _run_python(
        """
        import numpy as np
        from tsrnn.kernels import get_kernels
        f = np.zeros
        x, s0, W = f((2, 3, 2)), f((1, 3, 3)), [f((9, 2)), f((9, 3)), f(9), f(9)]
        k = get_kernels("gru")
        states, gates, work = f((3, 1, 3, 3)), f((2, 3, 12)), f(0)
        k.forward(x, s0, *W, 0, f((2, 3, 3)), f((1, 3, 3)), work)
        k.forward_train(x, s0, *W, 0, states, gates, work)
        grads = [np.empty_like(w) for w in W]
        k.backward(x, *W, 0, states, gates, f((2, 3, 3)), s0, f((2, 3, 2)), f((1, 3, 3)), *grads, work)
        from tsrnn.kernels import cpu
        # the compiled entries behind the three kernels (serial for one thread, else parallel)
        entries = cpu.ENTRIES["gru"]
        misses = sum(sum(d.stats.cache_misses.values()) for d in entries)
        print(misses, sum(sum(d.stats.cache_hits.values()) for d in entries))
        """
    )
    misses, hits = map(int, out.split())
    assert misses == 0 and hits >= 1
