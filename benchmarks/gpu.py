"""GPU benchmark: tsrnn's numba.cuda kernels against the CPU kernels and torch.nn (cuDNN).

One command, on a machine with a CUDA GPU (about 3-6 minutes on an H200, most
of it compiling the kernels)::

    python benchmarks/gpu.py --output benchmarks/GPU.md

It (a) checks the CUDA kernels against the CPU kernels on the first layer of
every workload shape (float32: relative error of each output against its own
scale below ``CHECK_RTOL``) and a whole CUDA fit against a CPU fit per cell,
then (b) times ``forward``, ``forward_train`` and ``backward`` per layer call
with CUDA events (the median of ``--repeats`` after ``--warmup`` calls, all
operands already on the device), and, when torch with CUDA is installed,
``torch.nn.RNN/GRU/LSTM`` on the same shapes (inference under
``torch.no_grad``; a training step as forward + ``backward`` of the output),
and the whole training step of ``Trainer(device='cuda')`` against torch's
(layers, head, loss, clipping, Adam), then (c) writes the tables between the
markers of ``--output``'s results section. ``tsrnn bench --device cuda`` runs
it. Without a usable GPU it exits with status 2 and says what is missing; the
CUDA simulator is refused for timing (it runs Python threads).

Workloads are ``(batch, seq_len, features, hidden, layers, horizon)`` as in
``benchmarks/speed.py``, plus W3-large. The floors printed with ``--floors``
(and written in GPU.md's design note) come from :func:`floors`.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import tsrnn.kernels

WORKLOADS = {
    # name: (batch, seq_len, features, hidden, layers, horizon)
    "W1": (256, 48, 1, 32, 1, 12),
    "W2": (512, 96, 4, 64, 1, 24),
    "W3": (256, 168, 8, 128, 2, 24),
    "W3-large": (1024, 168, 8, 128, 2, 24),
}
CELLS = ("rnn", "gru", "lstm")
# gates, states and gate-cache width per unit of each cell, from tsrnn's registry (compiles nothing)
N_GATES = {name: spec.n_gates for name, spec in tsrnn.kernels.CELLS.items()}
N_STATES = {name: spec.n_states for name, spec in tsrnn.kernels.CELLS.items()}
CACHE_FACTOR = {name: spec.cache_factor for name, spec in tsrnn.kernels.CELLS.items()}
KINDS = ("forward", "forward_train", "backward")
CHECK_RTOL = 2e-3
MARK_START = "<!-- gpu-results:start -->"
MARK_END = "<!-- gpu-results:end -->"

# Peak numbers of an H200 SXM assumed by the floors (GPU.md says where they come from).
PEAK_FP32_FLOPS = 67e12  # FP32 on the CUDA cores (no tensor cores: the kernels use plain FMAs)
PEAK_HBM_BYTES = 4.8e12  # HBM3e


def build_parser(prog="python benchmarks/gpu.py"):
    """The command-line options."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    p.add_argument("--warmup", type=int, default=3, help="untimed calls before timing (default 3)")
    p.add_argument("--repeats", type=int, default=10, help="timed calls; the median is reported (default 10)")
    p.add_argument("--no-torch", action="store_true", help="skip the torch.nn (cuDNN) comparison")
    p.add_argument("--no-check", action="store_true", help="skip the check against the CPU kernels")
    p.add_argument("--output", type=Path, default=None, help="write the results section of this file (GPU.md)")
    p.add_argument("--floors", action="store_true", help="print the floors table of the design note and exit")
    p.add_argument("--seed", type=int, default=0)
    return p


# --- floors (no GPU needed) ---------------------------------------------------------------------


def layer_shapes(workload):
    """``(B, T, D_in, H)`` of each layer of ``workload`` (a tuple of WORKLOADS)."""
    B, T, D, H, L, _ = workload
    return [(B, T, D if layer == 0 else H, H) for layer in range(L)]


def floors(cell, workload):
    """FLOPs, DRAM bytes and their time floors of one training step and one inference forward.

    FLOPs: ``2*B*G*H*(D_in+H)*T`` per layer forward, a training step 3 forwards.
    Bytes: what the current design must move through DRAM per layer call,
    counting each array once per kernel that reads or writes it, in float32:
    forward reads ``x`` and writes and reads the projection ``P``, writes
    ``out``; forward_train also writes every state and the gate cache;
    backward reads the cache, states, ``dout`` and ``x``, writes and reads the
    gate gradients ``dG`` (once for the weight GEMMs and once for the bias sums;
    gru keeps two) and writes ``dx``. Weights (at most 0.26 MB) stay in L2.

    Returns
    -------
    dict
        ``train_flops, infer_flops, train_bytes, infer_bytes`` and the floors in
        seconds ``train_compute_s, train_memory_s, infer_compute_s, infer_memory_s``.
    """
    G, S, CF = N_GATES[cell], N_STATES[cell], CACHE_FACTOR[cell]
    flops = infer_bytes = train_bytes = 0
    for B, T, D, H in layer_shapes(workload):
        fwd = 2 * B * G * H * (D + H) * T
        flops += fwd
        x, P, out = T * B * D, T * B * G * H, T * B * H
        infer_bytes += 4 * (x + 2 * P + out)
        states, cache = (T + 1) * S * B * H, T * B * CF * H
        dG = T * B * G * H * (2 if cell == "gru" else 1)
        train_bytes += 4 * (x + 2 * P + states + cache)  # forward_train
        train_bytes += 4 * (cache + states + out + x + dG * 3 + x)  # backward: write dG, read it twice, dx
    r = dict(train_flops=3 * flops, infer_flops=flops, train_bytes=train_bytes, infer_bytes=infer_bytes)
    r["train_compute_s"] = r["train_flops"] / PEAK_FP32_FLOPS
    r["infer_compute_s"] = r["infer_flops"] / PEAK_FP32_FLOPS
    r["train_memory_s"] = r["train_bytes"] / PEAK_HBM_BYTES
    r["infer_memory_s"] = r["infer_bytes"] / PEAK_HBM_BYTES
    return r


def floors_table(cells=CELLS, workloads=tuple(WORKLOADS)):
    """The design note's floors as a markdown table."""
    rows = [
        "| workload | cell | train GFLOP | train MB | train floor us (compute / memory) "
        "| infer GFLOP | infer MB | infer floor us (compute / memory) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in workloads:
        for cell in cells:
            f = floors(cell, WORKLOADS[name])
            rows.append(
                f"| {name} | {cell} | {f['train_flops'] / 1e9:.2f} | {f['train_bytes'] / 1e6:.1f} "
                f"| {f['train_compute_s'] * 1e6:.1f} / {f['train_memory_s'] * 1e6:.1f} "
                f"| {f['infer_flops'] / 1e9:.2f} | {f['infer_bytes'] / 1e6:.1f} "
                f"| {f['infer_compute_s'] * 1e6:.1f} / {f['infer_memory_s'] * 1e6:.1f} |"
            )
    return "\n".join(rows)


# --- problems, the correctness check ------------------------------------------------------------


def layer_problem(cell, B, T, D, H, rng, dtype=np.float32):
    """Time-major inputs of one layer, weights at PyTorch's init scale ``U(-1/sqrt(H), 1/sqrt(H))``."""
    G, S = N_GATES[cell], N_STATES[cell]
    k = 1.0 / np.sqrt(H)
    u = lambda *shape, scale=k: rng.uniform(-scale, scale, shape).astype(dtype)
    return dict(
        x=u(T, B, D, scale=1.0),
        state0=u(S, B, H, scale=0.5),
        weights=(u(G * H, D), u(G * H, H), u(G * H), u(G * H)),
        dout=u(T, B, H, scale=1.0),
        dstateT=u(S, B, H, scale=1.0),
    )


def run_layer(kernels, work_size, cell, p, to_device=None, to_host=None):
    """Every output of the three kernels of one layer, as host arrays (named like the kernel arguments)."""
    to_device = to_device or (lambda a: a)
    to_host = to_host or (lambda a: a)
    x, state0, dout, dstateT = (to_device(p[k]) for k in ("x", "state0", "dout", "dstateT"))
    weights = tuple(to_device(w) for w in p["weights"])
    T, B, D = p["x"].shape
    S, _, H = p["state0"].shape
    dt = p["x"].dtype
    zeros = lambda shape: to_device(np.zeros(shape, dt))
    work = {kind: zeros(work_size(cell, kind, B, D, H, T)) for kind in KINDS}
    out, stateT = zeros((T, B, H)), zeros((S, B, H))
    kernels.forward(x, state0, *weights, 0, out, stateT, work["forward"])
    states, gates = zeros((T + 1, S, B, H)), zeros((T, B, CACHE_FACTOR[cell] * H))
    kernels.forward_train(x, state0, *weights, 0, states, gates, work["forward_train"])
    dx, dstate0 = zeros((T, B, D)), zeros((S, B, H))
    grads = [zeros(w.shape) for w in p["weights"]]
    kernels.backward(x, *weights, 0, states, gates, dout, dstateT, dx, dstate0, *grads, work["backward"])
    names = ("out", "stateT", "states", "gates", "dx", "dstate0", "dW_ih", "dW_hh", "db_ih", "db_hh")
    return {n: to_host(a) for n, a in zip(names, (out, stateT, states, gates, dx, dstate0, *grads), strict=True)}


def relative_errors(ours, ref):
    """``max |ours - ref| / max(max |ref|, 1e-30)`` per output: the error against each output's own scale."""
    return {n: float(np.abs(ours[n] - ref[n]).max(initial=0.0) / max(np.abs(ref[n]).max(initial=0.0), 1e-30))
            for n in ref}  # fmt: skip


def check_layer(cell, B, T, D, H, seed=0):
    """Relative errors of the CUDA kernels against the CPU kernels on one float32 layer (see :func:`relative_errors`).

    Operands go to the device once and come back once (numba copies host
    arrays around every launch otherwise, which is slow but equally correct).
    """
    from numba import cuda

    from tsrnn.kernels import get_kernels, work_size

    p = layer_problem(cell, B, T, D, H, np.random.default_rng(seed))
    cpu = run_layer(get_kernels(cell), lambda c, k, B, D, H, T: work_size(c, k, B, D, H), cell, p)
    gpu = run_layer(
        get_kernels(cell, device="cuda"),
        lambda c, k, B, D, H, T: work_size(c, k, B, D, H, device="cuda", T=T),
        cell,
        p,
        to_device=cuda.to_device,
        to_host=lambda a: a.copy_to_host(),
    )
    return relative_errors(gpu, cpu)


# --- timing -------------------------------------------------------------------------------------


def cuda_time(fn, warmup, repeats):
    """Median milliseconds of ``fn()`` between two CUDA events, after ``warmup`` untimed calls."""
    from numba import cuda

    for _ in range(warmup):
        fn()
    cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = cuda.event(), cuda.event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cuda.event_elapsed_time(start, end))
    return statistics.median(times)


def time_layer(cell, B, T, D, H, warmup, repeats, seed=0):
    """Median ms of ``forward``, ``forward_train`` and ``backward`` of one float32 layer on the device."""
    from numba import cuda

    from tsrnn.kernels import get_kernels, work_size

    kernels = get_kernels(cell, device="cuda")
    p = layer_problem(cell, B, T, D, H, np.random.default_rng(seed))
    dev = cuda.to_device
    x, state0, dout, dstateT = (dev(p[k]) for k in ("x", "state0", "dout", "dstateT"))
    weights = tuple(dev(w) for w in p["weights"])
    S = N_STATES[cell]
    zeros = lambda shape: cuda.device_array(shape, np.float32)
    work = {kind: zeros(work_size(cell, kind, B, D, H, device="cuda", T=T)) for kind in KINDS}
    out, stateT = zeros((T, B, H)), zeros((S, B, H))
    states, gates = zeros((T + 1, S, B, H)), zeros((T, B, CACHE_FACTOR[cell] * H))
    dx, dstate0 = zeros((T, B, D)), zeros((S, B, H))
    grads = [zeros(w.shape) for w in p["weights"]]
    calls = {
        "forward": lambda: kernels.forward(x, state0, *weights, 0, out, stateT, work["forward"]),
        "forward_train": lambda: kernels.forward_train(x, state0, *weights, 0, states, gates, work["forward_train"]),
        "backward": lambda: kernels.backward(
            x, *weights, 0, states, gates, dout, dstateT, dx, dstate0, *grads, work["backward"]
        ),
    }
    calls["forward_train"]()  # backward reads the cache of a real forward
    return {kind: cuda_time(calls[kind], warmup, repeats) for kind in KINDS}


def torch_times(cell, workload, warmup, repeats):
    """Median ms of torch.nn's inference forward and training step (forward + backward), or None."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    B, T, D, H, L, _ = workload
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
    net = module(D, H, L).cuda()
    x = torch.randn(T, B, D, device="cuda")
    dout = torch.randn(T, B, H, device="cuda")

    def infer():
        with torch.no_grad():
            net(x)

    def train():
        out, _ = net(x)
        out.backward(dout)

    return {"infer": torch_time(infer, warmup, repeats), "train": torch_time(train, warmup, repeats)}


def torch_time(fn, warmup, repeats):
    """Median milliseconds of ``fn()`` between two torch CUDA events, after ``warmup`` untimed calls."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def _network_problem(cell, workload, n_batches, seed=0):
    """A float32 network of ``workload`` and ``n_batches`` batches of its windows (random data)."""
    from tsrnn.nn import ArrayWindows, RecurrentNetwork, seeded_generator

    B, T, D, H, L, horizon = workload
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, n_batches * B, D)).astype(np.float32)
    y = rng.standard_normal((n_batches * B, horizon))
    network = RecurrentNetwork(cell, D, H, L, horizon)
    generator = seeded_generator(seed)
    network.initialize(generator)
    return network, generator, ArrayWindows(X, y)


def check_fit(cell, seed=0, workload=(8, 6, 2, 5, 2, 3), n_batches=3):
    """Largest relative weight difference of a CUDA fit against a CPU fit (float32, same seed, 2 epochs).

    The whole training step on the device (``tsrnn.nn.device``: batches, layers, head,
    loss, clipping, Adam) against the CPU path, relative to the largest weight.
    """
    from tsrnn.nn import Trainer

    params = {}
    for device in ("cpu", "cuda"):
        network, rng, windows = _network_problem(cell, workload, n_batches, seed)
        trainer = Trainer(batch_size=workload[0], max_epochs=2, device=device)
        trainer.fit(network, trainer.start(network, rng), windows)
        params[device] = network.params
    return float(np.abs(params["cuda"] - params["cpu"]).max() / np.abs(params["cpu"]).max())


def time_training_step(cell, workload, warmup, repeats, seed=0, n_batches=4):
    """Median ms of one mini-batch training step of the whole network on the device.

    Timed over whole epochs of ``n_batches`` batches through ``tsrnn.nn.device.DeviceSteps``
    (what ``Trainer(device='cuda')`` runs: batch gather, every layer forward and backward,
    head, MSE, gradient norm and clipping, Adam), divided by ``n_batches``; an epoch
    includes its one transfer each way (the order in; the losses and the status out).
    """
    from tsrnn.nn import Trainer
    from tsrnn.nn.device import DeviceSteps

    network, rng, windows = _network_problem(cell, workload, n_batches, seed)
    trainer = Trainer(batch_size=workload[0])
    steps = DeviceSteps(network, trainer.start(network, rng), windows, None, "mse", None, workload[0], 1.0, 0.0)
    order = np.arange(windows.n_samples)
    return cuda_time(lambda: steps.epoch(order), warmup, repeats) / n_batches


def torch_training_step(cell, workload, warmup, repeats):
    """Median ms of torch's whole training step on CUDA (cuDNN layers, Linear head, MSE, clipping, Adam), or None."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    B, T, D, H, L, horizon = workload
    net = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](D, H, L).cuda()
    head = torch.nn.Linear(H, horizon).cuda()
    parameters = [*net.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    x = torch.randn(T, B, D, device="cuda")
    y = torch.randn(B, horizon, device="cuda")

    def step():
        optimizer.zero_grad(set_to_none=True)
        out, _ = net(x)
        loss = torch.nn.functional.mse_loss(head(out[-1]), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()

    return torch_time(step, warmup, repeats)


# --- the report ---------------------------------------------------------------------------------


def results_markdown(header, checks, layer_rows, totals, fit_checks=None, steps=()):
    """The results section: the correctness checks, the per-layer-call table, the totals vs torch
    and the whole training steps vs torch.

    ``checks``: ``{(workload, cell): {output: relative error}}``; ``layer_rows``:
    ``[(workload, cell, layer, (B, T, D, H), {kind: ms})]``; ``totals``:
    ``[(workload, cell, tsrnn infer ms, tsrnn train ms, torch times or None)]``;
    ``fit_checks``: ``{cell: relative weight difference of a CUDA fit vs a CPU fit}``;
    ``steps``: ``[(workload, cell, tsrnn step ms, torch step ms or None)]``.
    """
    lines = [header, ""]
    if fit_checks:
        lines += [
            "Check of whole fits (CUDA vs CPU, float32, same seed, 2 epochs of 3 batches; largest weight "
            f"difference relative to the largest weight; must be below {CHECK_RTOL:g}):",
            "",
            "| cell | relative difference | ok |",
            "| --- | ---: | --- |",
        ]
        for cell, error in fit_checks.items():
            lines.append(f"| {cell} | {error:.2e} | {'yes' if error < CHECK_RTOL else '**NO**'} |")
        lines.append("")
    if checks:
        lines += [
            f"Check against the CPU kernels (first layer, float32, largest error relative to each output's "
            f"scale; must be below {CHECK_RTOL:g}):",
            "",
            "| workload | cell | worst output | relative error | ok |",
            "| --- | --- | --- | ---: | --- |",
        ]
        for (name, cell), errors in checks.items():
            worst = max(errors, key=errors.get)
            ok = "yes" if errors[worst] < CHECK_RTOL else "**NO**"
            lines.append(f"| {name} | {cell} | {worst} | {errors[worst]:.2e} | {ok} |")
        lines.append("")
    lines += [
        "Per layer call (median ms, CUDA events, operands on the device):",
        "",
        "| workload | cell | layer | B, T, D, H | forward | forward_train | backward |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for name, cell, layer, shape, ms in layer_rows:
        lines.append(
            f"| {name} | {cell} | {layer} | {', '.join(map(str, shape))} "
            f"| {ms['forward']:.3f} | {ms['forward_train']:.3f} | {ms['backward']:.3f} |"
        )
    lines += [
        "",
        "Whole network (all layers; training = forward_train + backward, no head or optimizer), "
        "against torch.nn on cuDNN (speed-up = torch time / tsrnn time):",
        "",
        "| workload | cell | tsrnn infer ms | torch infer ms | speed-up | tsrnn train ms | torch train ms | speed-up |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, cell, infer, train, ref in totals:
        if ref is None:
            lines.append(f"| {name} | {cell} | {infer:.3f} | - | - | {train:.3f} | - | - |")
        else:
            lines.append(
                f"| {name} | {cell} | {infer:.3f} | {ref['infer']:.3f} | {ref['infer'] / infer:.2f}x "
                f"| {train:.3f} | {ref['train']:.3f} | {ref['train'] / train:.2f}x |"
            )
    if steps:
        lines += [
            "",
            "Whole training step (Trainer(device='cuda'): batch gather, layers, head, MSE, clipping, Adam; "
            "median ms per mini-batch over whole epochs) against torch's (cuDNN layers, Linear head, MSE, "
            "clip_grad_norm_, Adam):",
            "",
            "| workload | cell | tsrnn step ms | torch step ms | speed-up |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for name, cell, ours, ref in steps:
            theirs = "- | -" if ref is None else f"{ref:.3f} | {ref / ours:.2f}x"
            lines.append(f"| {name} | {cell} | {ours:.3f} | {theirs} |")
    return "\n".join(lines) + "\n"


def write_results(path, text):
    """Replace what lies between ``MARK_START`` and ``MARK_END`` in ``path`` with ``text``.

    Raises
    ------
    ValueError
        When the markers are missing or out of order (nothing is written).
    """
    path = Path(path)
    doc = path.read_text()
    start, end = doc.find(MARK_START), doc.find(MARK_END)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no '{MARK_START}' ... '{MARK_END}' section to write the results into")
    head = doc[: start + len(MARK_START)]
    path.write_text(f"{head}\n{text.strip()}\n{doc[end:]}")


def gpu_problem():
    """None when a real GPU can run the kernels, else the reason (for the exit-2 message)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "NUMBA_ENABLE_CUDASIM=1: the CUDA simulator runs Python threads and cannot be timed"
    from tsrnn.kernels import get_kernels

    try:
        get_kernels("rnn", device="cuda")
    except RuntimeError as exc:  # tsrnn's one clear message: what is missing
        return " ".join(str(exc).split())  # one line: it quotes the driver's own (multi-line) words
    return None


def main(argv=None, prog="python benchmarks/gpu.py"):
    """Run the benchmark with command-line arguments ``argv``; returns the exit status (2: no GPU)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(prog).parse_args(argv)
    if args.floors:
        print(floors_table(args.cells, args.workloads))
        return 0
    problem = gpu_problem()
    if problem:
        print(f"{prog}: error: needs a CUDA GPU; {problem}", file=sys.stderr)
        return 2
    from numba import cuda

    began = time.perf_counter()
    checks = {}
    if not args.no_check:
        for name in args.workloads:
            for cell in args.cells:
                checks[name, cell] = check_layer(cell, *layer_shapes(WORKLOADS[name])[0], seed=args.seed)
                worst = max(checks[name, cell].values())
                print(f"check {name} {cell}: worst relative error {worst:.2e}", flush=True)
    fit_checks = {}
    if not args.no_check:
        for cell in args.cells:
            fit_checks[cell] = check_fit(cell, seed=args.seed)
            print(f"check fit {cell}: relative weight difference {fit_checks[cell]:.2e}", flush=True)
    layer_rows, totals, steps = [], [], []
    for name in args.workloads:
        for cell in args.cells:
            infer = train = 0.0
            for layer, shape in enumerate(layer_shapes(WORKLOADS[name])):
                ms = time_layer(cell, *shape, args.warmup, args.repeats, seed=args.seed)
                layer_rows.append((name, cell, layer, shape, ms))
                infer += ms["forward"]
                train += ms["forward_train"] + ms["backward"]
            ref = None if args.no_torch else torch_times(cell, WORKLOADS[name], args.warmup, args.repeats)
            totals.append((name, cell, infer, train, ref))
            step = time_training_step(cell, WORKLOADS[name], args.warmup, args.repeats, seed=args.seed)
            ref_step = None if args.no_torch else torch_training_step(cell, WORKLOADS[name], args.warmup, args.repeats)
            steps.append((name, cell, step, ref_step))
            print(
                f"{name} {cell}: infer {infer:.3f} ms, train {train:.3f} ms, torch {ref}; "
                f"training step {step:.3f} ms, torch {ref_step}",
                flush=True,
            )
    device = cuda.get_current_device()
    header = (
        f"Measured on {device.name.decode() if isinstance(device.name, bytes) else device.name} "
        f"(compute capability {'.'.join(map(str, device.compute_capability))}) with "
        f"`{' '.join([prog, *argv])}` in {time.perf_counter() - began:.0f} s."
    )
    text = results_markdown(header, checks, layer_rows, totals, fit_checks, steps)
    print(text)
    if args.output is not None:
        write_results(args.output, text)
    failed = [key for key, errors in checks.items() if max(errors.values()) >= CHECK_RTOL]
    failed += [cell for cell, error in fit_checks.items() if error >= CHECK_RTOL]
    if failed:
        print(f"{prog}: error: CUDA kernels disagree with the CPU kernels on {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
