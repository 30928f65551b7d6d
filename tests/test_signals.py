"""Signals and the temporary Prefect server: nothing orphaned, nothing committed, one line, resume after a kill.

The slow tests run the real ``qscen`` command in a subprocess with its own
``PREFECT_HOME`` and a small input file, interrupt it, and look at the process
table and the work folder afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quantum_scenarios.server import ServerStartError, TemporaryServer


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _servers_of(pid: int) -> list[int]:
    """Pids of uvicorn (Prefect server) processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and "uvicorn" in cmdline:
            found.append(int(entry.name))
    return found


def _gone(pids: list[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


def test_a_server_that_does_not_answer_in_time_is_killed_and_named(tmp_path) -> None:
    server = TemporaryServer(home=tmp_path, timeout=0.5)
    with pytest.raises(ServerStartError, match=r"did not start within 0.5 s .*Raise "
                                               r"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.*PREFECT_API_URL"):
        server.start()
    assert server.process is None and server.port is not None


def test_the_startup_timeout_is_raised_and_configurable(monkeypatch) -> None:
    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    assert TemporaryServer().timeout == 180.0  # Prefect's own default, 20 s, failed 4 of 8 commands on a busy machine
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
    assert TemporaryServer().timeout == 300.0
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "soon")
    with pytest.raises(ValueError, match="must be a number of seconds, got 'soon'"):
        TemporaryServer()


# --------------------------------------------------------------------------- the real command


@pytest.fixture
def small_csv(tmp_path, make_prices) -> Path:
    path = tmp_path / "prices.csv"
    make_prices(700, ("AAA", "BBB"), seed=8).to_csv(path)
    return path


def _start(
    tmp_path: Path, csv: Path, run_id: str, *extra: str, epochs: int = 150, home: str = "prefect-home"
) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / home), "OMP_NUM_THREADS": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_LOGGING_LEVEL", None)
    command = [sys.executable, "-m", "qscen.cli", "run", "--source", str(csv), "--run-id", run_id,
               "--workdir", str(tmp_path / "w"), "--set", "evaluation.split_date=2011-12-31",
               "--set", "scenarios.n_paths=200", "--set", f"training.epochs={epochs}", "--set", "training.checkpoint_every=5",
               "--set", "encoding.num_qubits=2", "--set", "circuit.reps=2", *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_training(tmp_path: Path, child: subprocess.Popen, run_id: str, timeout: float = 400) -> list[int]:
    """Wait until the run has written a checkpoint; return its server pids."""
    checkpoints = tmp_path / "w" / "data" / "runs" / f".{run_id}.checkpoints"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        if list(checkpoints.glob("epoch-*.pt")):
            servers = _servers_of(child.pid)
            assert servers, "no Prefect server child found"
            return servers
        time.sleep(0.2)
    raise AssertionError("training did not start in time")


def _nothing_committed(tmp_path: Path, run_id: str) -> None:
    runs = tmp_path / "w" / "data" / "runs"
    assert not (runs / run_id).exists() and not (tmp_path / "w" / "reports" / run_id).exists()
    assert not list(runs.glob(f".{run_id}.partial*")) and not list((tmp_path / "w" / "reports").glob(".*partial*"))


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_training_ends_in_one_line_kills_the_server_and_commits_nothing(
    tmp_path, small_csv, sig: int, code: int, word: str
) -> None:
    child = _start(tmp_path, small_csv, "sig", epochs=5000)
    servers = _wait_for_training(tmp_path, child, "sig")
    sent = time.monotonic()
    os.kill(child.pid, sig)
    _, err = child.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert child.returncode == code
    assert err.rstrip().splitlines()[-1] == f"qscen run: {word} at stage train; nothing was committed"
    assert "Traceback" not in err and "CancelledError" not in err
    assert _gone(servers)
    _nothing_committed(tmp_path, "sig")


@pytest.mark.slow
def test_sigkill_leaves_no_server_and_the_rerun_resumes_from_the_checkpoint(tmp_path, small_csv) -> None:
    child = _start(tmp_path, small_csv, "kill")
    servers = _wait_for_training(tmp_path, child, "kill")
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=30)
    assert _gone(servers), "the Prefect server outlived a SIGKILLed qscen"
    assert not (tmp_path / "w" / "data" / "runs" / "kill").exists()
    # A fresh PREFECT_HOME for the rerun: the killed run's global-concurrency training slot stays
    # taken in its Prefect database (the temporary server keeps leases in memory and, in ephemeral
    # mode, never revokes expired ones), so a rerun on the same database would wait for that slot.
    again = _start(tmp_path, small_csv, "kill", home="prefect-home-2")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "took over the lock of a dead writer" in err
    assert "resuming training from checkpoint epoch-" in err
    assert (tmp_path / "w" / "data" / "runs" / "kill" / "model" / "parameters.json").is_file()
    assert not (tmp_path / "w" / "data" / "runs" / ".kill.checkpoints").exists()
    assert not _servers_of(again.pid)
