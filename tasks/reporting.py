"""Prefect tasks for the report stage: dataset, report, manifest, and the analyst's artifacts.

Artifacts use *stable keys* (``scenario-pipeline-summary``, ``-metrics``, ``-risk``,
``-backtest``, ``-stress``), so the UI's Artifacts page keeps the history of
every key across runs. Metric and column names are spelled out for a reader.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from quantum_scenarios import io
from quantum_scenarios.integrity import verify_model
from quantum_scenarios.report import render_report
from quantum_scenarios.report.contents import build_report_inputs
from quantum_scenarios.evaluation import Evaluation
from quantum_scenarios.scenarios.generation import ScenarioSet
from tasks.runs import RunContext

ARTIFACT_PREFIX = "scenario-pipeline"
"""Prefix of the scenario pipeline's artifact keys."""

READABLE = {
    "kl": "KL divergence", "kl_reverse": "reverse KL", "js": "Jensen-Shannon", "tv": "total variation",
    "fidelity": "fidelity (Bhattacharyya²)", "w1": "Wasserstein-1", "corr_max_abs": "max |correlation error|",
    "corr_frobenius": "correlation error (Frobenius)", "model": "model", "sample": "sample",
    "qgan": "qGAN", "gaussian": "Gaussian", "bootstrap": "bootstrap", "in_sample": "in sample",
    "out_of_sample": "out of sample", "target_train": "target (train)", "target_test": "target (test)",
    "qgan_fidelity_out": "qGAN fidelity, out of sample", "qgan_kl_out": "qGAN KL, out of sample",
    "qgan_fidelity_in": "qGAN fidelity, in sample",
    "gaussian_fidelity_out": "Gaussian fidelity, out of sample", "gaussian_kl_out": "Gaussian KL, out of sample",
    "bootstrap_fidelity_out": "bootstrap fidelity, out of sample", "bootstrap_kl_out": "bootstrap KL, out of sample",
    "corr_max_abs_error": "max |correlation error|", "abs_acf_data": "|r| autocorrelation, data",
    "abs_acf_paths": "|r| autocorrelation, paths", "scenario_type": "scenario type", "horizon": "horizon (days)",
    "level": "level", "var": "VaR", "es": "ES", "asset": "asset", "n_paths": "paths",
}


def readable(name: Any) -> str:
    """A metric or column name as a reader says it (``qgan_kl_out`` -> ``qGAN KL, out of sample``)."""
    text = str(name)
    return READABLE.get(text, text.replace("_", " "))


def table_rows(frame: pd.DataFrame, digits: int = 5) -> list[dict[str, Any]]:
    """A frame as table-artifact rows: readable column names and values, floats rounded."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(digits)
        elif out[column].dtype == object or isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].map(lambda v: readable(v) if isinstance(v, str) else v)
    out.columns = [readable(c) for c in out.columns]
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in out.to_dict(orient="records")]


@task(name="write-scenarios", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_scenarios_task(scenarios: ScenarioSet, run: RunContext, metadata: dict[str, Any]) -> str:
    """Write the hive-partitioned scenario dataset (replacing an older one whole)."""
    frame = scenarios.to_frame(run.run_id)
    return str(io.write_scenario_dataset(frame, run.layout.scenarios_dir, metadata=run.metadata(**metadata)))


@task(name="render-report", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def render_report_task(run: RunContext, pieces: dict[str, Any]) -> str:
    """Gather the stages' outputs into the report and render the self-contained HTML page."""
    if run.layout.model_dir.is_dir() and "verification" not in pieces:  # the report shows the model's integrity
        pieces = {**pieces, "verification": verify_model(run.layout.model_dir).to_dict()}
    inputs = build_report_inputs(run_id=run.run_id, report_dir=run.layout.final_report_dir, **pieces)
    return str(render_report(inputs, run.layout.report_path))


@task(name="write-manifest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_manifest_task(run: RunContext, metrics: dict[str, Any], extra: dict[str, Any]) -> str:
    """Write manifest.json (config, versions, seeds, metrics, sha256 of every file) last."""
    return str(io.write_manifest(
        run.layout.run_dir, config=run.config, seeds=run.seeds, metrics=metrics,
        extra={"run_id": run.run_id, "started_at": run.started_at, **extra},
    ))


def _link(path: str, reports_url: str | None, workdir: str) -> str:
    """A path as the UI shows it: a URL under ``reports_url`` when the folders are served, else the path."""
    if reports_url:
        from pathlib import Path

        try:
            relative = Path(path).resolve().relative_to(Path(workdir).resolve())
            return f"[{relative.name}]({reports_url.rstrip('/')}/{relative.as_posix()})"
        except ValueError:
            pass
    return f"`{path}`"


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts_task(
    summary: dict[str, Any],
    scored: Evaluation,
    generated: ScenarioSet,
    reports_url: str | None = None,
    workdir: str = ".",
) -> list[str]:
    """Summary, metrics, risk, backtest and stress tables under stable keys; returns the keys.

    Args:
        summary: :func:`quantum_scenarios.runs.run_summary` of the run.
        scored: the evaluate stage's result (metric table, VaR backtest).
        generated: the generate stage's result (risk table, stress sets).
        reports_url: base URL where the work folder is served; links point there when set.
        workdir: the run's work folder (to build those links).
    """
    metrics, risk, backtest = scored.metrics, generated.risk, scored.backtest
    stress = pd.DataFrame([
        {"scenario_type": s.name, "n_paths": int(s.log_returns.shape[0]), "description": s.description}
        for s in generated.stress
    ])
    key = ARTIFACT_PREFIX
    outputs = summary["outputs"]
    lines = [
        f"# Run `{summary['run_id']}`",
        "",
        f"* assets: {', '.join(summary['assets'])}",
        f"* dates: {summary['start']} .. {summary['end']} ({summary['rows']} rows)",
        f"* validation: {summary['validation'].splitlines()[0]}",
        *([f"* integrity: {summary['verification']}"] if summary.get("verification") else []),
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {readable(name)} | {value} |" for name, value in summary.get("headline", {}).items()]
    lines += ["", "## Outputs", ""] + [f"* {name}: {_link(path, reports_url, workdir)}" for name, path in outputs.items()]
    run_id = summary["run_id"]
    create_markdown_artifact("\n".join(lines), key=f"{key}-summary", description=f"qGAN scenario run {run_id}")
    create_table_artifact(table_rows(metrics), key=f"{key}-metrics",
                          description=f"{run_id}: qGAN vs Gaussian and bootstrap baselines, in and out of sample")
    create_table_artifact(table_rows(risk), key=f"{key}-risk",
                          description=f"{run_id}: VaR and ES by scenario type, horizon and level")
    create_table_artifact(table_rows(backtest), key=f"{key}-backtest",
                          description=f"{run_id}: one-day VaR backtest on the test period (Kupiec)")
    create_table_artifact(table_rows(stress), key=f"{key}-stress",
                          description=f"{run_id}: stress scenario sets")
    return [f"{key}-{name}" for name in ("summary", "metrics", "risk", "backtest", "stress")]
