"""Prefect tasks for the report stage: dataset, report, manifest, artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from quantum_scenarios import io
from quantum_scenarios.report import render_report
from quantum_scenarios.report.contents import build_report_inputs
from quantum_scenarios.runs import RunLayout
from quantum_scenarios.scenarios.generation import ScenarioSet


@task(name="write-scenarios", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_scenarios_task(scenarios: ScenarioSet, layout: RunLayout, metadata: dict[str, Any]) -> str:
    """Write the hive-partitioned scenario dataset (replacing an older one whole)."""
    frame = scenarios.to_frame(layout.run_id)
    return str(io.write_scenario_dataset(frame, layout.scenarios_dir, metadata=metadata))


@task(name="render-report", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def render_report_task(layout: RunLayout, pieces: dict[str, Any]) -> str:
    """Gather the stages' outputs into the report and render the self-contained HTML page."""
    inputs = build_report_inputs(run_id=layout.run_id, report_dir=layout.final_report_dir, **pieces)
    return str(render_report(inputs, layout.report_path))


@task(name="write-manifest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_manifest_task(
    layout: RunLayout, config: dict[str, Any], seeds: dict[str, Any], metrics: dict[str, Any], extra: dict[str, Any]
) -> str:
    """Write manifest.json (config, versions, seeds, metrics, sha256 of every file) last."""
    return str(io.write_manifest(layout.run_dir, config=config, seeds=seeds, metrics=metrics, extra=extra))


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts_task(summary: dict[str, Any], metric_rows: list[dict[str, Any]]) -> None:
    """Markdown summary, metric table and links to the report and dataset in the Prefect UI."""
    key = "".join(c if c.isalnum() else "-" for c in summary["run_id"].lower())
    lines = [
        f"# Run `{summary['run_id']}`",
        "",
        f"* assets: {', '.join(summary['assets'])}",
        f"* dates: {summary['start']} .. {summary['end']} ({summary['rows']} rows)",
        f"* validation: {summary['validation'].splitlines()[0]}",
    ]
    lines += [f"* {name}: {value}" for name, value in summary.get("headline", {}).items()]
    lines += ["", "Outputs:"] + [f"* {name}: `{path}`" for name, path in summary["outputs"].items()]
    create_markdown_artifact("\n".join(lines), key=f"summary-{key}", description="qGAN scenario run summary")
    create_table_artifact(metric_rows, key=f"metrics-{key}", description="Grid metrics: qGAN vs baselines")
    for name in ("report", "dataset"):
        if name in summary["outputs"]:
            create_link_artifact(
                Path(summary["outputs"][name]).resolve().as_uri(), link_text=f"{name} of {summary['run_id']}",
                key=f"{name}-{key}",
            )
