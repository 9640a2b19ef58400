"""Recurrent-cell kernels: the math, with no pandas or scikit-learn.

The cell registry below is the single place where gate order and state count
are written down. Weights follow PyTorch (``torch.nn.RNN/LSTM/GRU``), so torch
can serve as an oracle:

- per layer ``W_ih (G*H, D)``, ``W_hh (G*H, H)``, ``b_ih (G*H,)``, ``b_hh (G*H,)``;
- rnn: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act in {tanh, relu, selu};
- lstm, gates (i, f, g, o): ``c' = f*c + i*g``, ``h' = o*tanh(c')``;
- gru, gates (r, z, n): ``n = tanh(W_in x + b_in + r*(W_hn h + b_hn))``,
  ``h' = (1-z)*n + z*h``.

Kernels work time-major. For one layer, with ``S`` states per cell (h, plus
c for lstm):

- ``x (T, B, D)``, ``state0 (S, B, H)``;
- ``states (T+1, S, B, H)``: ``states[0] = state0`` and ``states[t+1]`` the
  state after step ``t``, so the layer output is ``states[1:, 0]``;
- ``gates (T, B, cache_factor*H)``: what a cell stores in the forward pass
  for BPTT, so that backward recomputes nothing;
- ``work``: a 1-D scratch array of the dtype, the last argument of every
  kernel, with at least :func:`work_size` elements (see :mod:`.cpu`).

Modules: ``reference`` (the float64 NumPy oracle), one module per cell
(``rnn``, ``lstm``, ``gru``: the cell's math and CPU steps), ``cpu`` (the one
CPU driver that runs every cell), ``cpu_ops`` (the CPU building blocks the
cells share), ``cuda`` and ``cuda_ops`` (the numba.cuda driver and its GEMMs,
imported only for ``device='cuda'``), ``activations``, ``blas`` and ``warmup``.
"""

from collections import namedtuple

Cell = namedtuple("Cell", ["name", "n_gates", "n_states", "gate_order", "cache_factor"])

CELLS = {
    "rnn": Cell("rnn", 1, 1, ("h",), 0),
    # cache: i, f, g, o activations and tanh(c')
    "lstm": Cell("lstm", 4, 2, ("i", "f", "g", "o"), 5),
    # cache: r, z, n activations and W_hn h + b_hn
    "gru": Cell("gru", 3, 1, ("r", "z", "n"), 4),
}

# Activations of the vanilla RNN, as the int codes the kernels take.
ACTIVATIONS = {"tanh": 0, "relu": 1, "selu": 2}


def get_cell(name):
    """Return the :class:`Cell` record for ``name`` or raise a clear error."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown cell {name!r}; expected one of {sorted(CELLS)}.") from None


Kernels = namedtuple("Kernels", ["forward", "forward_train", "backward"])

# ``kind`` codes of :func:`work_size`.
WORK_KINDS = {"forward": 0, "forward_train": 1, "backward": 2}

DEVICES = ("cpu", "cuda")


def get_kernels(cell, device="cpu"):
    """Return the ``forward``, ``forward_train`` and ``backward`` kernels of a cell.

    The cell module is imported here, on first use, so that importing
    :mod:`tsrnn` or :mod:`tsrnn.kernels` compiles and loads no kernel.

    Parameters
    ----------
    cell : {'rnn', 'lstm', 'gru'}
    device : {'cpu', 'cuda'}, default='cpu'
        'cuda' needs numba-cuda (the ``cuda`` extra) and a usable GPU, or the
        numba CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` before numba is imported).

    Returns
    -------
    Kernels
        Named tuple ``(forward, forward_train, backward)``: thin Python wrappers
        over the cell's two compiled, cached entries in :mod:`tsrnn.kernels.cpu`
        (``_<cell>_serial`` for one thread, the parallel ``_<cell>`` otherwise),
        documented on each wrapper; for 'cuda',
        the launchers of :mod:`tsrnn.kernels.cuda` with the same signatures.

    Raises
    ------
    RuntimeError
        For 'cuda' without numba-cuda or without a usable GPU, naming what is missing.
    """
    from .._config import start_threads

    spec = get_cell(cell)
    if device == "cuda":
        if ("cuda", spec.name) not in _KERNELS:
            _check_cuda()
            from .cuda import cell_kernels as cuda_cell_kernels

            _KERNELS["cuda", spec.name] = Kernels(*cuda_cell_kernels(spec.name))
        return _KERNELS["cuda", spec.name]
    if device != "cpu":
        raise ValueError(f"Unknown device {device!r}; expected one of {list(DEVICES)}.")
    start_threads()  # numba's threading layer, configured before any kernel runs
    if spec.name not in _KERNELS:
        from .announce import announcing
        from .cpu import cell_kernels

        # a first call that compiles is announced (see tsrnn.kernels.announce)
        _KERNELS[spec.name] = Kernels(*(announcing(k, spec.name) for k in cell_kernels(spec.name)))
    return _KERNELS[spec.name]


_KERNELS = {}


def _check_cuda():
    """Raise one RuntimeError naming what is missing unless numba.cuda can run tsrnn's kernels.

    Needs numba-cuda (numba's deprecated built-in ``numba.cuda`` is not it), a
    numpy it supports, and a usable GPU and driver or the simulator.
    """
    import numpy as np

    try:
        from numba import cuda
    except ImportError as exc:
        cuda, error = None, exc
    if cuda is None or getattr(cuda, "implementation", None) != "NVIDIA":
        found = (
            f"importing numba.cuda failed: {error}" if cuda is None else "only numba's built-in numba.cuda was found"
        )
        raise RuntimeError(f"device='cuda' needs the numba-cuda package (pip install 'tsrnn[cuda]'); {found}.")
    if tuple(int(p) for p in np.__version__.split(".")[:2]) >= (2, 5):
        raise RuntimeError(
            f"device='cuda' needs numpy < 2.5 (numba-cuda 0.30 fails to compile kernels on numpy {np.__version__})."
        )
    if cuda.is_available():  # a driver and a device, or the simulator
        return
    try:
        cuda.current_context()
        reason = ""
    except Exception as exc:  # the driver's own words: no driver library, no device, ...
        reason = f" ({exc})"
    raise RuntimeError(
        f"device='cuda' needs a usable CUDA GPU and driver, and none was found{reason}. "
        "Use device='cpu', or set NUMBA_ENABLE_CUDASIM=1 before numba is imported to run on the simulator."
    )


def resolve_device(device):
    """The device a model runs on: ``'cpu'`` or ``'cuda'``.

    Parameters
    ----------
    device : {'cpu', 'cuda', 'auto'}
        'auto' is 'cuda' when numba-cuda and a usable GPU (or the simulator) are
        present, else 'cpu'; it imports numba.cuda to find out. 'cpu' imports nothing.

    Returns
    -------
    str

    Raises
    ------
    RuntimeError
        For 'cuda' without numba-cuda, a supported numpy or a usable GPU, naming what is missing.
    ValueError
        For an unknown device.
    """
    if device == "cpu":
        return "cpu"
    if device == "cuda":
        _check_cuda()
        return "cuda"
    if device == "auto":
        return "cuda" if cuda_usable() else "cpu"
    raise ValueError(f"Unknown device {device!r}; expected one of {[*DEVICES, 'auto']}.")


def prediction_device(device):
    """Where a fitted model with parameter ``device`` predicts: ``'cuda'`` when it asks for a GPU
    ('cuda' or 'auto') and one is usable here, else ``'cpu'``, so that a model trained on a GPU
    predicts on a CPU-only machine too (with the same results within float32 rounding)."""
    return "cuda" if device != "cpu" and cuda_usable() else "cpu"


def cuda_usable():
    """Whether ``device='cuda'`` would run here (numba-cuda, a supported numpy, a GPU or the simulator)."""
    try:
        _check_cuda()
    except RuntimeError:
        return False
    return True


def work_size(cell, kind, B, D, H, n_shards=None, *, device="cpu", T=None):
    """Elements of the ``work`` array a kernel needs (computed in Python; compiles nothing).

    Parameters
    ----------
    cell : {'rnn', 'lstm', 'gru'}
    kind : {'forward', 'forward_train', 'backward'}
    B, D, H : int
        Batch size, input features and hidden units of the layer.
    n_shards : int, default=None
        Most batch shards the kernel may use; None means
        ``numba.config.NUMBA_NUM_THREADS``, enough for any thread count (CPU only).
    device : {'cpu', 'cuda'}, default='cpu'
    T : int, default=None
        Sequence length; required for 'cuda', whose work holds whole-sequence
        GEMM operands (the input projection, the gate gradients).

    Returns
    -------
    int
    """
    import numba

    if device == "cuda":
        if T is None:
            raise ValueError("work_size(device='cuda') needs the sequence length T.")
        from .cuda import work_size as cuda_work_size

        return int(cuda_work_size(get_cell(cell).name, WORK_KINDS[kind], T, B, D, H))
    if device != "cpu":
        raise ValueError(f"Unknown device {device!r}; expected one of {list(DEVICES)}.")

    from .cpu import work_size as cpu_work_size

    spec = get_cell(cell)
    if n_shards is None:
        n_shards = numba.config.NUMBA_NUM_THREADS
    return int(cpu_work_size(spec.name, WORK_KINDS[kind], B, D, H, max(1, min(n_shards, B))))
