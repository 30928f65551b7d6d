"""Serve the pipeline deployments with their cron schedules from this process.

The deployments come from ``deployments/spec.py``, the same spec that generates
``prefect.yaml`` for the work-pool route, so both routes register the same names,
schedules (America/New_York) and parameters. Start a server first (SQLite under
``PREFECT_HOME``) and point the client at it::

    export PREFECT_HOME=~/.prefect-qscen PREFECT_SERVER_ANALYTICS_ENABLED=false
    prefect server start &                                # UI at http://127.0.0.1:4200
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python deployments/serve.py

The UI then lists ``scenario-pipeline/nightly``, ``market-data/daily-validation`` and
``train-qgan/train-qgan``; "Run" opens a form built from the pydantic config models.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `python deployments/serve.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prefect import serve  # noqa: E402

from deployments.spec import served  # noqa: E402


def main() -> None:
    """Register every deployment of the spec and serve them until interrupted."""
    serve(*served())


if __name__ == "__main__":
    main()
