"""Prefect tasks for the market stages: ingest, validate, write.

Each task wraps one library call; retries only on I/O.
"""

from __future__ import annotations

import dataclasses

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.logging import get_run_logger

from quantum_scenarios import io
from quantum_scenarios.config import SourceConfig, ValidationConfig
from quantum_scenarios.errors import QuantumScenariosError, ValidationFailedError
from quantum_scenarios.market.sources import MarketData, ingest
from quantum_scenarios.market.validation import ValidationResult, validate_market
from tasks.runs import RunContext


def _transient(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry_condition_fn signature
    """Retry only I/O hiccups: bad input (a QuantumScenariosError) fails at once."""
    try:
        state.result()
    except QuantumScenariosError:
        return False
    except Exception:  # noqa: BLE001 - anything else may be transient (network, file system)
        return True
    return False


@task(
    name="ingest",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_transient,
    task_run_name="ingest-{source.source}",
)
def ingest_task(source: SourceConfig) -> MarketData:
    """Read prices from the configured source and compute returns."""
    data = ingest(
        source.source,
        assets=source.assets,
        start=source.start,
        end=source.end,
        date_col=source.date_col,
        asset_col=source.asset_col,
        price_col=source.price_col,
        align=source.align,
        ffill_limit=source.ffill_limit,
        return_kind=source.return_kind,
        tickers=source.tickers,
    )
    index = data.prices.index
    get_run_logger().info(
        "ingested %d rows of %s from %s (%s .. %s)",
        len(index), ", ".join(data.assets), data.source, index.min().date(), index.max().date(),
    )
    return data


VALIDATION_KEY = "market-data-validation"
"""Stable key of the validation artifact (one history across runs and flows)."""


def publish_validation(result: ValidationResult, run_id: str, docs_index: Path | None, max_rows: int = 20) -> None:
    """Markdown artifact: outcome, failing expectations, quarantined rows and the Data Docs location."""
    head = "passed" if result.success else "FAILED"
    lines = [f"# Validation {head} — run `{run_id}` (mode {result.mode})", "", result.summary().splitlines()[0], ""]
    if result.failures:
        lines += ["## Failing expectations", "", "| suite | asset | rule | failing rows | example dates |",
                  "|---|---|---|---|---|"]
        lines += [f"| {f.suite} | {f.asset} | {f.detail or f.rule} | {f.count} | {', '.join(f.example_dates[:3])} |"
                  for f in result.failures]
    else:
        lines += ["Every expectation was met."]
    quarantined = result.quarantined
    lines += ["", f"## Quarantined rows: {len(quarantined)}"]
    if len(quarantined):
        shown = quarantined.head(max_rows)
        lines += ["", "| " + " | ".join(map(str, shown.columns)) + " |", "|" + "---|" * len(shown.columns)]
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in shown.itertuples(index=False)]
        if len(quarantined) > max_rows:
            lines.append(f"\n… and {len(quarantined) - max_rows} more in `quarantine.parquet`.")
    lines += ["", "## Data Docs", "", f"`{docs_index}`" if docs_index is not None else "not built"]
    create_markdown_artifact(
        "\n".join(lines), key=VALIDATION_KEY,
        description=f"{run_id}: validation {head.lower()}, {len(result.failures)} failing expectation(s), "
        f"{len(quarantined)} quarantined row(s)",
    )


@task(name="validate")
def validate_task(
    data: MarketData, validation: ValidationConfig, run: RunContext
) -> tuple[MarketData, ValidationResult]:
    """Run the great-expectations suites; strict mode raises, repair mode quarantines.

    Either way the outcome is published as the ``market-data-validation`` artifact.
    """
    layout = run.layout
    try:
        checked, result = validate_market(
            data,
            mode=validation.mode,
            min_rows=validation.min_rows,
            max_abs_return=validation.max_abs_return,
            max_unchanged_run=validation.max_unchanged_run,
            min_observations=validation.min_observations,
            max_gap_days=validation.max_gap_days,
            docs_dir=layout.docs_dir,
            quarantine_path=layout.quarantine_path,
        )
    except ValidationFailedError as exc:
        # The Data Docs are built in the run's staging folder; a failed run publishes them
        # (see RunLayout.discard), so the message names where they will be.
        error = ValidationFailedError(str(exc).replace(str(layout.report_dir), str(layout.rejected_report_dir)))
        error.result = exc.result  # type: ignore[attr-defined]
        failed = getattr(exc, "result", None)
        if failed is not None:
            publish_validation(failed, run.run_id, layout.rejected_report_dir / "validation" / "index.html")
        raise error from exc
    if result.docs_index is not None:  # likewise: name the committed location, not the staging one
        result = dataclasses.replace(result, docs_index=layout.to_final(result.docs_index))
    get_run_logger().info(result.summary())
    publish_validation(result, run.run_id, result.docs_index)
    return checked, result


@task(name="write-market-data", retries=2, retry_delay_seconds=2)
def write_market_task(data: MarketData, run: RunContext) -> dict[str, Path]:
    """Write prices.parquet and returns.parquet into the run's market folder."""
    return io.write_market_data(data, run.layout.run_dir, metadata=run.metadata())


@task(name="read-run-market-data", retries=2, retry_delay_seconds=2)
def read_run_market_task(run: RunContext) -> MarketData:
    """Read the market data an earlier command wrote into this run."""
    return io.read_market_data(run.layout.run_dir)
