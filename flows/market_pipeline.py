"""Market-data flow: ingest → validate → write Parquet (and Data Docs).

Run it without a server: ``python -m flows.market_pipeline`` or ``qscen validate``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from quantum_scenarios.config import OutputConfig, SourceConfig, ValidationConfig
from tasks.market import ingest_task, validate_task, write_market_task
from tasks.runs import commit_run_task, discard_run_task, open_run_task, summarise_run_task


@flow(name="market-data", flow_run_name="market-{source.source}", log_prints=True)
def market_flow(
    source: SourceConfig = SourceConfig(),
    validation: ValidationConfig = ValidationConfig(),
    output: OutputConfig = OutputConfig(),
) -> dict[str, Any]:
    """Ingest market prices, validate them with great-expectations and write them as Parquet.

    Args:
        source: where prices come from and how returns are computed.
        validation: the great-expectations suites and what to do with failing rows.
        output: the work folder and run id.
    """
    config = {"source": source.model_dump(mode="json"), "validation": validation.model_dump(mode="json")}
    layout = open_run_task(output, config)
    try:
        data = ingest_task(source)
        data, result = validate_task(data, validation, layout)
        written = write_market_task(data, layout, {"config": config})
    except BaseException as exc:
        discard_run_task(layout, exc)
        raise
    final = commit_run_task(layout)
    outputs = {name: layout.to_final(path) for name, path in written.items()} | {
        "data_docs": final.docs_dir / "index.html",
        "run_dir": final.run_dir,
    }
    if len(result.quarantined):
        outputs["quarantine"] = final.quarantine_path
    return summarise_run_task(
        layout, data.prices, result.summary(),
        {"quarantined rows": len(result.quarantined)} if len(result.quarantined) else {}, outputs,
    )

if __name__ == "__main__":
    print(market_flow())
