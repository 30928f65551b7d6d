"""One writer per run id: the OS file lock, waiting, stale locks of dead processes, unique staging."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from quantum_scenarios.runs import (
    RunLayout,
    RunLock,
    RunLockedError,
    acquire_run_lock,
    held_run_locks,
    release_run_lock,
)


def _holder(workdir: Path, run_id: str, *, seconds: float, exit_how: str = "release") -> subprocess.Popen:
    """A child process that opens the run (lock + staging folder), then releases, or dies holding it."""
    code = textwrap.dedent(f"""
        import os, sys, time
        from quantum_scenarios.runs import RunLayout
        layout = RunLayout({str(workdir)!r}, {run_id!r}).open(command="test holder")
        (layout.run_dir / "half.txt").write_text("half")
        print("ready", flush=True)
        time.sleep({seconds})
        if {exit_how!r} == "release":
            layout.discard()
        else:
            os._exit(0)  # dies holding the lock: the kernel drops the flock, the staging folder stays
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path) -> None:
    child = _holder(tmp_path, "same", seconds=30)
    try:
        started = time.monotonic()
        with pytest.raises(RunLockedError, match=rf"run 'same' is being written by test holder \(pid {child.pid}.*--wait"):
            RunLayout(tmp_path, "same").open()
        assert time.monotonic() - started < 2
        assert held_run_locks() == []  # nothing half-taken in this process
    finally:
        child.kill()
        child.wait()


def test_wait_queues_behind_the_writer(tmp_path) -> None:
    child = _holder(tmp_path, "q", seconds=1.0)
    try:
        layout = RunLayout(tmp_path, "q").open(wait=30)
        assert child.wait(timeout=10) == 0
        assert layout.run_dir.is_dir() and not (layout.run_dir / "half.txt").exists()
        layout.discard()
    finally:
        child.kill()
        child.wait()


def test_wait_with_a_limit_gives_up_with_the_message(tmp_path) -> None:
    child = _holder(tmp_path, "w", seconds=30)
    try:
        with pytest.raises(RunLockedError, match="waited 0.5 s"):
            RunLayout(tmp_path, "w").open(wait=0.5)
    finally:
        child.kill()
        child.wait()


def test_stale_lock_of_a_dead_process_is_taken_over_and_its_staging_removed(tmp_path, capsys) -> None:
    child = _holder(tmp_path, "dead", seconds=0, exit_how="die")
    child.wait(timeout=10)
    leftovers = list((tmp_path / "data" / "runs").glob(".dead.partial*"))
    assert len(leftovers) == 1 and (leftovers[0] / "half.txt").exists()
    layout = RunLayout(tmp_path, "dead").open()
    assert f"took over the lock of a dead writer (pid {child.pid}" in capsys.readouterr().err
    assert not leftovers[0].exists()
    assert [p.name for p in (tmp_path / "data" / "runs").glob(".dead.partial*")] == [layout.run_dir.name]
    layout.commit()
    assert not (tmp_path / "data" / "runs" / ".dead.lock").exists()


def test_sigkill_of_the_holder_frees_the_lock(tmp_path) -> None:
    child = _holder(tmp_path, "k", seconds=60)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    lock = RunLock(tmp_path, "k").acquire()
    assert lock.stale_holder is not None and lock.stale_holder["pid"] == child.pid
    lock.release()


def test_staging_is_unique_per_attempt_and_the_lock_is_released_on_every_path(tmp_path) -> None:
    first = RunLayout(tmp_path, "u").open()
    first.discard()
    second = RunLayout(tmp_path, "u").open()
    assert first.run_dir != second.run_dir and first.report_dir != second.report_dir
    second.commit()
    third = RunLayout(tmp_path, "u").open()
    third.discard()
    assert held_run_locks() == []
    RunLock(tmp_path, "u").acquire().release()  # nobody holds it


def test_the_lock_is_reentrant_within_one_process(tmp_path) -> None:
    acquire_run_lock(tmp_path, "r")  # what the qscen command does before the flow opens the run
    layout = RunLayout(tmp_path, "r").open()
    layout.commit()  # the flow's hold ends; the command still holds the lock
    assert [run for _, run in held_run_locks()] == ["r"]
    release_run_lock(tmp_path, "r")
    assert held_run_locks() == []


def test_a_failed_open_releases_the_lock(tmp_path) -> None:
    done = RunLayout(tmp_path, "f").open()
    (done.run_dir / "model").mkdir()
    done.commit()
    with pytest.raises(Exception, match="run 'f' is finished"):
        RunLayout(tmp_path, "f").open(keep_existing=True)
    assert held_run_locks() == []
