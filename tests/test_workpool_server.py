"""The work-pool route against a real Prefect server and a process worker, as an operator runs it.

Starts ``prefect server start`` on a free 127.0.0.1 port (SQLite under a temporary
PREFECT_HOME), creates the process work pool, runs ``prefect deploy --all`` from the
repository root (the generated prefect.yaml), starts a worker, runs the ``nightly``
deployment with a few epochs and checks its state, task states and artifacts; then checks
that a bad parameter is refused when the run is submitted. Everything it starts is stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
STAGES = {"open-run", "ingest", "validate", "write-market-data", "prepare-model-inputs", "encode", "train",
          "save-model", "evaluate", "generate", "write-scenarios", "render-report", "write-manifest",
          "commit-run", "summarise-run", "publish-artifacts"}
ARTIFACTS = {"scenario-pipeline-summary", "scenario-pipeline-metrics", "scenario-pipeline-risk",
             "scenario-pipeline-backtest", "scenario-pipeline-stress", "market-data-validation",
             "qgan-training-progress"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    handle = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"prefect server not healthy after {timeout} s: {log.read_text()[-3000:]}")


@pytest.mark.slow
def test_workpool_route_end_to_end(tmp_path: Path) -> None:
    started = time.monotonic()
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "OMP_NUM_THREADS": "1",
    }
    prefect = [sys.executable, "-m", "prefect"]
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server = _start([*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, server_log,
                    tmp_path)
    worker = None
    phases: dict[str, float] = {}

    def mark(name: str) -> None:
        phases[name] = round(time.monotonic() - started - sum(phases.values()), 1)

    try:
        _wait_healthy(api, server, server_log)
        mark("server start")
        subprocess.run([*prefect, "work-pool", "create", "qscen-process", "--type", "process"], env=env,
                       cwd=tmp_path, check=True, capture_output=True, timeout=60)
        deployed = subprocess.run([*prefect, "--no-prompt", "deploy", "--all"], env=env, cwd=REPOSITORY,
                                  capture_output=True, text=True, timeout=180)
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
        mark("work pool + deploy --all")
        worker = _start([*prefect, "worker", "start", "--pool", "qscen-process", "--limit", "1"], env, worker_log,
                        tmp_path)

        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId
        from prefect.exceptions import PrefectHTTPStatusError
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
            deployments = {f"{client.read_flow(d.flow_id).name}/{d.name}": d for d in client.read_deployments()}
            assert set(deployments) == {"scenario-pipeline/nightly", "market-data/daily-validation",
                                        "train-qgan/train-qgan"}
            nightly = deployments["scenario-pipeline/nightly"]
            assert [(s.schedule.cron, s.schedule.timezone) for s in nightly.schedules] == [
                ("30 18 * * 1-5", "America/New_York")]
            assert nightly.pull_steps == [{"prefect.deployments.steps.set_working_directory": {
                "directory": str(REPOSITORY)}}]

            run = client.create_flow_run_from_deployment(nightly.id, parameters={
                "training": {"epochs": 8},
                "scenarios": {"n_paths": 200, "horizon": 5},
                "stress": {"risk_horizons": [1, 5]},
                "output": {"workdir": str(tmp_path / "work"), "run_id": "workpool"},
            })
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                run = client.read_flow_run(run.id)
                if run.state is not None and run.state.is_final():
                    break
                time.sleep(1)
            mark("flow run on the worker")
            assert run.state is not None and run.state.is_completed(), (
                f"{run.state}\n--- worker log ---\n{worker_log.read_text()[-6000:]}")

            task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
            states = {t.name.rsplit("-", 1)[0]: t.state.name for t in task_runs}
            assert STAGES <= set(states), sorted(states)
            assert set(states.values()) <= {"Completed", "Cached"}, states
            artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
                any_=[run.id])))
            assert ARTIFACTS <= {a.key for a in artifacts}, sorted(a.key for a in artifacts if a.key)
            assert (tmp_path / "work" / "reports" / "workpool" / "report.html").is_file()

            with pytest.raises(PrefectHTTPStatusError, match="409") as refused:
                client.create_flow_run_from_deployment(nightly.id, parameters={"training": {"epochs": 0}})
            assert "epochs" in refused.value.response.text and "minimum" in refused.value.response.text
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)
        mark("stop")
    print(f"work-pool route test: {time.monotonic() - started:.1f} s {phases} load {os.getloadavg()}")
