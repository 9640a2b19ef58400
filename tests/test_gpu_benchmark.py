"""benchmarks/gpu.py without a GPU: its options, the floors, the markdown writer and the no-GPU exit.

The correctness check it runs first is tested on the CUDA simulator in
tests/kernels/test_cuda_kernels.py; the timing needs a GPU.
"""

import pytest

from ._benchmarks import BENCHMARKS, load_benchmark

gpu = load_benchmark("gpu")


def test_defaults_cover_every_workload_and_cell():
    args = gpu.build_parser().parse_args([])
    assert args.workloads == ["W1", "W2", "W3", "W3-large"]
    assert sorted(args.cells) == ["gru", "lstm", "rnn"]
    assert args.output is None and not args.no_torch and not args.no_check
    args = gpu.build_parser().parse_args(["--workloads", "W1", "--cells", "lstm", "--repeats", "3", "--no-torch"])
    assert (args.workloads, args.cells, args.repeats, args.no_torch) == (["W1"], ["lstm"], 3, True)
    with pytest.raises(SystemExit):
        gpu.build_parser().parse_args(["--workloads", "W9"])


def test_workloads_match_the_cpu_benchmark():
    """W1-W3 are the CPU table's workloads (benchmarks/speed.py), so the two tables compare."""
    speed = load_benchmark("speed")
    for name in ("W1", "W2", "W3"):
        assert gpu.WORKLOADS[name] == speed.WORKLOADS[name]
    assert gpu.WORKLOADS["W3-large"] == (1024, 168, 8, 128, 2, 24)


def test_floors_by_hand():
    """W1 lstm: one layer, B=256, T=48, D=1, H=32, G=4."""
    f = gpu.floors("lstm", gpu.WORKLOADS["W1"])
    forward = 2 * 256 * 4 * 32 * (1 + 32) * 48
    assert f["infer_flops"] == forward and f["train_flops"] == 3 * forward
    # inference bytes: x, the projection written and read, out (float32)
    assert f["infer_bytes"] == 4 * (48 * 256 * 1 + 2 * 48 * 256 * 128 + 48 * 256 * 32)
    assert f["infer_compute_s"] == pytest.approx(forward / 67e12)
    assert f["train_memory_s"] == pytest.approx(f["train_bytes"] / 4.8e12)
    # the second layer of W3 takes the first one's hidden state as input
    assert gpu.layer_shapes(gpu.WORKLOADS["W3"]) == [(256, 168, 8, 128), (256, 168, 128, 128)]


def test_floors_table_has_a_row_per_workload_and_cell():
    table = gpu.floors_table()
    assert len(table.splitlines()) == 2 + 4 * 3
    assert "| W3-large | lstm | 207.17 |" in table


def results_text(checks):
    rows = [("W1", "lstm", 0, (256, 48, 1, 32), {"forward": 0.5, "forward_train": 0.6, "backward": 1.25})]
    totals = [("W1", "lstm", 0.5, 1.85, {"infer": 1.0, "train": 3.7}), ("W1", "gru", 0.5, 1.0, None)]
    steps = [("W1", "lstm", 2.0, 5.0), ("W1", "gru", 1.5, None)]
    return gpu.results_markdown("Measured on a test.", checks, rows, totals, {"lstm": 1e-5, "gru": 0.1}, steps)


def test_results_markdown():
    text = results_text({("W1", "lstm"): {"out": 1e-6, "dW_hh": 3e-5}, ("W1", "gru"): {"out": 0.5}})
    assert "| W1 | lstm | dW_hh | 3.00e-05 | yes |" in text
    assert "| W1 | gru | out | 5.00e-01 | **NO** |" in text
    assert "| W1 | lstm | 0 | 256, 48, 1, 32 | 0.500 | 0.600 | 1.250 |" in text
    assert "| W1 | lstm | 0.500 | 1.000 | 2.00x | 1.850 | 3.700 | 2.00x |" in text
    assert "| W1 | gru | 0.500 | - | - | 1.000 | - | - |" in text
    assert "| lstm | 1.00e-05 | yes |" in text and "| gru | 1.00e-01 | **NO** |" in text
    assert "| W1 | lstm | 2.000 | 5.000 | 2.50x |" in text
    assert "| W1 | gru | 1.500 | - | - |" in text


def test_write_results_replaces_only_the_marked_section(tmp_path):
    doc = tmp_path / "GPU.md"
    doc.write_text(f"# GPU\n\nnote\n\n{gpu.MARK_START}\nNot run yet.\n{gpu.MARK_END}\n\ntail\n")
    gpu.write_results(doc, results_text({}))
    first = doc.read_text()
    assert "Not run yet." not in first and "Measured on a test." in first
    assert first.startswith("# GPU\n\nnote\n\n") and first.endswith(f"{gpu.MARK_END}\n\ntail\n")
    gpu.write_results(doc, results_text({}))  # a rerun replaces, never appends
    assert doc.read_text() == first


def test_write_results_refuses_a_file_without_markers(tmp_path):
    doc = tmp_path / "GPU.md"
    doc.write_text("# GPU\n")
    with pytest.raises(ValueError, match="gpu-results:start"):
        gpu.write_results(doc, "x")
    assert doc.read_text() == "# GPU\n"


def test_the_repository_gpu_md_has_the_markers():
    text = (BENCHMARKS / "GPU.md").read_text()
    assert 0 <= text.find(gpu.MARK_START) < text.find(gpu.MARK_END)


def test_without_a_gpu_exits_2_with_the_reason(capsys):
    if gpu.gpu_problem() is None:
        pytest.skip("a CUDA GPU is present: the benchmark would run")
    assert gpu.main(["--workloads", "W1", "--cells", "rnn"]) == 2
    err = capsys.readouterr().err
    assert "needs a CUDA GPU" in err and len(err.strip().splitlines()) == 1


def test_floors_option_needs_no_gpu(capsys):
    assert gpu.main(["--floors", "--workloads", "W1", "--cells", "lstm"]) == 0
    assert "| W1 | lstm |" in capsys.readouterr().out


def test_relative_errors_are_scaled_by_each_output():
    import numpy as np

    ref = {"out": np.array([1.0, -2.0]), "db_hh": np.array([100.0, 0.0]), "dx": np.zeros(2)}
    ours = {"out": np.array([1.0, -2.002]), "db_hh": np.array([100.1, 0.0]), "dx": np.zeros(2)}
    errors = gpu.relative_errors(ours, ref)
    assert errors["out"] == pytest.approx(1e-3) and errors["db_hh"] == pytest.approx(1e-3)
    assert errors["dx"] == 0.0
