"""The qscen command: parsing, config display, error reporting (flows are tested in test_flows.py)."""

from __future__ import annotations

import yaml

from qscen.cli import build_parser, main
from quantum_scenarios.config import PipelineConfig


def test_config_show_prints_the_full_default_config(capsys) -> None:
    assert main(["config", "show"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert PipelineConfig.model_validate(shown) == PipelineConfig()
    assert set(shown) == set(PipelineConfig.model_fields)


def test_common_options_are_accepted_by_every_command() -> None:
    parser = build_parser()
    for command in (["run"], ["validate", "x.csv"], ["train"]):
        args = parser.parse_args(
            [*command, "--run-id", "r", "--workdir", "w", "--source", "bundled", "--set", "training.epochs=2"]
        )
        assert args.run_id == "r" and str(args.workdir) == "w" and args.overrides == ["training.epochs=2"]


def test_bad_override_exits_non_zero_with_the_reason(capsys) -> None:
    assert main(["run", "--set", "training.epochz=3"]) == 1
    err = capsys.readouterr().err
    assert "qscen run: error" in err and "unknown field 'epochz'" in err


def test_missing_config_file_exits_non_zero(capsys, tmp_path) -> None:
    assert main(["validate", "bundled", "--config", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- every failure is one message

import errno
import subprocess
import sys
import textwrap
import time
import pandas as pd

import pytest

from qscen import cli
from quantum_scenarios import server
from qscen.cli import error_message
from quantum_scenarios.preflight import preflight


@pytest.fixture
def no_server(monkeypatch):
    """Fail the test if a command gets as far as starting Prefect's server."""

    def refuse(self):
        raise AssertionError("the command started the Prefect server before rejecting its input")

    monkeypatch.setattr(server.TemporaryServer, "start", refuse)


def _one_error_line(err: str, command: str = "run") -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines[-1].startswith(f"qscen {command}: error: ")
    return lines[-1]


def _wide_csv(path, make_prices, assets=("AAA", "BBB"), n=400):
    make_prices(n, assets, seed=1).to_csv(path)
    return path


def test_invalid_yaml_config_names_file_and_line(capsys, tmp_path, no_server) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  epochs: [1\n")
    assert main(["run", "--config", str(bad)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert f"config file {bad} is not valid YAML at line 3" in line and "fix the file" in line


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("training.epochs=[1", "the value '[1' is not valid YAML; quote text, and write lists as a,b,c"),
        ("training.epochs=abc", "option training.epochs: Input should be a valid integer"),
        ("training.epochs=0", "option training.epochs: Input should be greater than or equal to 1"),
        ("trainingepochs", "must look like section.field=value"),
    ],
)
def test_malformed_set_values_name_the_option(capsys, override: str, expected: str, no_server) -> None:
    assert main(["run", "--set", override]) == 1
    assert expected in _one_error_line(capsys.readouterr().err)


def test_set_takes_comma_lists_and_assets_selects(tmp_path) -> None:
    args = build_parser().parse_args(["run", "--set", "source.assets=MSFT,AAPL", "--set", "stress.weights=0.25,0.75"])
    config = cli._resolve_config(args)
    assert config.source.assets == ["MSFT", "AAPL"] and config.stress.weights == [0.25, 0.75]
    config = cli._resolve_config(build_parser().parse_args(["train", "--assets", "SP500, WTI"]))
    assert config.source.assets == ["SP500", "WTI"]


def test_unknown_asset_from_set_list_is_a_data_error_not_a_pydantic_dump(capsys, tmp_path, no_server) -> None:
    assert main(["run", "--set", "source.assets=MSFT,AAPL", "--workdir", str(tmp_path)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "Unknown asset(s) ['MSFT', 'AAPL'] requested from the bundled data" in line and "--assets" in line


def test_config_show_describe_prints_descriptions_and_loads_back(capsys) -> None:
    assert main(["config", "show", "--describe"]) == 0
    out = capsys.readouterr().out
    assert PipelineConfig.model_validate(yaml.safe_load(out)) == PipelineConfig()
    assert "# evaluation.split_date: Train on data up to and including this date" in out
    assert "# encoding.num_qubits: Qubits per asset: 2**n bins per asset. [>= 1, <= 8]" in out
    assert "one of strict, repair" in out


def test_too_many_qubits_fail_in_seconds_naming_the_option(capsys, tmp_path, make_prices, no_server) -> None:
    csv = _wide_csv(tmp_path / "five.csv", make_prices, assets=("A1", "A2", "A3", "A4", "A5"))
    started = time.perf_counter()
    code = main(["run", "--source", str(csv), "--set", "encoding.num_qubits=5", "--workdir", str(tmp_path / "w"),
                 "--set", "evaluation.split_date=2010-12-31", "--set", "model.mode=joint"])
    assert code == 1 and time.perf_counter() - started < 10
    line = _one_error_line(capsys.readouterr().err)
    assert "5 assets × 5 qubits = 25 > 24 qubits: lower encoding.num_qubits (--set encoding.num_qubits=4)" in line
    assert "--assets" in line
    assert not (tmp_path / "w" / "reports").exists()


def test_a_cut_off_outside_the_data_names_evaluation_split_date(capsys, tmp_path, make_prices, no_server) -> None:
    csv = _wide_csv(tmp_path / "p.csv", make_prices)
    assert main(["run", "--source", str(csv), "--workdir", str(tmp_path / "w")]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "evaluation.split_date 2012-12-31 leaves 0 return(s) for evaluation (after the cut-off)" in line
    assert "--set evaluation.split_date=" in line


def test_sparse_grid_warns_with_the_share_of_cells(make_prices) -> None:
    import numpy as np

    returns = np.log(make_prices(800, ("A", "B", "C", "D", "E"), seed=2)).diff().dropna()
    checked = preflight(returns, num_qubits=3, split_date="2012-06-30")
    assert checked.grid_cells == 32_768 and 0 < checked.occupied_cells <= checked.train_rows
    assert len(checked.warnings) == 1
    assert f"only {checked.occupied_cells:,} of 32,768 grid cells" in checked.warnings[0]
    assert "Lower encoding.num_qubits" in checked.warnings[0] and "factor or copula" in checked.warnings[0]
    assert preflight(returns[["A", "B"]], num_qubits=2, split_date="2012-06-30").warnings == []
    # factor and copula modes train on their own grid: no advice to switch to them
    assert preflight(returns, num_qubits=3, split_date="2012-06-30", mode="factor").warnings == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/w/data/runs/x/prices.parquet"),
         "no space left on device writing /w/data/runs/x/prices.parquet: free some space or choose another --workdir"),
        (OSError("IOError: [Errno 28] No space left on device"), "no space left on device: free some space"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/data"),
         "cannot write /ro/data (read-only file system): choose a writable --workdir"),
        (PermissionError(errno.EACCES, "Permission denied", "/p"), "cannot write /p (permission denied)"),
        (MemoryError(), "out of memory: lower encoding.num_qubits"),
        (RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server."),
         "raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"),
        (RuntimeError("boom\nsecond line"), "unexpected RuntimeError: boom second line (run again with -v"),
    ],
)
def test_error_messages_name_what_to_fix(error: BaseException, expected: str) -> None:
    message = error_message(error)
    assert expected in message and "\n" not in message


def test_a_wrapped_disk_full_error_is_found_underneath(monkeypatch) -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/w/x.parquet")
        except OSError as inner:
            raise RuntimeError("task failed") from inner
    except RuntimeError as outer:
        assert error_message(outer).startswith("no space left on device writing /w/x.parquet")


def test_verbose_adds_the_traceback_and_errors_exit_non_zero(capsys, monkeypatch) -> None:
    def explode(args, command):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "_pipeline", explode)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "qscen run: error: unexpected RuntimeError: kaboom" in err
    assert main(["run", "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.rstrip().endswith("report it)")


def test_full_disk_during_the_workdir_check_is_one_line(capsys, tmp_path, monkeypatch, no_server) -> None:
    def full(workdir):
        raise OSError(errno.ENOSPC, "No space left on device", str(workdir / "data" / "runs" / ".probe"))

    monkeypatch.setattr(cli, "_check_workdir", full)
    assert main(["run", "--workdir", str(tmp_path)]) == 1
    assert _one_error_line(capsys.readouterr().err).startswith("qscen run: error: no space left on device writing")


def test_validate_refuses_a_finished_run_and_changes_nothing(capsys, tmp_path, make_prices, no_server) -> None:
    from quantum_scenarios.runs import RunLayout

    layout = RunLayout(tmp_path, "k1").open()
    layout.model_dir.mkdir()
    layout.report_path.write_text("report")
    layout.commit()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    csv = _wide_csv(tmp_path / "in.csv", make_prices)
    before[csv] = csv.read_bytes()
    for command in (["validate", str(csv)], ["train", "--source", str(csv)]):
        assert main([*command, "--workdir", str(tmp_path), "--run-id", "k1"]) == 1
        line = _one_error_line(capsys.readouterr().err, command[0])
        assert f"run 'k1' is finished (it has a model, a report); `qscen {command[0]}` would" in line
        assert "qscen run --run-id k1" in line
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_second_writer_of_the_same_run_id_fails_at_once(capsys, tmp_path, no_server) -> None:
    code = textwrap.dedent(f"""
        import time
        from quantum_scenarios.runs import RunLock
        RunLock({str(tmp_path)!r}, "same", command="qscen run").acquire()
        print("ready", flush=True)
        time.sleep(30)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert main(["run", "--workdir", str(tmp_path), "--run-id", "same"]) == 1
        line = _one_error_line(capsys.readouterr().err)
        assert f"run 'same' is being written by qscen run (pid {child.pid}" in line and "--wait" in line
        assert main(["run", "--workdir", str(tmp_path), "--run-id", "same", "--wait", "0.3"]) == 1
        assert "waited 0.3 s" in capsys.readouterr().err
    finally:
        child.kill()
        child.wait()


def test_missing_prices_and_gaps_fail_before_prefect(capsys, tmp_path, make_prices, no_server) -> None:
    prices = make_prices(400, ("AAA", "BBB"), seed=6)
    prices.iloc[100, 0] = float("nan")
    holes = tmp_path / "holes.csv"
    prices.to_csv(holes)
    assert main(["validate", str(holes), "--workdir", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "missing_price" in err and "set source.align=ffill" in err
    gap = make_prices(400, ("AAA", "BBB"), seed=6)
    gap.index = gap.index.where(gap.index < gap.index[200], gap.index + pd.Timedelta(days=60))
    path = tmp_path / "gap.csv"
    gap.to_csv(path)
    assert main(["run", "--source", str(path), "--mode", "repair", "--workdir", str(tmp_path / "w")]) == 1
    assert "validation.max_gap_days" in capsys.readouterr().err
    assert not (tmp_path / "w" / "reports").exists()


def test_a_file_where_a_folder_belongs_is_named(tmp_path) -> None:
    path = tmp_path / "home"
    path.write_text("x")
    assert error_message(FileExistsError(errno.EEXIST, "File exists", str(path))) == (
        f"{path} exists but is not a folder: point --workdir (or PREFECT_HOME) at a folder; nothing was committed")


def test_train_refuses_a_non_joint_mode_naming_qscen_run(capsys, tmp_path, make_prices, no_server) -> None:
    csv = _wide_csv(tmp_path / "p.csv", make_prices)
    code = main(["train", "--source", str(csv), "--workdir", str(tmp_path / "w"), "--set", "model.mode=factor",
                 "--set", "evaluation.split_date=2010-12-31"])
    assert code == 1
    line = _one_error_line(capsys.readouterr().err, "train")
    assert "qscen train trains and saves the joint generator only; model.mode=factor is fitted by `qscen run`" in line
    assert not list((tmp_path / "w").rglob("manifest.json")) and not list((tmp_path / "w").rglob("*.qpy"))
