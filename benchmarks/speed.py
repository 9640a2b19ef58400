"""Speed benchmark: tsrnn's CPU kernels against PyTorch and the machine's sgemm peak.

For each cell (rnn, gru, lstm) and workload (batch, seq_len, features, hidden,
layers, horizon) it times, in float32 and at one thread count:

- a training step: forward + BPTT + Adam step, MSE on a dense head over the
  last hidden state (:meth:`tsrnn.nn.RecurrentNetwork.loss_and_grad` then
  :class:`tsrnn.nn.optimizers.Adam`), and one inference forward (``predict``);
- the same with ``torch.nn.RNN/GRU/LSTM`` + ``nn.Linear`` + ``torch.optim.Adam``
  (inference under ``torch.no_grad``), when torch is installed. torch gets its
  fastest input layout (time-major, ``batch_first=False``);
- numpy float32 GEMM on a large square matrix (the "sgemm peak").

tsrnn and torch repeats are interleaved (tsrnn, torch, tsrnn, torch, ...) so a
burst of load from other processes hits both alike, and each time is the
median of its repeats after warm-up. GFLOP/s counts the forward as the sum over
layers of ``2*B*G*H*(D_in+H)*T`` and a training step as 3 forwards.

Run from a source checkout (``tsrnn bench`` runs this file with the same options)::

    python benchmarks/speed.py --output benchmarks/RESULTS.md
    python benchmarks/speed.py --workloads W1 --cells lstm --busy 1   # under load
    python benchmarks/speed.py --profile --workloads W3                # where the time goes

The table uses only tsrnn's public network API (:class:`tsrnn.nn.RecurrentNetwork`,
:mod:`tsrnn.nn.optimizers`); the profile also replays the kernels' GEMMs with
the building blocks of :mod:`tsrnn.kernels.cpu_ops` and reads the network's
step buffers, which is why it lives here and not in the package.
"""

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

WORKLOADS = {
    # name: (batch, seq_len, features, hidden, layers, horizon)
    "W1": (256, 48, 1, 32, 1, 12),
    "W2": (512, 96, 4, 64, 1, 24),
    "W3": (256, 168, 8, 128, 2, 24),
    # Not in the default run: the forecaster's typical step (estimator default
    # batch size 64), which must not get slower with more threads.
    "F": (64, 24, 1, 64, 1, 12),
}
DEFAULT_WORKLOADS = ("W1", "W2", "W3")
CELLS = ("rnn", "gru", "lstm")
N_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def forward_flops(cell, batch, seq_len, features, hidden, layers):
    """Multiply-add FLOPs of one forward pass: sum over layers of ``2*B*G*H*(D_in+H)*T``."""
    G = N_GATES[cell]
    total = 0
    for layer in range(layers):
        d_in = features if layer == 0 else hidden
        total += 2 * batch * G * hidden * (d_in + hidden) * seq_len
    return total


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def sgemm_peak(n_threads, size=2048, repeats=7):
    """Median GFLOP/s of ``numpy.dot`` on two float32 ``size x size`` matrices.

    BLAS is limited to ``n_threads`` threads for the measurement.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    c = np.empty_like(a)
    with threadpool_limits(limits=n_threads, user_api="blas"):
        np.dot(a, b, out=c)
        seconds = _median_time(lambda: np.dot(a, b, out=c), repeats)
    return 2.0 * size**3 / seconds / 1e9


class _TsrnnCase:
    """One workload on tsrnn's network: training step and inference."""

    def __init__(self, cell, batch, seq_len, features, hidden, layers, horizon, seed=0):
        from tsrnn.nn import LOSSES, RecurrentNetwork
        from tsrnn.nn.optimizers import Adam

        rng = np.random.default_rng(seed)
        self.net = RecurrentNetwork(cell, features, hidden, layers, horizon, dtype=np.float32)
        self.net.initialize(rng)
        self.opt = Adam(self.net.params, 1e-3)
        self.X = rng.standard_normal((seq_len, batch, features), dtype=np.float32)
        self.y = rng.standard_normal((batch, horizon))  # float64, as the estimators pass it
        self.loss = LOSSES["mse"]

    def train_step(self):
        self.net.loss_and_grad(self.X, self.y, self.loss)
        self.opt.step(self.net.params, self.net.grad)

    def infer(self):
        self.net.predict(self.X)


class _TorchCase:
    """The same workload on torch.nn (time-major input, its fastest layout)."""

    def __init__(self, cell, batch, seq_len, features, hidden, layers, horizon, seed=0):
        import torch

        torch.manual_seed(seed)
        module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
        self.torch = torch
        self.rnn = module(features, hidden, layers)
        self.head = torch.nn.Linear(hidden, horizon)
        self.opt = torch.optim.Adam(list(self.rnn.parameters()) + list(self.head.parameters()), lr=1e-3)
        self.x = torch.randn(seq_len, batch, features)
        self.y = torch.randn(batch, horizon)

    def train_step(self):
        self.opt.zero_grad(set_to_none=True)
        out, _ = self.rnn(self.x)
        loss = self.torch.nn.functional.mse_loss(self.head(out[-1]), self.y)
        loss.backward()
        self.opt.step()

    def infer(self):
        with self.torch.no_grad():
            out, _ = self.rnn(self.x)
            self.head(out[-1])


def _interleaved(fns, repeats, warmup):
    """Median seconds of each function, run in turn ``repeats`` times after ``warmup`` rounds."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times] if repeats else None


def _repeats_for(seconds_per_round, budget, lo=5, hi=40):
    return int(min(hi, max(lo, budget / max(seconds_per_round, 1e-6))))


def _busy_loop():  # pragma: no cover - runs in a child process
    while True:
        pass


def _cpu_busy_fraction(seconds=1.0):
    """Fraction of the machine's CPU time that was busy over ``seconds`` (Linux), else None."""

    def sample():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return sum(fields[:3]), sum(fields)

    try:
        busy0, total0 = sample()
        time.sleep(seconds)
        busy1, total1 = sample()
    except OSError:
        return None
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_until_idle(max_seconds, threshold=0.15, quiet_seconds=3):
    """Wait (up to ``max_seconds``) until other processes leave the CPUs idle.

    Returns the seconds waited, or None when the machine stayed busy (or the
    load cannot be read). For shared machines: a timing taken while another
    process saturates a core says more about that process than about tsrnn.
    """
    start, quiet = time.perf_counter(), 0
    while time.perf_counter() - start < max_seconds:
        busy = _cpu_busy_fraction()
        if busy is None:
            return None
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= quiet_seconds:
            return time.perf_counter() - start
    return None


def run(
    cells=CELLS,
    workloads=DEFAULT_WORKLOADS,
    n_threads=None,
    with_torch=True,
    budget=4.0,
    warmup=2,
    log=None,
    wait_idle=0,
):
    """Time every (cell, workload) pair; return the results as a dict.

    Parameters
    ----------
    cells : sequence of {'rnn', 'gru', 'lstm'}, default=all
    workloads : sequence of str, default=('W1', 'W2', 'W3')
        Keys of :data:`WORKLOADS`.
    n_threads : int or None, default=None
        Threads for tsrnn (numba), torch and the sgemm peak; None means all
        cores numba sees.
    with_torch : bool, default=True
        Time torch.nn too (skipped when torch is not installed).
    budget : float, default=4.0
        Rough seconds per (cell, workload, mode) after warm-up; sets the repeats
        (between 5 and 40).
    warmup : int, default=2
        Untimed rounds before timing (the first one compiles or loads kernels).
    log : callable, default=None
        Called with a progress line after each measurement.
    wait_idle : float, default=0
        Before each workload, wait up to this many seconds for the machine to
        be idle (see :func:`wait_until_idle`); 0 does not wait.

    Returns
    -------
    dict
        ``rows`` (one dict per cell, workload and mode) and the run's context:
        ``n_threads``, ``sgemm_gflops``, ``torch_version``, ``load_before``/``load_after``.
    """
    torch = None
    if with_torch:
        # Before numba starts its threads: torch then runs on the OpenMP runtime
        # it loads itself, with its own defaults (numba shares it).
        try:
            import torch
        except ImportError:
            torch = None
    import numba

    from tsrnn import _config

    n_threads = numba.config.NUMBA_NUM_THREADS if n_threads is None else int(n_threads)
    _config.set_num_threads(n_threads)
    if torch is not None:
        torch.set_num_threads(n_threads)
    log = log or (lambda line: None)
    load_before = os.getloadavg()
    peak = sgemm_peak(n_threads)
    log(f"sgemm peak {peak:.1f} GFLOP/s at {n_threads} threads")
    rows, idle_waits = [], []
    for name in workloads:
        if wait_idle:
            waited = wait_until_idle(wait_idle)
            idle_waits.append(waited)
            log(f"{name}: " + ("machine still busy" if waited is None else f"idle after {waited:.0f} s"))
        shape = WORKLOADS[name]
        for cell in cells:
            ours = _TsrnnCase(cell, *shape)
            theirs = _TorchCase(cell, *shape) if torch is not None else None
            flops = forward_flops(cell, *shape[:5])
            for mode, factor in (("train", 3), ("infer", 1)):
                fns = [ours.train_step if mode == "train" else ours.infer]
                if theirs is not None:
                    fns.append(theirs.train_step if mode == "train" else theirs.infer)
                t0 = time.perf_counter()
                _interleaved(fns, 0, warmup)
                per_round = (time.perf_counter() - t0) / max(warmup, 1)
                times = _interleaved(fns, _repeats_for(per_round, budget), 0)
                row = dict(
                    workload=name,
                    cell=cell,
                    mode=mode,
                    ms=1e3 * times[0],
                    gflops=factor * flops / times[0] / 1e9,
                    torch_ms=1e3 * times[1] if theirs is not None else None,
                )
                row["speedup"] = row["torch_ms"] / row["ms"] if theirs is not None else None
                row["peak_pct"] = 100.0 * row["gflops"] / peak
                rows.append(row)
                log(format_row(row))
    return dict(
        rows=rows,
        n_threads=n_threads,
        sgemm_gflops=peak,
        torch_version=None if torch is None else torch.__version__,
        numba_version=numba.__version__,
        numpy_version=np.__version__,
        threading_layer=_threading_layer(),
        load_before=load_before,
        load_after=os.getloadavg(),
        idle_waits=idle_waits,
        machine=f"{platform.machine()} {_cpu_name()}, {os.cpu_count()} logical CPUs",
    )


# --- where the time goes -------------------------------------------------------------


def _gemm_replays():
    """Compiled loops that run only the BLAS work (and the small-D projection loops)
    of the kernels' time loops, for the single-thread GEMM / pointwise split."""
    from numba import njit

    from tsrnn import _config
    from tsrnn.kernels.blas import gemm
    from tsrnn.kernels.cpu_ops import project, weight_grads_step

    @njit(**_config.JIT)
    def forward(x, W_ih, W_ihT, W_hh, h, pre):
        T, rows = x.shape[0], x.shape[1]
        GH, H = W_hh.shape
        for t in range(T):
            project(x[t], W_ihT, W_ih, pre, 0.0)
            gemm(0, 1, rows, GH, H, 1.0, h[t], H, W_hh, H, 1.0, pre, pre.shape[1])

    @njit(**_config.JIT)
    def backward(x, W_ih, W_hh, h, dg, dh, part, dx):
        T, rows, D = x.shape
        GH, H = W_hh.shape
        for t in range(T - 1, -1, -1):
            gemm(0, 0, rows, H, GH, 1.0, dg, GH, W_hh, H, 0.0, dh, H)
            weight_grads_step(dg, dg, x[t], h[t], part, GH, D, H)
            if dx.size > 0:
                gemm(0, 0, rows, D, GH, 1.0, dg, GH, W_ih, D, 0.0, dx[t], D)

    return forward, backward


def profile(cell, workload, n_threads=None, repeats=5):
    """Split one training step of ``cell`` on ``workload`` into its parts.

    Returns a dict of milliseconds: ``step`` (forward + BPTT + Adam), per layer
    ``forward_train`` and ``backward`` kernel times at the thread count the
    network picks, ``rest`` (head, loss, Adam, Python), and for each kernel run
    on one thread over the whole batch its time and the time of its GEMMs
    alone (``gemm_1t``; the remainder is pointwise gate math and memory traffic).
    """
    import numba

    from tsrnn import _config

    shape = WORKLOADS[workload]
    T, B = shape[1], shape[0]
    with _config.using_threads(n_threads):
        case = _TsrnnCase(cell, *shape)
        net = case.net
        for _ in range(2):
            case.train_step()
        out = dict(cell=cell, workload=workload, threads=numba.get_num_threads())
        out["step"] = 1e3 * _median_time(case.train_step, repeats)
        case.net.loss_and_grad(case.X, case.y, case.loss)  # fill the caches for the kernels below
        ws = net._workspaces["train"]
        k, act, L = net._kernels, net._act, net.num_layers
        inputs = [case.X] + [
            ws.states[layer][1:, 0] if ws.states[layer][1:, 0].flags.c_contiguous else ws.inputs[layer]
            for layer in range(L - 1)
        ]
        n = _config.threads_for(net._layer_macs(T, B), B)
        forward_replay, backward_replay = _gemm_replays()
        layers = []
        for layer in range(L):
            weights, grads = net.layers[layer], net.layer_grads[layer]
            top = layer == L - 1
            dout = ws.no_dout if top else ws.dx[layer]
            dstateT = ws.dstateT if top else ws.state0
            dx = ws.no_dx if layer == 0 else ws.dx[layer - 1]
            dx_copy = np.empty_like(dx)

            def fwd():
                k.forward_train(inputs[layer], ws.state0, *weights, act, ws.states[layer], ws.gates[layer], ws.work)

            def bwd():
                k.backward(
                    inputs[layer],
                    *weights,
                    act,
                    ws.states[layer],
                    ws.gates[layer],
                    dout,
                    dstateT,
                    dx_copy,
                    ws.dstate0,
                    *grads,
                    ws.work,
                )

            row = {}
            for name, fn in (("forward_train", fwd), ("backward", bwd)):
                with _config.kernel_threads(n):
                    row[name] = 1e3 * _median_time(fn, repeats)
                with _config.kernel_threads(1):
                    row[name + "_1t"] = 1e3 * _median_time(fn, repeats)
            # GEMM-only replays on one thread, whole batch as one shard
            W_ih, W_hh = weights[0], weights[1]
            GH, H = W_hh.shape
            D = W_ih.shape[1]
            x = inputs[layer]
            h = np.ascontiguousarray(ws.states[layer][:, 0])
            pre = np.zeros((B, GH + H), net.dtype)
            dg = np.full((B, GH), 1e-3, net.dtype)
            dh = np.zeros((B, H), net.dtype)
            part = np.zeros(GH * D + GH * H + 2 * GH, net.dtype)
            W_ihT = np.ascontiguousarray(W_ih.T)
            with _config.kernel_threads(1):
                row["forward_train_gemm_1t"] = 1e3 * _median_time(
                    lambda: forward_replay(x, W_ih, W_ihT, W_hh, h, pre), repeats
                )
                row["backward_gemm_1t"] = 1e3 * _median_time(
                    lambda: backward_replay(x, W_ih, W_hh, h, dg, dh, part, dx_copy), repeats
                )
            layers.append(row)
        out["layers"] = layers
        out["kernel_threads"] = n
        out["rest"] = out["step"] - sum(r["forward_train"] + r["backward"] for r in layers)
    return out


def format_profile(p):
    """One markdown paragraph per profiled (cell, workload)."""
    lines = [
        f"- **{p['workload']} {p['cell']}**: step {p['step']:.1f} ms at {p['kernel_threads']} kernel "
        f"thread(s); rest (head, loss, Adam, Python) {p['rest']:.2f} ms ({100 * p['rest'] / p['step']:.0f} %)."
    ]
    for i, r in enumerate(p["layers"]):
        parts = []
        for kind in ("forward_train", "backward"):
            t1, g1 = r[kind + "_1t"], r[kind + "_gemm_1t"]
            parts.append(
                f"{kind} {r[kind]:.1f} ms ({100 * r[kind] / p['step']:.0f} % of the step; on 1 thread "
                f"{t1:.1f} ms, of which GEMMs {100 * min(g1, t1) / t1:.0f} %, "
                f"pointwise + memory {100 * max(t1 - g1, 0) / t1:.0f} %)"
            )
        lines.append(f"  layer {i}: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def _threading_layer():
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return "not started"


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


HEADER = "| workload | cell | mode | tsrnn ms | torch ms | vs torch | GFLOP/s | % sgemm peak |"


def format_row(row):
    torch_ms = "-" if row["torch_ms"] is None else f"{row['torch_ms']:.2f}"
    speedup = "-" if row["speedup"] is None else f"{row['speedup']:.2f}x"
    return (
        f"| {row['workload']} | {row['cell']} | {row['mode']} | {row['ms']:.2f} | {torch_ms} | {speedup} "
        f"| {row['gflops']:.1f} | {row['peak_pct']:.0f} % |"
    )


def format_report(result, command=None):
    """Markdown: context lines and the table."""
    lines = []
    if command:
        lines += [f"Command: `{command}`", ""]
    lb, la = result["load_before"], result["load_after"]
    lines += [
        f"- machine: {result['machine']}; threads: {result['n_threads']} (numba layer "
        f"{result['threading_layer']}, torch and BLAS set to the same)",
        f"- numpy float32 sgemm peak (2048^2, median): {result['sgemm_gflops']:.1f} GFLOP/s",
        f"- torch {result['torch_version'] or 'not installed'}, numba {result['numba_version']}, "
        f"numpy {result['numpy_version']}",
        f"- load average (1/5/15 min) before: {lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f}, "
        f"after: {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f}",
        f"- extra busy-loop processes during the run: {result.get('busy', 0)}"
        + (
            "; waited for an idle machine before each workload: "
            + ", ".join("still busy" if w is None else f"{w:.0f} s" for w in result["idle_waits"])
            if result.get("idle_waits")
            else ""
        ),
        "",
        HEADER,
        "|" + "---|" * HEADER.count(" | ") + "---|",
    ]
    lines += [format_row(row) for row in result["rows"]]
    return "\n".join(lines) + "\n"


def write_markdown(path, report, marker="bench"):
    """Put ``report`` between the ``<!-- marker:start/end -->`` lines of ``path``.

    The rest of the file is kept; without the markers the block is appended
    (and the file created if needed).
    """
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{report}{end}\n"
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = (text + "\n" if text else "# Speed results\n\n") + block
    with open(path, "w") as f:
        f.write(text)


def build_parser(parser=None):
    """The benchmark's command-line options (on ``parser`` if given, e.g. a subcommand)."""
    parser = parser or argparse.ArgumentParser(prog="benchmarks/speed.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated cells (default: %(default)s)")
    parser.add_argument(
        "--workloads",
        default=",".join(DEFAULT_WORKLOADS),
        help="comma-separated workloads among " + ", ".join(WORKLOADS) + " (default: %(default)s)",
    )
    parser.add_argument("--threads", type=int, default=None, help="thread count (default: all cores)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument(
        "--budget", type=float, default=4.0, help="seconds of repeats per measurement (default: %(default)s)"
    )
    parser.add_argument(
        "--busy", type=int, default=0, help="run N busy-loop processes during the benchmark (load test)"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        help="before each workload wait up to this many seconds for other processes to leave the CPUs idle",
    )
    parser.add_argument(
        "--output", default=None, help="write the markdown report into this file (between bench markers)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the table, split each training step into kernels, GEMMs and the rest",
    )
    return parser


def run_from_args(args, command=None):
    """Run the benchmark for parsed ``args``, print the report, return 0."""
    import multiprocessing

    if args.profile:
        cells = [c for c in args.cells.split(",") if c]
        parts = []
        for workload in [w for w in args.workloads.split(",") if w]:
            for cell in cells:
                parts.append(format_profile(profile(cell, workload, args.threads)))
                print(parts[-1], flush=True)
        if args.output:
            head = f"Command: `{command}`\n\n" if command else ""
            write_markdown(args.output, head + "\n".join(parts) + "\n", marker="profile")
        return 0

    busy = [multiprocessing.Process(target=_busy_loop, daemon=True) for _ in range(args.busy)]
    for p in busy:
        p.start()
    try:
        result = run(
            cells=[c for c in args.cells.split(",") if c],
            workloads=[w for w in args.workloads.split(",") if w],
            n_threads=args.threads,
            with_torch=not args.no_torch,
            budget=args.budget,
            log=lambda line: print(line, flush=True),
            wait_idle=0 if args.busy else args.wait_idle,  # our own busy loops never let it idle
        )
    finally:
        for p in busy:
            p.terminate()
            p.join()
    result["busy"] = args.busy
    report = format_report(result, command)
    print()
    print(report)
    if args.output:
        write_markdown(args.output, report)
    return 0


def main(argv=None, prog="python benchmarks/speed.py"):
    """Run the benchmark with command-line arguments ``argv`` (``sys.argv[1:]`` when None).

    ``prog`` is how the command is written in the report (``tsrnn bench`` passes its own name).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    return run_from_args(args, " ".join([prog, *argv]))


if __name__ == "__main__":
    sys.exit(main())
