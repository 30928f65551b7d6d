"""The one source of truth for quantum-scenarios deployments.

Both routes read :data:`DEPLOYMENTS`:

* ``deployments/serve.py`` serves them from one process (``flow.to_deployment`` + ``serve``);
* ``prefect.yaml`` at the repository root is *generated* from them
  (``python -m deployments.spec --write``) for ``prefect deploy --all`` and a process work pool.
  ``tests/test_deployments.py`` fails when the file and this spec disagree.

Every schedule is in :data:`TIMEZONE` (US Eastern, the exchanges' clock, so "after the close"
stays after the close across daylight-saving changes).

The work-pool pull step must find this repository on the worker's machine. A build step runs
``pwd`` when ``prefect deploy --all`` is run from the repository root, and the pull step changes
into that directory (``{{ repository.stdout }}``, resolved at deploy time). Workers on another
machine need the repository at the same path, or a ``git_clone`` pull step instead.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DEPLOYMENTS", "TIMEZONE", "WORK_POOL", "DeploymentSpec", "prefect_yaml", "render_yaml", "served"]

TIMEZONE = "America/New_York"
"""Timezone of every cron schedule."""

WORK_POOL = "qscen-process"
"""The process work pool of the ``prefect deploy`` route."""

REPOSITORY = Path(__file__).resolve().parents[1]
YAML_PATH = REPOSITORY / "prefect.yaml"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment, as both routes see it.

    Args:
        name: deployment name (the UI shows ``<flow name>/<name>``).
        entrypoint: ``path/to/file.py:flow_function`` relative to the repository root.
        cron: cron schedule in :data:`TIMEZONE`; None for a deployment run on demand.
        description: shown in the UI.
        tags: run tags.
        parameters: default parameter overrides (the flows' pydantic sections, as JSON).
    """

    name: str
    entrypoint: str
    cron: str | None
    description: str
    tags: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)

    def load_flow(self) -> Any:
        """Import the flow object named by the entrypoint."""
        from prefect.flows import load_flow_from_entrypoint

        return load_flow_from_entrypoint(str(REPOSITORY / self.entrypoint))


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        name="nightly",
        entrypoint="flows/scenario_pipeline.py:scenario_pipeline",
        cron="30 18 * * 1-5",  # weekdays, 18:30 New York: after the US close and the settlement prints
        description="Full pipeline on the bundled data: train the qGAN, write scenarios, stress sets and the report.",
        tags=("qgan", "scenarios"),
    ),
    DeploymentSpec(
        name="daily-validation",
        entrypoint="flows/market_pipeline.py:market_flow",
        cron="0 7 * * 1-5",  # weekdays, 07:00 New York: before the open
        description="Ingest and validate market data; quarantine bad rows in repair mode.",
        tags=("market-data",),
        parameters={"validation": {"mode": "repair"}},
    ),
    DeploymentSpec(
        name="train-qgan",
        entrypoint="flows/training_pipeline.py:training_flow",
        cron=None,  # on demand: retrain a run's model from the UI or `prefect deployment run`
        description="Train the qGAN on a run's returns (or the configured source) and write its model folder.",
        tags=("qgan", "training"),
    ),
)


def served() -> list[Any]:
    """The deployments as ``RunnerDeployment`` objects for :func:`prefect.serve`."""
    from prefect.schedules import Cron

    out = []
    for spec in DEPLOYMENTS:
        flow = spec.load_flow()
        out.append(
            flow.to_deployment(
                name=spec.name,
                schedules=[Cron(spec.cron, timezone=TIMEZONE)] if spec.cron else None,
                tags=list(spec.tags),
                description=spec.description,
                parameters=spec.parameters or None,
            )
        )
    return out


def prefect_yaml() -> dict[str, Any]:
    """The content of ``prefect.yaml`` for ``prefect deploy --all`` and the process work pool."""
    deployments = []
    for spec in DEPLOYMENTS:
        entry: dict[str, Any] = {
            "name": spec.name,
            "entrypoint": spec.entrypoint,
            "description": spec.description,
            "tags": list(spec.tags),
        }
        if spec.parameters:
            entry["parameters"] = spec.parameters
        entry["schedules"] = [{"cron": spec.cron, "timezone": TIMEZONE}] if spec.cron else []
        entry["work_pool"] = {"name": WORK_POOL}
        deployments.append(entry)
    return {
        "name": "quantum-scenarios",
        "prefect-version": "3.9.1",
        "build": [
            {"prefect.deployments.steps.run_shell_script": {"id": "repository", "script": "pwd", "stream_output": False}}
        ],
        "push": None,
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ repository.stdout }}"}}],
        "deployments": deployments,
    }


_HEADER = """\
# GENERATED from deployments/spec.py by `python -m deployments.spec --write`; edit the spec, not this file.
# Work-pool route, from the repository root:
#   prefect work-pool create qscen-process --type process
#   prefect --no-prompt deploy --all
#   prefect worker start --pool qscen-process
# The build step records the repository root (`pwd`); the pull step changes into it on the worker.
"""


def render_yaml() -> str:
    """``prefect.yaml`` as text (header comment + YAML)."""
    return _HEADER + yaml.safe_dump(prefect_yaml(), sort_keys=False, width=110)


def main(argv: list[str] | None = None) -> int:
    """``python -m deployments.spec [--write | --check]``: print, write or check ``prefect.yaml``."""
    parser = argparse.ArgumentParser(prog="python -m deployments.spec", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"write {YAML_PATH.name} at the repository root")
    group.add_argument("--check", action="store_true", help="exit 1 when prefect.yaml differs from the spec")
    args = parser.parse_args(argv)
    text = render_yaml()
    if args.write:
        YAML_PATH.write_text(text)
        print(f"wrote {YAML_PATH}")
    elif args.check:
        if not YAML_PATH.is_file() or YAML_PATH.read_text() != text:
            print(f"{YAML_PATH} is out of date: run `python -m deployments.spec --write`", file=sys.stderr)
            return 1
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
