"""Prefect tasks that open and commit a run, and the run context every stage receives.

A :class:`RunContext` is the one small object a stage needs besides its data: the run id,
its (staged) folders, the configuration and the seeds. Flows pass it *quoted*
(``quote(context)``) so Prefect does not draw an edge from ``open-run`` to every stage: the
flow-run graph then shows the data flowing ingest → validate → encode → train →
(generate ‖ evaluate) → report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.logging import get_run_logger

from quantum_scenarios.config import OperationsConfig, OutputConfig
from quantum_scenarios.errors import ValidationFailedError
from quantum_scenarios.runs import RunLayout, new_run_id, run_summary

RUN_ID_LABEL = "qscen.run_id"
"""Flow-run label holding the run id (read by the failure hooks)."""


@dataclass(frozen=True)
class RunContext:
    """What every stage of one run shares.

    Attributes:
        run_id: the run's folder name.
        layout: the run's folders (the staging folders of this attempt while it runs).
        config: the run's configuration, JSON-ready, section by section.
        seeds: every seed of the run, by section.
        started_at: UTC start time, ISO format.
    """

    run_id: str
    layout: RunLayout
    config: dict[str, Any]
    seeds: dict[str, Any]
    started_at: str

    def metadata(self, **extra: Any) -> dict[str, Any]:
        """Metadata written into Parquet schemas and the model folder."""
        return {"config": self.config, "seeds": self.seeds, **extra}

    def final_path(self, path: Any) -> str:
        """Where a staged path will be once the run commits."""
        return str(self.layout.to_final(path))


@task(name="find-run", cache_policy=NO_CACHE)
def find_run_task(output: OutputConfig) -> bool:
    """Whether the configured run id already holds market data."""
    if output.run_id is None:
        return False
    layout = RunLayout(output.workdir.resolve(), output.run_id, staged=False)
    return (layout.market_dir / "returns.parquet").is_file()


@task(name="open-run", cache_policy=NO_CACHE)
def open_run_task(
    output: OutputConfig,
    config: dict[str, Any],
    seeds: dict[str, Any] | None = None,
    operations: OperationsConfig | None = None,
    keep_existing: bool = False,
    command: str = "qscen run",
) -> RunContext:
    """Take the run's lock, create its staging folders and label the flow run with the run id.

    A second run with the same run id is refused at once (``operations.same_run_id='refuse'``,
    the default) or waits up to ``operations.wait_seconds`` for the first one to finish.
    ``keep_existing`` starts from a copy of the committed run (``qscen train`` adds a model to it).
    """
    operations = operations or OperationsConfig()
    run_id = output.run_id or new_run_id(config)
    wait: bool | float = operations.wait_seconds if operations.same_run_id == "wait" else False
    layout = RunLayout(output.workdir.resolve(), run_id).open(keep_existing=keep_existing, wait=wait, command=command)
    flow_run = FlowRunContext.get()
    if flow_run is not None and flow_run.flow_run is not None:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run_labels(flow_run.flow_run.id, {RUN_ID_LABEL: run_id})
    get_run_logger().info("run %s: staging in %s", run_id, layout.run_dir)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return RunContext(run_id=run_id, layout=layout, config=config, seeds=dict(seeds or {}), started_at=started)


@task(name="commit-run", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=1)
def commit_run_task(run: RunContext) -> RunContext:
    """Swap the staging folders into place, replacing an earlier run of the same id."""
    return dataclasses.replace(run, layout=run.layout.commit())


@task(name="discard-run", cache_policy=NO_CACHE)
def discard_run_task(run: RunContext, failure: BaseException | None = None) -> None:
    """Remove the staging folders of a failed run so nothing half-written is left.

    A run that failed validation keeps its Data Docs (``reports/<run_id>/validation/``).
    """
    run.layout.discard(keep_validation_docs=isinstance(failure, ValidationFailedError))


@task(name="summarise-run", cache_policy=NO_CACHE)
def summarise_run_task(
    run: RunContext,
    prices: Any,
    validation: str,
    headline: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's summary for the console and the flow's return value."""
    return run_summary(run.layout, prices, validation, headline=headline, outputs=outputs)
