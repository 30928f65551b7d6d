"""Market-data flow: ingest → validate → write Parquet (and Data Docs).

The validate stage publishes the ``market-data-validation`` artifact (outcome, failing
expectations, quarantined rows, Data Docs location). Run it without a server:
``python -m flows.market_pipeline`` or ``qscen validate``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.utilities.annotations import quote

from quantum_scenarios.config import OperationsConfig, OutputConfig, SourceConfig, ValidationConfig
from tasks.market import ingest_task, validate_task, write_market_task
from tasks.operations import report_failure
from tasks.runs import commit_run_task, discard_run_task, open_run_task, summarise_run_task


@flow(
    name="market-data",
    flow_run_name="market-{source.source}",
    log_prints=True,
    timeout_seconds=1800,
    on_failure=[report_failure],
    on_crashed=[report_failure],
)
def market_flow(
    source: SourceConfig = SourceConfig(),
    validation: ValidationConfig = ValidationConfig(),
    output: OutputConfig = OutputConfig(),
    operations: OperationsConfig = OperationsConfig(),
) -> dict[str, Any]:
    """Ingest market prices, validate them with great-expectations and write them as Parquet.

    Args:
        source: where prices come from and how returns are computed.
        validation: the great-expectations suites and what to do with failing rows.
        output: the work folder and run id.
        operations: same-run-id policy and the failure notification block.
    """
    config = {"source": source.model_dump(mode="json"), "validation": validation.model_dump(mode="json")}
    context = open_run_task(output, config, {}, operations, command="market-data")
    run = quote(context)
    try:
        data = ingest_task(source)
        data, result = validate_task(data, validation, run)
        written = write_market_task(data, run)
    except BaseException as exc:
        discard_run_task(run, exc)
        raise
    final = commit_run_task(run).layout
    outputs = {name: context.final_path(path) for name, path in written.items()} | {
        "data_docs": final.docs_dir / "index.html",
        "run_dir": final.run_dir,
    }
    if len(result.quarantined):
        outputs["quarantine"] = final.quarantine_path
    return summarise_run_task(
        run, data.prices, result.summary(),
        {"quarantined rows": len(result.quarantined)} if len(result.quarantined) else {}, outputs,
    )


if __name__ == "__main__":
    print(market_flow())
