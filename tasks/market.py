"""Prefect tasks for the market stages: ingest, validate, write.

Each task wraps one library call; retries only on I/O.
"""

from __future__ import annotations

import dataclasses

from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from quantum_scenarios import io
from quantum_scenarios.config import SourceConfig, ValidationConfig
from quantum_scenarios.errors import QuantumScenariosError, ValidationFailedError
from quantum_scenarios.market.sources import MarketData, ingest
from quantum_scenarios.market.validation import ValidationResult, validate_market
from quantum_scenarios.runs import RunLayout


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


@task(name="validate")
def validate_task(
    data: MarketData, validation: ValidationConfig, layout: RunLayout
) -> tuple[MarketData, ValidationResult]:
    """Run the great-expectations suites; strict mode raises, repair mode quarantines."""
    try:
        checked, result = validate_market(
            data,
            mode=validation.mode,
            min_rows=validation.min_rows,
            max_abs_return=validation.max_abs_return,
            max_unchanged_run=validation.max_unchanged_run,
            min_observations=validation.min_observations,
            docs_dir=layout.docs_dir,
            quarantine_path=layout.quarantine_path,
        )
    except ValidationFailedError as exc:
        # The Data Docs are built in the run's staging folder; a failed run publishes them
        # (see RunLayout.discard), so the message names where they will be.
        error = ValidationFailedError(str(exc).replace(str(layout.report_dir), str(layout.final_report_dir)))
        error.result = exc.result  # type: ignore[attr-defined]
        raise error from exc
    if result.docs_index is not None:  # likewise: name the committed location, not the staging one
        result = dataclasses.replace(result, docs_index=layout.to_final(result.docs_index))
    get_run_logger().info(result.summary())
    return checked, result


@task(name="write-market-data", retries=2, retry_delay_seconds=2)
def write_market_task(data: MarketData, layout: RunLayout, metadata: dict) -> dict[str, Path]:
    """Write prices.parquet and returns.parquet into the run's market folder."""
    return io.write_market_data(data, layout.run_dir, metadata=metadata)


@task(name="read-run-market-data", retries=2, retry_delay_seconds=2)
def read_run_market_task(layout: RunLayout) -> MarketData:
    """Read the market data an earlier command wrote into this run."""
    return io.read_market_data(layout.run_dir)
