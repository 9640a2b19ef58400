"""The `tsrnn` command, run in-process (``main([...])``) or as a subprocess, on real CSV files."""

import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsrnn.cli import main
from tsrnn.frequencies import default_horizon

# Small networks: the tests check the command, not the accuracy.
TINY = ["--max-epochs", "2", "--hidden-size", "4", "--input-size", "12"]


def _monthly_csv(path, n=48, ids=None, **columns):
    """A monthly CSV with columns month, sales (and store with ``ids``); returns the frame."""
    rng = np.random.default_rng(0)
    ds = pd.date_range("2018-01-01", periods=n, freq="MS").strftime("%Y-%m-%d")
    season = 10 + np.tile(np.arange(12.0), n // 12 + 1)[:n]
    parts = [
        pd.DataFrame({"store": s, "month": ds, "sales": season + k + rng.random(n), **columns})
        for k, s in enumerate(ids if ids else [None])
    ]
    frame = pd.concat(parts, ignore_index=True)
    if not ids:
        frame = frame.drop(columns="store")
    frame.to_csv(path, index=False)
    return frame


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err):
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("tsrnn: error: ")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err  # notes may come before it
    assert "Traceback" not in err
    return errors[0]


# ---------------------------------------------------------------- datasets, compare


def test_datasets_lists_every_bundled_dataset(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("airpassengers", "co2", "sunspots", "nile", "elnino", "macrodata"):
        assert name in out


def test_compare_prints_writes_and_plots_a_leaderboard(capsys, tmp_path):
    png, board = tmp_path / "board.png", tmp_path / "board.csv"
    code, out, err = _run(
        capsys,
        *["compare", "--dataset", "nile", "--horizon", "3", "--n-windows", "2", "--models", "lstm,ets,seasonalnaive"],
        *TINY,
        *["--quiet", "--plot", str(png), "--output", str(board)],
    )
    assert code == 0, err
    names = [line.split()[0] for line in out.splitlines() if line.split()]
    assert {"LSTM", "ETS", "SeasonalNaive"} <= set(names)
    assert "mase" in out and "fit_seconds" in out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    written = pd.read_csv(board, index_col="model")
    assert sorted(written.index) == ["ETS", "LSTM", "SeasonalNaive"]
    assert {"mase", "smape", "fit_seconds"} <= set(written.columns)


@pytest.mark.parametrize(("dataset", "horizon", "season"), [("macrodata", 8, 4), ("nile", 6, 1), ("co2", 12, 12)])
def test_compare_horizon_and_season_come_from_the_frequency(capsys, dataset, horizon, season):
    code, out, err = _run(capsys, "compare", "--dataset", dataset, "--models", "seasonalnaive", "--n-windows", "1")
    assert code == 0, err
    assert f"1 backtest windows of {horizon} steps (season length {season})" in out


def test_compare_plots_a_panel_dataset(capsys, tmp_path):
    """The issue's failure: --plot on the five-series macrodata panel ended in 'ax draws one series'."""
    png = tmp_path / "macro.png"
    code, _, err = _run(
        capsys, "compare", "--dataset", "macrodata", "--models", "seasonalnaive", "--n-windows", "2", "--plot", str(png)
    )
    assert code == 0, err
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 30_000


def test_compare_scores_intervals_with_level(capsys, tmp_path):
    board, forecasts = tmp_path / "board.csv", tmp_path / "forecasts.csv"
    code, out, err = _run(
        capsys,
        *["compare", "--dataset", "nile", "--horizon", "3", "--n-windows", "2", "--models", "ets,seasonalnaive"],
        *["--level", "80,95", "--quiet", "--output", str(board), "--forecasts", str(forecasts)],
    )
    assert code == 0, err
    written = pd.read_csv(board, index_col="model")
    for level in ("80", "95"):
        assert {f"coverage-{level}", f"interval_score-{level}"} <= set(written.columns)
        assert written[f"coverage-{level}"].between(0, 1).all()
    frame = pd.read_csv(forecasts)
    lo, hi = frame["ETS-lo-95"], frame["ETS-hi-95"]
    assert (lo <= frame["ETS"]).all() and (frame["ETS"] <= hi).all()
    assert (frame["ETS-lo-95"] <= frame["ETS-lo-80"]).all()


def test_suite_refuses_level(capsys):
    code, _, err = _run(capsys, "compare", "--suite", "--level", "80")
    assert "drop --level" in _one_line_error(code, err)


# ---------------------------------------------------------------- backtest


def test_backtest_reads_a_long_csv_and_writes_its_results(capsys, tmp_path):
    path = tmp_path / "sales.csv"
    _monthly_csv(path, ids=[1, 2])
    forecasts = tmp_path / "forecasts.csv"
    code, out, err = _run(
        capsys,
        *["backtest", "--csv", str(path), "--time-col", "month", "--value-col", "sales", "--id-col", "store"],
        *["--n-windows", "2", "--models", "seasonalnaive,ets", "--quiet", "--forecasts", str(forecasts)],
        *["--output", str(tmp_path / "board.csv")],
    )
    assert code == 0, err
    assert "2 backtest windows of 12 steps (season length 12)" in out  # monthly: a year ahead
    frame = pd.read_csv(forecasts)
    assert list(frame.columns) == ["unique_id", "ds", "cutoff", "y", "SeasonalNaive", "ETS"]
    assert len(frame) == 2 * 2 * 12
    assert (tmp_path / "board.csv").is_file()


def test_backtest_daily_horizon_is_two_weeks(capsys, tmp_path):
    path = tmp_path / "daily.csv"
    ds = pd.date_range("2020-01-01", periods=60, freq="D")
    pd.DataFrame({"date": ds.strftime("%Y-%m-%d"), "units": 10 + np.arange(60) % 7}).to_csv(path, index=False)
    code, out, err = _run(
        capsys,
        "backtest",
        "--csv",
        str(path),
        "--time-col",
        "date",
        "--value-col",
        "units",
        "--models",
        "seasonalnaive",
    )
    assert code == 0, err
    assert f"windows of {default_horizon('D')} steps (season length 7)" in out


def test_backtest_sorts_rows_and_names_ignored_columns(capsys, tmp_path):
    """A CSV's rows are observations in any order (here interleaved by date); unused columns are named."""
    path = tmp_path / "sales.csv"
    frame = _monthly_csv(path, ids=["a", "b"], note="x")
    frame.sort_values("month", kind="stable").to_csv(path, index=False)
    code, _, err = _run(
        capsys,
        *["backtest", "--csv", str(path), "--time-col", "month", "--value-col", "sales", "--id-col", "store"],
        *["--models", "seasonalnaive", "--n-windows", "1", "--quiet"],
    )
    assert code == 0, err
    assert "ignoring column(s) ['note']" in err


def test_backtest_uses_the_covariates_it_is_given(capsys, tmp_path):
    path = tmp_path / "sales.csv"
    rng = np.random.default_rng(1)
    _monthly_csv(path, n=36, promo=rng.random(36), temperature=rng.random(36))
    forecasts = tmp_path / "f.csv"
    common = ["backtest", "--csv", str(path), "--time-col", "month", "--value-col", "sales", "--n-windows", "1"]
    code, _, err = _run(
        capsys,
        *common,
        *["--models", "lstm,seasonalnaive", *TINY, "--quiet", "--covariates", "promo"],
        *["--past-covariates", "temperature", "--forecasts", str(forecasts)],
    )
    assert code == 0, err
    assert "ignoring" not in err
    assert np.isfinite(pd.read_csv(forecasts)["LSTM"]).all()
    # AutoARIMA would read a past-only covariate as known in advance: refused, not leaked
    code, _, err = _run(
        capsys, *common, "--models", "autoarima", "--covariates", "promo", "--past-covariates", "temperature"
    )
    assert "AutoARIMA takes covariates only as known in advance" in _one_line_error(code, err)


# ---------------------------------------------------------------- forecast


def test_forecast_writes_a_tidy_csv(capsys, tmp_path):
    path, out_csv = tmp_path / "sales.csv", tmp_path / "out.csv"
    frame = _monthly_csv(path)
    code, _, err = _run(
        capsys,
        *["forecast", "--csv", str(path), "--time-col", "month", "--value-col", "sales"],
        *["--models", "seasonalnaive,ets", "--output", str(out_csv)],
    )
    assert code == 0, err
    result = pd.read_csv(out_csv, parse_dates=["ds"])
    assert list(result.columns) == ["unique_id", "ds", "SeasonalNaive", "ETS"]
    assert (result["unique_id"] == "sales").all()
    expected_ds = pd.date_range("2022-01-01", periods=12, freq="MS")  # a year after the last month
    assert (result["ds"] == expected_ds).all()
    np.testing.assert_allclose(result["SeasonalNaive"], frame["sales"].to_numpy()[-12:])
    assert "Forecasts of 1 series, 12 steps" in err


def test_forecast_with_prediction_intervals(capsys, tmp_path):
    path, out_csv, png = tmp_path / "sales.csv", tmp_path / "out.csv", tmp_path / "out.png"
    _monthly_csv(path)
    code, _, err = _run(
        capsys,
        *["forecast", "--csv", str(path), "--time-col", "month", "--value-col", "sales", "--models", "ets"],
        *["--level", "80,95", "--output", str(out_csv), "--plot", str(png)],
    )
    assert code == 0, err
    result = pd.read_csv(out_csv)
    assert list(result.columns) == ["unique_id", "ds", "ETS", "ETS-lo-80", "ETS-hi-80", "ETS-lo-95", "ETS-hi-95"]
    assert (result["ETS-lo-95"] <= result["ETS-lo-80"]).all() and (result["ETS-hi-80"] <= result["ETS-hi-95"]).all()
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_forecast_many_series_to_stdout(capsys, tmp_path):
    path = tmp_path / "sales.csv"
    _monthly_csv(path, ids=["north", "south"])
    code, out, err = _run(
        capsys,
        *["forecast", "--csv", str(path), "--time-col", "month", "--value-col", "sales", "--id-col", "store"],
        *["--models", "lstm,seasonalnaive", "--horizon", "3", *TINY],
    )
    assert code == 0, err
    result = pd.read_csv(StringIO(out))
    assert list(result.columns) == ["unique_id", "ds", "LSTM", "SeasonalNaive"]
    assert result["unique_id"].tolist() == ["north"] * 3 + ["south"] * 3
    assert np.isfinite(result[["LSTM", "SeasonalNaive"]].to_numpy()).all()


def test_forecast_reads_future_covariates_from_trailing_rows(capsys, tmp_path):
    """Rows after the last value with the value cell empty hold the known covariates of the forecast steps."""
    path, out_csv = tmp_path / "sales.csv", tmp_path / "out.csv"
    frame = _monthly_csv(path, n=40, promo=np.arange(40) % 2)
    frame.loc[35:, "sales"] = np.nan  # the last 5 months are the future
    frame.to_csv(path, index=False)
    argv = ["forecast", "--csv", str(path), "--time-col", "month", "--value-col", "sales", "--models", "lstm", *TINY]
    code, _, err = _run(capsys, *argv, "--covariates", "promo", "--output", str(out_csv))
    assert code == 0, err
    result = pd.read_csv(out_csv, parse_dates=["ds"])
    assert len(result) == 5  # the horizon is the number of future rows
    assert (result["ds"] == pd.to_datetime(frame["month"].iloc[35:]).to_numpy()).all()
    # without --covariates, the empty future values are an error, not silently dropped
    code, _, err = _run(capsys, *argv)
    assert "ends with empty values" in _one_line_error(code, err)


def test_forecast_horizon_must_match_the_future_covariate_rows(capsys, tmp_path):
    """README: with future covariate rows the horizon is their number; a --horizon that disagrees
    left the third row unread (exit 0) before."""
    path = tmp_path / "sales.csv"
    frame = _monthly_csv(path, n=30, promo=np.arange(30) % 2)
    frame.loc[27:, "sales"] = np.nan  # 3 future rows
    frame.to_csv(path, index=False)
    argv = ["forecast", "--csv", str(path), "--time-col", "month", "--value-col", "sales"]
    argv += ["--models", "seasonalnaive", "--covariates", "promo"]
    code, _, err = _run(capsys, *argv, "--horizon", "2")
    assert "--horizon 2 disagrees with the 3 future covariate rows" in _one_line_error(code, err)
    code, out, err = _run(capsys, *argv, "--horizon", "3")  # agreeing is fine
    assert code == 0, err
    assert len(pd.read_csv(StringIO(out))) == 3


def test_forecast_needs_as_many_future_rows_for_every_series(capsys, tmp_path):
    """A series without future rows is named with its 0, not left to fail inside a model."""
    path = tmp_path / "sales.csv"
    frame = _monthly_csv(path, n=30, ids=["a", "b"], promo=1.0)
    frame.loc[27:29, "sales"] = np.nan  # series 'a' has 3 future rows, 'b' none
    frame.to_csv(path, index=False)
    argv = ["forecast", "--csv", str(path), "--time-col", "month", "--value-col", "sales", "--id-col", "store"]
    for extra in ([], ["--horizon", "3"]):
        code, _, err = _run(capsys, *argv, "--models", "seasonalnaive", "--covariates", "promo", *extra)
        assert "different numbers of future covariate rows ({'a': 3, 'b': 0})" in _one_line_error(code, err)


def test_forecast_needs_future_values_of_known_covariates(capsys, tmp_path):
    path = tmp_path / "sales.csv"
    _monthly_csv(path, n=36, promo=np.arange(36) % 2)
    code, _, err = _run(
        capsys,
        *["forecast", "--csv", str(path), "--time-col", "month", "--value-col", "sales"],
        *["--models", "lstm", *TINY, "--covariates", "promo", "--horizon", "2"],
    )
    assert "X_future" in _one_line_error(code, err)


def test_forecast_plot_and_a_timezone_aware_csv(capsys, tmp_path):
    """Timestamps with a summer-time change (two UTC offsets) read as one UTC time line."""
    path, png = tmp_path / "load.csv", tmp_path / "load.png"
    ds = pd.date_range("2021-03-25", periods=24 * 8, freq="h", tz="Europe/Paris")
    values = 5 + np.sin(np.arange(len(ds)) * 2 * np.pi / 24)
    pd.DataFrame({"t": ds.strftime("%Y-%m-%dT%H:%M:%S%z"), "load": values}).to_csv(path, index=False)
    code, out, err = _run(
        capsys,
        *["forecast", "--csv", str(path), "--time-col", "t", "--value-col", "load"],
        *["--models", "seasonalnaive", "--plot", str(png)],
    )
    assert code == 0, err
    result = pd.read_csv(StringIO(out))
    assert len(result) == default_horizon("h")
    assert result["ds"].iloc[0] == str(ds[-1].tz_convert("UTC") + pd.Timedelta(hours=1))
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_forecast_as_a_subprocess(tmp_path):
    path, out_csv = tmp_path / "y.csv", tmp_path / "out.csv"
    pd.DataFrame({"t": np.arange(30), "y": np.arange(30.0) % 5}).to_csv(path, index=False)
    command = [sys.executable, "-m", "tsrnn", "forecast", "--csv", str(path), "--time-col", "t", "--value-col", "y"]
    result = subprocess.run(
        [*command, "--models", "seasonalnaive", "--season-length", "5", "--horizon", "5", "--output", str(out_csv)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    forecast = pd.read_csv(out_csv)
    assert forecast["ds"].tolist() == [30, 31, 32, 33, 34]  # integer time stays integer
    np.testing.assert_allclose(forecast["SeasonalNaive"], [0, 1, 2, 3, 4])


# ---------------------------------------------------------------- user errors


@pytest.fixture
def small_csv(tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame({"t": np.arange(20), "v": np.arange(20.0), "label": ["a"] * 20}).to_csv(path, index=False)
    return path


def _error_cases(csv, tmp):
    base = ["backtest", "--csv", str(csv), "--time-col", "t", "--value-col", "v", "--models", "seasonalnaive"]
    return {
        "unknown model": (
            ["compare", "--models", "ets,prophet"],
            r"unknown model\(s\) \['prophet'\]; choose from lstm",
        ),
        "season length 0": ([*base, "--season-length", "0"], "--season-length: must be an integer >= 1, got 0"),
        "horizon not a number": ([*base, "--horizon", "twelve"], "--horizon: expected an integer, got 'twelve'"),
        "missing CSV": ([*base[:2], str(tmp / "nope.csv"), *base[3:]], "nope.csv: no such file"),
        "CSV is a folder": ([*base[:2], str(tmp), *base[3:]], "is not a regular file"),
        "CSV is a device": ([*base[:2], "/dev/null", *base[3:]], "--csv /dev/null: is not a regular file"),
        "horizon too large": (
            [*base, "--horizon", "99999999999999999999"],
            "--horizon: must be a positive integer below 1000000, got 99999999999999999999",
        ),
        "seed too large": ([*base, "--seed", str(2**32)], "--seed: must be a non-negative integer below 4294967296"),
        "missing column": (
            [*base[:6], "value"],
            r"has no column\(s\) \['value'\]; its columns are \['t', 'v', 'label'\]",
        ),
        "text values": ([*base[:6], "label"], "column 'label' of .* must hold numbers; line 2 has 'a'"),
        "missing covariate": ([*base, "--covariates", "price"], r"no column\(s\) \['price'\]"),
        "plot in a missing folder": (
            [*base, "--plot", str(tmp / "no" / "p.png")],
            "--plot .*p.png: the folder .* does",
        ),
        "plot format": ([*base, "--plot", str(tmp / "p.xyz")], "unknown image format 'xyz'"),
        "output in a missing folder": ([*base, "--output", str(tmp / "no" / "b.csv")], "--output .*: the folder"),
        "unknown dataset": (["compare", "--dataset", "m4"], "Unknown dataset 'm4'"),
        "options for no model": ([*base, "--hidden-size", "8"], "--hidden-size sets the neural models"),
        "no command": ([], "the following arguments are required: command"),
        "suite with a horizon": (
            ["compare", "--suite", "--horizon", "3"],
            "--suite runs each dataset .* drop --horizon",
        ),
        "level out of range": (["forecast", *base[1:], "--level", "80,100"], r"levels are percentages in \(0, 100\)"),
    }


@pytest.mark.parametrize("case", list(_error_cases("x", Path("."))))
def test_user_errors_are_one_line_with_status_2(capsys, small_csv, tmp_path, case):
    argv, pattern = _error_cases(small_csv, tmp_path)[case]
    code, _, err = _run(capsys, *argv)
    line = _one_line_error(code, err)
    assert re.search(pattern, line), line


def test_data_errors_are_one_line(capsys, tmp_path):
    base = ["backtest", "--time-col", "t", "--value-col", "v", "--models", "seasonalnaive", "--horizon", "1"]
    cases = {
        "dup.csv": ({"t": [1, 2, 2, 3], "v": [1.0, 2, 3, 4]}, "duplicate timestamps"),
        "gap.csv": (
            {"t": [1, 2, 3, 4], "v": [1.0, None, 3, 4]},
            r"'v' of .* has 1 empty value\(s\) \(first on line 3\)",
        ),
        "float.csv": ({"t": [0.5, 1.5, 2.5, 3.5], "v": [1.0, 2, 3, 4]}, "holds non-integer numbers"),
        "text.csv": ({"t": ["a", "b", "c", "d"], "v": [1.0, 2, 3, 4]}, "holds neither integers nor timestamps"),
        "bool.csv": ({"t": [1, 2, 3, 4], "v": [True, False, True, True]}, "true/false"),
    }
    for name, (columns, pattern) in cases.items():
        pd.DataFrame(columns).to_csv(tmp_path / name, index=False)
        code, _, err = _run(capsys, *base, "--csv", str(tmp_path / name))
        assert re.search(pattern, _one_line_error(code, err)), (name, err)


def test_series_ids_are_the_files_text(tmp_path):
    """Ids 01, 1, 1.0, 007 and NA are five series, written back as in the file (they were read as
    numbers: 01 and 1 merged into 'duplicate timestamps', 007 came back as 7.0, NA was empty)."""
    ids = ["01", "1", "1.0", "007", "NA"]
    path, out_csv, backtest_csv = tmp_path / "ids.csv", tmp_path / "out.csv", tmp_path / "bt.csv"
    months = pd.date_range("2018-01-01", periods=24, freq="MS").strftime("%Y-%m-%d")
    lines = [f"{i},{m},{10 + k + j % 12}" for k, i in enumerate(ids) for j, m in enumerate(months)]
    path.write_text("store,month,sales\n" + "\n".join(lines) + "\n")
    command = [sys.executable, "-m", "tsrnn", "forecast", "--csv", str(path), "--time-col", "month"]
    command += ["--value-col", "sales", "--id-col", "store", "--models", "seasonalnaive", "--horizon", "2"]
    result = subprocess.run([*command, "--output", str(out_csv)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    backtest = [*command[:3], "backtest", *command[4:], "--n-windows", "1", "--forecasts", str(backtest_csv)]
    result = subprocess.run(backtest, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for written in (out_csv, backtest_csv):
        text = pd.read_csv(written, dtype={"unique_id": str}, keep_default_na=False)
        assert sorted(set(text["unique_id"])) == sorted(ids), written
        assert (text.groupby("unique_id").size() == 2).all()
    # each id kept its own values: 007 is the fourth series (k = 3), seasonal naive repeats its year
    forecast = pd.read_csv(out_csv, dtype={"unique_id": str}, keep_default_na=False).set_index("unique_id")
    assert forecast.loc["007", "SeasonalNaive"].tolist() == [13.0, 14.0]


def test_an_empty_series_id_is_still_an_error(capsys, tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,t,v\na,1,1.0\n,2,2.0\na,3,3.0\n")
    code, _, err = _run(capsys, "backtest", "--csv", str(path), "--time-col", "t", "--value-col", "v", "--id-col", "id")
    assert re.search(r"column 'id' of .* has empty value\(s\) \(first on line 3\)", _one_line_error(code, err))


def test_a_repeated_header_name_is_an_error(capsys, tmp_path):
    """pandas renames the second 'y' to 'y.1'; the CLI said it ignored a column not in the file."""
    path = tmp_path / "dup.csv"
    path.write_text("ds,y,y\n1,2,3\n2,3,4\n3,4,5\n")
    code, _, err = _run(capsys, "backtest", "--csv", str(path), "--time-col", "ds", "--value-col", "y")
    line = _one_line_error(code, err)
    assert "column 'y' appears 2 times in the CSV header" in line
    assert "y.1" not in err


def test_plot_without_matplotlib_names_the_extra(capsys, small_csv, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # find_spec reports it absent
    argv = ["backtest", "--csv", str(small_csv), "--time-col", "t", "--value-col", "v", "--plot", "p.png"]
    code, out, err = _run(capsys, *argv)
    assert "--plot needs matplotlib, which is not installed: pip install 'tsrnn[plot]'" in _one_line_error(code, err)
    assert out == ""  # checked before anything ran


def test_argument_errors_come_before_heavy_imports(small_csv):
    """A typo costs no wait: numba and statsmodels are not even imported."""
    script = (
        "import sys; from tsrnn.cli import main; "
        f"code = main(['backtest', '--csv', {str(small_csv)!r}, '--time-col', 't', '--value-col', 'nope']); "
        "print(code, 'numba' in sys.modules, 'statsmodels' in sys.modules, 'sklearn' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["2", "False", "False", "False"], result.stderr
    assert result.stderr.startswith("tsrnn: error:") and len(result.stderr.strip().splitlines()) == 1


def test_help_and_version_exit_zero(capsys):
    assert main(["forecast", "--help"]) == 0
    assert "--covariates" in capsys.readouterr().out


# ---------------------------------------------------------------- the rest


def test_bench_prints_a_speed_table(capsys):
    assert main(["bench", "--workloads", "W1", "--cells", "gru", "--no-torch", "--budget", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "| W1 | gru | train |" in out and "% sgemm peak" in out


def test_bench_on_cuda_without_a_gpu_says_what_is_missing(capsys):
    """``tsrnn bench --device cuda`` runs benchmarks/gpu.py: exit 2 and one line without a GPU."""
    from tsrnn.kernels import cuda_usable

    if cuda_usable():
        pytest.skip("numba.cuda is usable here (a GPU or the simulator)")
    assert main(["bench", "--device", "cuda", "--workloads", "W1", "--cells", "gru"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert main(["bench", "--device", "tpu"]) == 2
    assert "--device takes 'cpu' or 'cuda'" in capsys.readouterr().err


def test_version_and_python_dash_m():
    import tsrnn

    for command in ([sys.executable, "-m", "tsrnn", "--version"], [sys.executable, "-m", "tsrnn.cli", "--version"]):
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"tsrnn {tsrnn.__version__}"
    # one source: the installed metadata is read from tsrnn/__init__.py by the build backend
    from importlib.metadata import version

    assert version("tsrnn") == tsrnn.__version__


@pytest.mark.slow
def test_readme_main_job_neural_models_beat_the_baselines(capsys):
    """The README's main job, end to end: every tsrnn model beats SeasonalNaive, ETS and AutoARIMA
    (MASE ~0.55 against 0.86-1.21 when this was written)."""
    assert main(["compare", "--dataset", "airpassengers", "--horizon", "12", "--quiet"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.split()}
    column = 1 + rows["mase"].index("mase")  # the header line starts with the metric names
    mase = {name: float(rows[name][column]) for name in ("LSTM", "GRU", "RNN", "SeasonalNaive", "AutoARIMA", "ETS")}
    for name in ("LSTM", "GRU", "RNN"):
        assert mase[name] < min(mase["SeasonalNaive"], mase["ETS"], mase["AutoARIMA"]), mase


@pytest.mark.slow
def test_compare_plot_on_the_full_panel_line_up(capsys, tmp_path):
    """The issue's command as a user types it: every model on macrodata, with --plot."""
    png = tmp_path / "macro.png"
    code, out, err = _run(capsys, "compare", "--dataset", "macrodata", "--quiet", "--plot", str(png))
    assert code == 0, err
    assert "LSTM" in out and png.read_bytes()[:4] == b"\x89PNG"


def test_warmup_shows_progress_and_the_cache(capsys):
    assert main(["warmup", "--cells", "rnn", "--dtypes", "float64"]) == 0
    out = capsys.readouterr().out
    assert "Compiling tsrnn's kernels into" in out
    assert "  rnn float64 ..." in out and "  rnn float64: " in out and "Kernels ready in" in out


def test_warmup_rejects_unknown_cells_and_dtypes(capsys):
    assert main(["warmup", "--cells", "xlstm"]) == 2
    assert "Unknown cell 'xlstm'" in capsys.readouterr().err
    assert main(["warmup", "--dtypes", "float16"]) == 2
    assert "Unknown dtype 'float16'" in capsys.readouterr().err
    assert main(["warmup", "--jobs", "0"]) == 2
