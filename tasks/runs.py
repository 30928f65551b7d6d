"""Prefect tasks that open and commit a run's output folders."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from quantum_scenarios.config import OutputConfig
from quantum_scenarios.errors import ValidationFailedError
from quantum_scenarios.runs import RunLayout, new_run_id, run_summary


@task(name="find-run", cache_policy=NO_CACHE)
def find_run_task(output: OutputConfig) -> bool:
    """Whether the configured run id already holds market data."""
    if output.run_id is None:
        return False
    layout = RunLayout(output.workdir.resolve(), output.run_id, staged=False)
    return (layout.market_dir / "returns.parquet").is_file()


@task(name="open-run", cache_policy=NO_CACHE)
def open_run_task(output: OutputConfig, config: dict, keep_existing: bool = False) -> RunLayout:
    """Create the run's staging folders (run id from the config, or a fresh one).

    ``keep_existing`` starts from a copy of the committed run (``qscen train`` adds a model to it).
    """
    run_id = output.run_id or new_run_id(config)
    return RunLayout(output.workdir.resolve(), run_id).open(keep_existing=keep_existing)


@task(name="commit-run", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=1)
def commit_run_task(layout: RunLayout) -> RunLayout:
    """Swap the staging folders into place, replacing an earlier run of the same id."""
    return layout.commit()


@task(name="discard-run", cache_policy=NO_CACHE)
def discard_run_task(layout: RunLayout, failure: BaseException | None = None) -> None:
    """Remove the staging folders of a failed run so nothing half-written is left.

    A run that failed validation keeps its Data Docs (``reports/<run_id>/validation/``).
    """
    layout.discard(keep_validation_docs=isinstance(failure, ValidationFailedError))


@task(name="summarise-run", cache_policy=NO_CACHE)
def summarise_run_task(
    layout: RunLayout,
    prices: Any,
    validation: str,
    headline: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's summary for the console and the flow's return value."""
    return run_summary(layout, prices, validation, headline=headline, outputs=outputs)
