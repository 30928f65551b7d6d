"""Serve the pipeline deployments with cron schedules from this process.

Start a server first (SQLite under ``PREFECT_HOME``) and point the client at it::

    export PREFECT_HOME=~/.prefect-qscen PREFECT_SERVER_ANALYTICS_ENABLED=false
    prefect server start &                                # UI at http://127.0.0.1:4200
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python deployments/serve.py

The UI then lists ``scenario-pipeline/nightly`` and ``market-data/daily-validation``;
"Run" opens a form built from the pydantic config models.
"""

from __future__ import annotations

from prefect import serve

from flows.market_pipeline import market_flow
from flows.scenario_pipeline import scenario_pipeline


def main() -> None:
    """Register both deployments and serve them until interrupted."""
    nightly = scenario_pipeline.to_deployment(
        name="nightly",
        cron="30 22 * * 1-5",  # after the US close, weekdays
        tags=["qgan", "scenarios"],
        description="Full pipeline on the bundled data: train the qGAN, write scenarios and the report.",
    )
    validation = market_flow.to_deployment(
        name="daily-validation",
        cron="0 7 * * 1-5",
        tags=["market-data"],
        description="Ingest and validate market data; quarantine bad rows in repair mode.",
        parameters={"validation": {"mode": "repair"}},
    )
    serve(nightly, validation)


if __name__ == "__main__":
    main()
