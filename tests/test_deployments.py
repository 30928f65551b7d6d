"""The deployment spec: prefect.yaml is generated from it, and both routes agree with it."""

from __future__ import annotations

from pathlib import Path

import yaml

from deployments import spec

REPOSITORY = Path(__file__).resolve().parents[1]


def test_prefect_yaml_is_the_generated_spec() -> None:
    on_disk = (REPOSITORY / "prefect.yaml").read_text()
    assert on_disk == spec.render_yaml(), "prefect.yaml is stale: run `python -m deployments.spec --write`"
    assert spec.main(["--check"]) == 0


def test_served_and_yaml_deployments_agree() -> None:
    loaded = yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())
    from_yaml = {d["name"]: d for d in loaded["deployments"]}
    served = {d.name: d for d in spec.served()}
    assert set(from_yaml) == set(served) == {"nightly", "daily-validation", "train-qgan"}
    for name, deployment in served.items():
        entry = from_yaml[name]
        crons = [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules or []]
        assert crons == [(s["cron"], s["timezone"]) for s in entry["schedules"]], name
        assert all(tz == "America/New_York" for _, tz in crons)
        assert (deployment.parameters or {}) == entry.get("parameters", {}), name
        assert sorted(deployment.tags) == sorted(entry["tags"]), name
        assert deployment.description == entry["description"], name
        assert deployment.entrypoint.endswith(entry["entrypoint"].split(":")[0].split("/")[-1] + ":"
                                              + entry["entrypoint"].split(":")[1]), name
        assert entry["work_pool"]["name"] == spec.WORK_POOL
    assert served["train-qgan"].flow_name == "train-qgan"
    assert served["nightly"].flow_name == "scenario-pipeline"


def test_pull_step_uses_only_prefect_templating() -> None:
    """The pull step resolves to the directory `prefect deploy` ran in (no Jinja filters)."""
    from prefect.utilities.templating import apply_values, find_placeholders

    document = spec.prefect_yaml()
    (step,) = document["pull"]
    directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert "|" not in directory
    (placeholder,) = find_placeholders(directory)
    (build,) = document["build"]
    assert build["prefect.deployments.steps.run_shell_script"]["id"] == placeholder.name.split(".")[0]
    # what `prefect deploy` does with the build step's output
    resolved = apply_values(document["pull"], {"repository": {"stdout": str(REPOSITORY)}}, remove_notset=False)
    assert resolved[0]["prefect.deployments.steps.set_working_directory"]["directory"] == str(REPOSITORY)


def test_deployment_entrypoints_load_their_flows() -> None:
    names = {d.name: d.load_flow().name for d in spec.DEPLOYMENTS}
    assert names == {"nightly": "scenario-pipeline", "daily-validation": "market-data", "train-qgan": "train-qgan"}
