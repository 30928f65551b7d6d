"""Protection and alerts for flows that run on a server.

* :func:`training_slot` holds one slot of the global concurrency limit ``qscen-training``
  while a run trains, so at most N training runs execute at once across every worker.
* :func:`report_failure` is the flows' ``on_failure`` / ``on_crashed`` hook: it publishes a
  failure artifact (stage, error, run id) under a stable key and, when the run names a
  notification block (``operations.notify_block``), sends the same text through it.
* :func:`install_progress_lines` prints task-run progress as ``qscen``'s compact console lines,
  in the command's process and in the processes that run its tasks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from prefect.artifacts import MarkdownArtifact
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.logging import get_logger

from quantum_scenarios.config import OperationsConfig
from quantum_scenarios.errors import QuantumScenariosError
from quantum_scenarios.server import TEMPORARY_SERVER_ENV

TRAINING_LIMIT = "qscen-training"
"""Name of the global concurrency limit bounding simultaneous training runs."""

_logger = get_logger("qscen.operations")


PROGRESS_LINES_ENV = "QSCEN_PROGRESS_LINES"
"""Set while ``qscen`` prints task progress as compact lines (no ``-v``), for its task processes too."""


def install_progress_lines() -> logging.Handler:
    """Task-run log lines on stderr as ``  HH:MM:SS message``, INFO only, instead of Prefect's console format.

    ``qscen`` installs it in its own process and in the processes that run its tasks (the
    scenario pipeline's rivals); the lines still reach the Prefect API.
    """
    task_log = logging.getLogger("prefect.task_runs")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("  %(asctime)s %(message)s", "%H:%M:%S"))
    handler.addFilter(  # progress only: failures reach the user as the command's one error line
        lambda record: record.levelno == logging.INFO and not record.exc_info
        and not str(record.msg).startswith("Finished in state"))
    task_log.addHandler(handler)
    task_log.setLevel(logging.INFO)
    task_log.propagate = False
    return handler


class TrainingSlotTimeout(QuantumScenariosError):
    """No training slot became free in time."""


def ensure_training_limit(slots: int) -> int:
    """Create the ``qscen-training`` limit with ``slots`` slots unless it exists; return its limit.

    An existing limit (set in the UI or with ``prefect gcl update qscen-training --limit N``) is
    left as it is, so operators, not run parameters, own it once it exists.
    """
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(TRAINING_LIMIT).limit
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=TRAINING_LIMIT, limit=slots))
            return slots


@contextlib.contextmanager
def training_slot(operations: OperationsConfig) -> Iterator[None]:
    """Hold one ``qscen-training`` slot while the block runs (wait up to ``operations.wait_seconds``).

    On the temporary server of a single ``qscen`` command no slot is taken (see
    :data:`quantum_scenarios.server.TEMPORARY_SERVER_ENV`): that server runs no lease
    repossessor, so a killed command would leave its slot taken for every later one. The run
    lock still keeps one writer per run id there.

    Raises:
        TrainingSlotTimeout: every slot stayed busy for ``operations.wait_seconds``.
    """
    if os.environ.get(TEMPORARY_SERVER_ENV) == "1":
        _logger.info("training slots apply on a configured Prefect server (PREFECT_API_URL); "
                     "this command runs on its own temporary server, so none is taken")
        yield
        return
    limit = ensure_training_limit(operations.training_slots)
    try:
        with concurrency(TRAINING_LIMIT, occupy=1, timeout_seconds=operations.wait_seconds, strict=True):
            yield
    except TimeoutError as exc:
        raise TrainingSlotTimeout(
            f"no training slot was free for {operations.wait_seconds:g} s: {limit} training run(s) may run at once "
            f"(global concurrency limit {TRAINING_LIMIT!r}); raise it with "
            f"`prefect gcl update {TRAINING_LIMIT} --limit N` or set operations.wait_seconds"
        ) from exc


def _stage(task_key: str) -> str:
    """The stage of a task run from its task key: ``validate_task-1a2b`` -> ``validate``."""
    return task_key.rsplit("-", 1)[0].removesuffix("_task").replace("_", "-")


def failure_report(flow_name: str, flow_run: Any, state: Any) -> dict[str, Any]:
    """Stage, error and run id of a failed or crashed flow run (read back from the API)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        fresh = client.read_flow_run(flow_run.id)
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    failed = sorted(
        (run for run in task_runs if run.state is not None and run.state.type.value in {"FAILED", "CRASHED"}),
        key=lambda run: run.start_time or run.expected_start_time,
    )
    parameters = fresh.parameters or {}
    run_id = (fresh.labels or {}).get("qscen.run_id") or (parameters.get("output") or {}).get("run_id")
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - a crashed state may hold no result at all
        error = exc
    return {
        "flow": flow_name,
        "flow_run": fresh.name,
        "flow_run_id": str(fresh.id),
        "state": state.name,
        "stage": _stage(failed[0].task_key) if failed else "flow",
        "error": f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else (state.message or ""),
        "run_id": run_id or "(not assigned: the run failed before open-run)",
        "notify_block": (parameters.get("operations") or {}).get("notify_block"),
    }


def _markdown(report: dict[str, Any]) -> str:
    return "\n".join([
        f"# {report['flow']} {report['state'].lower()}",
        "",
        "| | |",
        "|---|---|",
        f"| run id | `{report['run_id']}` |",
        f"| stage | `{report['stage']}` |",
        f"| flow run | {report['flow_run']} (`{report['flow_run_id']}`) |",
        f"| state | {report['state']} |",
        "",
        "```",
        report["error"],
        "```",
    ])


def report_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_failure`` / ``on_crashed`` hook: failure artifact, then the named notification block.

    The artifact key is ``<flow name>-failure`` (e.g. ``scenario-pipeline-failure``), so the UI
    keeps the history of failures of each flow.
    """
    report = failure_report(flow.name, flow_run, state)
    MarkdownArtifact(
        markdown=_markdown(report), key=f"{flow.name}-failure", flow_run_id=flow_run.id,
        description=f"{flow.name}: {report['state']} at stage {report['stage']} (run {report['run_id']})",
    ).create()
    block = report["notify_block"]
    if block:
        from prefect.blocks.core import Block

        body = (
            f"run id: {report['run_id']}\nstage: {report['stage']}\nflow run: {report['flow_run']}\n"
            f"error: {report['error']}"
        )
        try:
            Block.load(block).notify(body=body, subject=f"qscen: {report['flow']} {report['state'].lower()}")
        except Exception:  # noqa: BLE001 - a broken notifier must not hide the failure itself
            _logger.exception("could not notify through block %r", block)
