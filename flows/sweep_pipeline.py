"""The sweep flow: one base configuration, a grid over any of its options, scored on a Dask cluster.

ingest → (score configuration ×N on Dask) → results table + HTML report + artifacts.

The grid is mapped with ``.map`` onto ``prefect_dask.DaskTaskRunner``: a local cluster by
default (one worker per core, one thread each, one torch thread per worker) or an existing
cluster at ``sweep.dask_address``. A configuration that fails is recorded (status and error)
and does not fail the sweep. Outputs: ``data/sweeps/<sweep_id>/results.parquet`` and
``reports/sweeps/<sweep_id>/sweep.html``.

Run it without a server: ``qscen sweep --grid circuit.reps=2,4 --grid circuit.seed=1,2``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, unmapped
from prefect_dask import DaskTaskRunner

from quantum_scenarios.config import (
    CircuitConfig,
    EncodingConfig,
    EvaluationConfig,
    ExecutorConfig,
    HardwareConfig,
    MitigationConfig,
    OutputConfig,
    PipelineConfig,
    ScenarioConfig,
    SourceConfig,
    StressConfig,
    SweepConfig,
    TrainingConfig,
    ValidationConfig,
)
from quantum_scenarios.runs import new_run_id
from quantum_scenarios.threads import cpu_budget
from tasks.market import ingest_task
from tasks.operations import report_failure
from tasks.sweeps import plan_sweep_task, publish_sweep_task, score_configuration_task, write_sweep_task


def dask_runner(sweep: SweepConfig) -> DaskTaskRunner:
    """The task runner of a sweep: the cluster at ``sweep.dask_address``, else a local one.

    The local cluster has ``sweep.workers`` worker processes (default: one per core), one
    thread each, and no dashboard.
    """
    if sweep.dask_address:
        return DaskTaskRunner(address=sweep.dask_address)
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": sweep.workers or cpu_budget(), "threads_per_worker": 1, "processes": True,
        "dashboard_address": None,
    })


@flow(name="sweep-grid", flow_run_name="grid-{sweep_id}")
def sweep_grid(sweep_id: str, configurations: list[dict[str, Any]], base: dict[str, Any]) -> list[dict[str, Any]]:
    """Ingest once, then score every configuration on the Dask cluster; a failure becomes ``{"error": ...}``."""
    data = ingest_task.submit(SourceConfig.model_validate(base["source"]))
    futures = score_configuration_task.map(
        list(range(len(configurations))), configurations, unmapped(base), unmapped(data)
    )
    outcomes = []
    for future in futures:
        state = future.wait() or future.state
        if state.is_completed():
            outcomes.append(future.result())
        else:
            error = state.result(raise_on_failure=False)
            outcomes.append({"error": f"{type(error).__name__}: {error}" if isinstance(error, BaseException)
                             else (state.message or state.name)})
    return outcomes


@flow(
    name="scenario-sweep",
    flow_run_name="sweep-{sweep.metric}",
    timeout_seconds=12 * 3600,
    on_failure=[report_failure],
    on_crashed=[report_failure],
)
def sweep_pipeline(
    sweep: SweepConfig = SweepConfig(),
    source: SourceConfig = SourceConfig(),
    encoding: EncodingConfig = EncodingConfig(),
    circuit: CircuitConfig = CircuitConfig(),
    executor: ExecutorConfig = ExecutorConfig(),
    hardware: HardwareConfig = HardwareConfig(),
    mitigation: MitigationConfig = MitigationConfig(),
    training: TrainingConfig = TrainingConfig(),
    scenarios: ScenarioConfig = ScenarioConfig(),
    stress: StressConfig = StressConfig(),
    evaluation: EvaluationConfig = EvaluationConfig(),
    output: OutputConfig = OutputConfig(),
) -> dict[str, Any]:
    """Train and score every configuration of a grid over the base configuration, in parallel.

    Args:
        sweep: the grid (``section.field -> values``), the ranking metric and the Dask cluster.
        source: prices every configuration trains on.
        encoding: base encoding (qubits, bounds, loader).
        circuit: base generator ansatz.
        executor: base circuit evaluation.
        hardware: base device profile of hardware-aware runs.
        mitigation: base error-mitigation options.
        training: base optimiser, loss, epochs.
        scenarios: base mode (GARCH residuals or returns) and seed.
        stress: portfolio weights used by the backtest.
        evaluation: train/test cut-off.
        output: work folder; the run id, when set, names the sweep.
    """
    base = PipelineConfig(
        source=source, encoding=encoding, circuit=circuit, executor=executor, hardware=hardware,
        mitigation=mitigation, training=training,
        scenarios=scenarios, stress=stress, evaluation=evaluation, output=output,
    )
    configurations = plan_sweep_task(base, sweep)
    base_json = base.model_dump(mode="json")
    sweep_id = output.run_id or f"sweep-{new_run_id({'base': base_json, 'sweep': sweep.model_dump(mode='json')})}"
    outcomes = sweep_grid.with_options(task_runner=dask_runner(sweep))(sweep_id, configurations, base_json)
    fields = list(sweep.grid)
    workdir = output.workdir.resolve()
    facts = {"sweep id": sweep_id, "grid": sweep.grid, "metric": sweep.metric,
             "cluster": sweep.dask_address or f"local, {sweep.workers or cpu_budget()} workers x 1 thread"}
    table, written = write_sweep_task(
        configurations, outcomes, sweep, str(workdir / "data" / "sweeps" / sweep_id),
        str(workdir / "reports" / "sweeps" / sweep_id), facts,
    )
    best = publish_sweep_task(table, fields, sweep.metric, sweep.maximize, written)
    return {"sweep_id": sweep_id, "configurations": len(configurations),
            "failed": sum("error" in o for o in outcomes), "best": best, "outputs": written, "table": table}


if __name__ == "__main__":
    print(sweep_pipeline())
