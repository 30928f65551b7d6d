"""Prefect tasks of the sweep flow: score one configuration, write the table, the report, the artifact.

``score_configuration_task`` is what the sweep maps over the grid on a Dask cluster. It runs
the pipeline's own stage functions (the same unpacking of the config models as the
scenario pipeline) with one intra-op torch thread per worker, and scores the generator
out of sample with the scorecard.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from quantum_scenarios import io, sweeps
from quantum_scenarios.config import PipelineConfig, SweepConfig
from quantum_scenarios.evaluation import evaluate_run
from quantum_scenarios.market.sources import MarketData
from quantum_scenarios.threads import apply_thread_policy
from tasks.quantum import encode_task, train_task
from tasks.reporting import table_rows
from tasks.scenarios import prepare_inputs_task

SWEEP_KEY = "scenario-sweep"
"""Stable key prefix of the sweep artifacts (``scenario-sweep-results``, ``scenario-sweep-summary``)."""


@task(name="score-configuration", cache_policy=NO_CACHE, task_run_name="configuration-{index}")
def score_configuration_task(
    index: int, overrides: dict[str, Any], base: dict[str, Any], data: MarketData
) -> dict[str, Any]:
    """Train the configuration ``base`` + ``overrides`` and score it out of sample.

    Scored against the Gaussian and bootstrap baselines of the metric table; the classical
    rivals (``evaluation.rivals``) are fitted by ``qscen run``, not once per configuration.

    Args:
        index: the configuration's position in the grid (names the task run).
        overrides: ``section.field -> value`` of this configuration.
        base: the base :class:`PipelineConfig` as JSON.
        data: the market data every configuration trains on (ingested once).

    Returns:
        ``{"metrics": headline metrics, "seconds": wall time}``.
    """
    apply_thread_policy(requested=1)  # one torch thread per Dask worker: the workers fill the cores
    started = time.perf_counter()
    config = sweeps.configure(PipelineConfig.model_validate(base), overrides)
    inputs = prepare_inputs_task.fn(data.returns, config.scenarios, config.evaluation)
    encoded = encode_task.fn(inputs.train_values, config.encoding, inputs.transform)
    training = config.training.model_copy(update={"checkpoint_every": 0})  # one short training: no checkpoints
    _, trained = train_task.fn(encoded, config.circuit, config.executor, training, hardware=config.hardware,
                               mitigation=config.mitigation, publish_progress=False)
    scored = evaluate_run(
        encoded, trained.probabilities, inputs, weights=config.stress.weights,
        backtest_level=config.evaluation.backtest_level, seed=config.scenarios.seed,
        dequantise=config.scenarios.dequantise, n_correlation_draws=50_000, acf_paths=4, acf_horizon=1_000,
        backtest_samples=5_000, rivals=(),  # the rivals do not depend on the swept options: qscen run scores them
    )
    seconds = time.perf_counter() - started
    headline = scored.headline()
    get_run_logger().info("configuration %d %s: %s in %.1f s", index, overrides,
                          {k: round(v, 4) for k, v in headline.items()}, seconds)
    return {"metrics": headline, "seconds": seconds}


@task(name="plan-sweep", cache_policy=NO_CACHE)
def plan_sweep_task(base: PipelineConfig, sweep: SweepConfig) -> list[dict[str, Any]]:
    """The grid's configurations, each checked against the option bounds before anything trains."""
    configurations = sweeps.expand_grid(sweep.grid)
    for values in configurations:
        sweeps.configure(base, values)
    get_run_logger().info("%d configurations over %s", len(configurations), ", ".join(sweep.grid))
    return configurations


@task(name="write-sweep", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_sweep_task(
    configurations: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
    sweep: SweepConfig,
    data_dir: str,
    report_dir: str,
    facts: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The results table, written as ``results.parquet``, and the HTML report ``sweep.html``."""
    table = sweeps.results_table(configurations, outcomes)
    results = io.write_parquet(table, Path(data_dir) / "results.parquet",
                               metadata={"sweep": facts, "metric": sweep.metric})
    report = sweeps.render_sweep_report(table, list(sweep.grid), sweep.metric, Path(report_dir) / "sweep.html",
                                        maximize=sweep.maximize, context=facts)
    return table, {"results": str(results), "report": str(report)}


@task(name="publish-sweep", cache_policy=NO_CACHE)
def publish_sweep_task(table: pd.DataFrame, fields: list[str], metric: str, maximize: bool,
                       outputs: dict[str, str]) -> dict[str, Any] | None:
    """The results table and a summary naming the best configuration, under stable keys; returns the best."""
    create_table_artifact(table_rows(table), key=f"{SWEEP_KEY}-results",
                          description=f"one row per configuration; ranked by {metric}")
    best = sweeps.best_configuration(table, metric, maximize=maximize)
    failed = int((table["status"] == "failed").sum())
    lines = [f"# Sweep of {len(table)} configurations ({failed} failed)", ""]
    if best is not None:
        lines += [f"Best out of sample by `{metric}` = {best[metric]:.5g}: configuration "
                  f"{int(best['configuration'])}", ""] + [f"* `{f}` = {best[f]}" for f in fields]
    lines += ["", "Outputs:"] + [f"* {name}: `{path}`" for name, path in outputs.items()]
    create_markdown_artifact("\n".join(lines), key=f"{SWEEP_KEY}-summary", description="parameter sweep")
    if best is None:
        return None
    plain = {f: None if pd.isna(best[f]) else (best[f].item() if hasattr(best[f], "item") else best[f])
             for f in fields}
    return {"configuration": int(best["configuration"]), **plain, metric: float(best[metric])}
