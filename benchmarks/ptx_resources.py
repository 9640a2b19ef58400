"""Registers, spills and shared memory of every CUDA kernel on sm_90, without a GPU.

Each kernel is compiled to PTX with ``numba.cuda.compile_ptx`` (NVVM, from the ``cuda`` extra)
for compute capability 9.0 and assembled by ``ptxas -v`` (the ``nvidia-cuda-nvcc`` wheel of the
``cuda-check`` extra, or a CUDA toolkit on the PATH), which reports per kernel the registers per
thread, the stack frame, spill stores and loads, and static shared memory. With the launch
configuration tsrnn uses (threads per block, dynamic shared memory) that says whether a block
can launch at all on an H100/H200 (65,536 registers and 48 KB of shared memory per block without
an opt-in) and how many blocks fit on an SM: what the simulator cannot tell.

Usage::

    python benchmarks/ptx_resources.py                                  # print the table
    python benchmarks/ptx_resources.py --output benchmarks/GPU.md       # and write it there

tests/kernels/test_cuda_compile.py uses the same inventory and checks the limits in CI.
"""

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

CC = (9, 0)
# Per-block and per-SM limits of compute capability 9.0 (CUDA programming guide, "Compute
# capabilities"): registers per block and per SM, threads per SM, shared memory a block gets
# without cudaFuncSetAttribute (numba-cuda has no public way to ask for more).
REGISTERS_PER_BLOCK = 65536
REGISTERS_PER_SM = 65536
THREADS_PER_SM = 2048
SHARED_PER_BLOCK = 48 * 1024
MAX_REGISTERS_PER_THREAD = 255


def ptxas_path():
    """The ``ptxas`` executable, None if absent: ``$TSRNN_PTXAS``, else the ``nvidia-cuda-nvcc`` wheel's
    (the CUDA release of the NVVM wheel that writes the PTX: an older ptxas refuses a newer PTX
    version), else one on the PATH."""
    if os.environ.get("TSRNN_PTXAS"):
        return os.environ["TSRNN_PTXAS"]
    try:
        import nvidia
    except ImportError:
        nvidia = None
    for root in getattr(nvidia, "__path__", []):
        for candidate in sorted(Path(root).glob("cu*/bin/ptxas"), reverse=True):
            if os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("ptxas")


@contextlib.contextmanager
def fake_sm90():
    """Device-function compilation asks the current device for its compute capability: answer 9.0."""
    from numba import cuda

    device = types.SimpleNamespace(compute_capability=CC, name="fake sm_90")
    saved = cuda.dispatcher.__dict__.get("get_current_device")
    cuda.dispatcher.get_current_device = lambda: device
    try:
        yield
    finally:
        if saved is None:
            del cuda.dispatcher.get_current_device
        else:
            cuda.dispatcher.get_current_device = saved


def _array(dtype, ndim, layout="C"):
    import numba

    return numba.types.Array(numba.from_dtype(np.dtype(dtype)), ndim, layout)


def kernels(dtype=np.float32):
    """Every CUDA kernel of tsrnn as ``(name, python function, argument types, threads per block,
    most dynamic shared bytes)``: the persistent cell kernels, the GEMMs and the training-step
    kernels, with the launch configuration their launchers use."""
    import numba

    from tsrnn.kernels import CELLS, cuda_ops, cuda_train
    from tsrnn.kernels import cuda as cuda_kernels

    a1, a2, a3, a4 = (_array(dtype, n) for n in (1, 2, 3, 4))
    s, i8, u8, b1 = numba.from_dtype(np.dtype(dtype)), numba.int64, numba.uint64, numba.boolean
    idx, status = numba.types.Array(numba.int64, 1, "C"), numba.types.Array(numba.int32, 1, "C")
    ids2 = numba.types.Array(numba.int64, 2, "C")  # token ids (T, N)
    persistent = cuda_kernels.THREADS, cuda_kernels.SHARED_WEIGHT_BYTES
    out = []
    for cell in sorted(CELLS):
        forward, backward = cuda_kernels._persistent(cell, dtype)
        out += [
            (f"{cell} forward", forward.py_func, (a3, a3, a1, a1, i8, i8, b1, b1, a4, a3, a3, a3), *persistent),
            (f"{cell} backward", backward.py_func, (a3, a4, a3, a3, a1, i8, i8, b1, a3, a3, a3), *persistent),
        ]
    gemm = cuda_ops.GEMM_TILE**2, 0
    rows, tn, colsum = cuda_ops._kernels(dtype, cuda_ops.GEMM_TILE)
    out += [
        ("rows_gemm", rows.py_func, (a3, a2, b1, a1, b1, a1, b1, a3), *gemm),
        ("rows_gemm_tn", tn.py_func, (a3, a4, i8, a2), *gemm),
        ("colsum", colsum.py_func, (a3, a1), *gemm),
    ]
    k = cuda_train._kernels(dtype, cuda_train.THREADS)
    train = cuda_train.THREADS, 0
    out += [
        ("gather", k.gather.py_func, (a3, idx, a3), *train),
        ("gather strided", k.gather.py_func, (_array(dtype, 3, "A"), idx, a3), *train),  # device predict's slices
        ("layer_output", k.layer_output.py_func, (a4, a3, a3), *train),
        ("dropout", k.dropout.py_func, (u8, s, s, u8, s, a1), *train),
        ("multiply", k.multiply.py_func, (a1, a1), *train),
        ("regression_loss", k.regression_loss.py_func, (i8, a3, a3, a1, a3, a3), *train),
        ("cross_entropy", k.cross_entropy.py_func, (a3, a3, a3, a3), *train),
        ("sum", k.sum.py_func, (a1, a1, i8), *train),
        ("grad_norm", k.grad_norm.py_func, (a1, a1, i8, a1, status), *train),
        ("optimizer", k.optimizer.py_func, (i8, a1, a1, a1, a1, a1, status) + (s,) * 10, *train),
        ("reverse_time", k.reverse_time.py_func, (a3, a3), *train),
        ("add_reversed", k.add_reversed.py_func, (a3, a3), *train),
        ("join_directions", k.join_directions.py_func, (a4, a4, i8, a3, a3), *train),
        ("split_directions", k.split_directions.py_func, (a3, a3, a3), *train),
        ("embed", k.embed.py_func, (a2, ids2, idx, a3), *train),
        ("zero", k.zero.py_func, (a1,), *train),
        ("embedding_grad", k.embedding_grad.py_func, (a3, a3, idx, idx, idx, a2), *train),
    ]
    return out


def compile_ptx(fn, sig):
    """The PTX of one kernel for sm_90, with tsrnn's CUDA options (call inside :func:`fake_sm90`)."""
    from numba import cuda

    from tsrnn import _config

    ptx, _ = cuda.compile_ptx(fn, sig, cc=CC, fastmath=_config.CUDA_JIT["fastmath"])
    return ptx


_FIELDS = {
    "registers": re.compile(r"Used (\d+) registers"),
    "stack_bytes": re.compile(r"(\d+) bytes stack frame"),
    "spill_stores": re.compile(r"(\d+) bytes spill stores"),
    "spill_loads": re.compile(r"(\d+) bytes spill loads"),
    "static_shared": re.compile(r"(\d+) bytes smem"),
}


def assemble(ptx, ptxas):
    """``ptxas -v`` on one kernel's PTX for sm_90: its registers, stack, spills and static shared memory."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "kernel.ptx"
        source.write_text(ptx)
        done = subprocess.run(
            [ptxas, "-v", f"--gpu-name=sm_{CC[0]}{CC[1]}", str(source), "-o", str(Path(tmp) / "kernel.cubin")],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"ptxas failed: {done.stderr.strip()}")
    report = done.stderr
    entries = re.findall(r"Compiling entry function", report)
    if len(entries) != 1:
        raise RuntimeError(f"expected one entry function in the PTX, ptxas reported {len(entries)}:\n{report}")
    return {name: int(m.group(1)) if (m := pattern.search(report)) else 0 for name, pattern in _FIELDS.items()}


def blocks_per_sm(registers, threads):
    """Resident blocks per SM that the registers allow (allocated per warp in units of 256)."""
    per_warp = -(-registers * 32 // 256) * 256
    warps = -(-threads // 32)
    return min(REGISTERS_PER_SM // (per_warp * warps), THREADS_PER_SM // threads)


def resources(dtype=np.float32, ptxas=None):
    """One row per kernel: name, threads, dynamic shared bytes and :func:`assemble`'s fields."""
    ptxas = ptxas or ptxas_path()
    if ptxas is None:
        raise RuntimeError("ptxas not found: install the 'cuda-check' extra (nvidia-cuda-nvcc) or a CUDA toolkit")
    rows = []
    with fake_sm90():
        for name, fn, sig, threads, dynamic in kernels(dtype):
            info = assemble(compile_ptx(fn, sig), ptxas)
            rows.append({"kernel": name, "threads": threads, "dynamic_shared": dynamic, **info})
    return rows


def markdown(rows, dtype=np.float32):
    version = ""
    ptxas = ptxas_path()
    if ptxas:
        done = subprocess.run([ptxas, "--version"], capture_output=True, text=True, check=False)
        version = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    lines = [
        f"{np.dtype(dtype).name} kernels, sm_{CC[0]}{CC[1]}, `ptxas -v` ({version}); threads per block and the most "
        "dynamic shared memory as tsrnn launches them; blocks/SM is what the registers allow (2,048 threads "
        "and 65,536 registers per SM).",
        "",
        "| kernel | threads | registers | stack B | spill stores B | spill loads B | static smem B | "
        "dynamic smem B (max) | blocks/SM (registers) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['kernel']} | {r['threads']} | {r['registers']} | {r['stack_bytes']} | {r['spill_stores']} | "
            f"{r['spill_loads']} | {r['static_shared']} | {r['dynamic_shared']} | "
            f"{blocks_per_sm(r['registers'], r['threads'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="benchmarks/ptx_resources.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", help="write the table into this markdown file (between ptxas markers)")
    args = parser.parse_args(argv)
    try:
        rows = resources()
    except RuntimeError as exc:
        print(f"ptx_resources: {exc}", file=sys.stderr)
        return 2
    text = f"Command: `python benchmarks/ptx_resources.py{' --output ' + args.output if args.output else ''}`\n\n"
    text += markdown(rows)
    print(text)
    if args.output:
        from speed import write_markdown  # benchmarks/speed.py, beside this file

        write_markdown(args.output, text, marker="ptxas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
