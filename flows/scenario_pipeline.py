"""The scenario pipeline: ingest → validate → encode → train → (generate ‖ evaluate) → report.

One flow, every stage a task. Its parameters are the pydantic config models, so the
Prefect UI renders a form with each option's default, bounds and description, and a bad
value is refused when the run is submitted. ``encode`` and ``train`` are cached on their
inputs: an identical re-run skips training.

Operations (``operations`` section): at most ``training_slots`` runs train at once (global
concurrency limit ``qscen-training``); a second run with the same run id is refused or waits;
a failed or crashed run publishes the ``scenario-pipeline-failure`` artifact and notifies the
named notification block. The run context travels quoted, so the flow-run graph shows the
data flow only.

Run it without a server: ``qscen run`` or ``python -m flows.scenario_pipeline``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.utilities.annotations import quote

from quantum_scenarios.config import (
    CircuitConfig,
    EncodingConfig,
    EvaluationConfig,
    ExecutorConfig,
    HardwareConfig,
    MitigationConfig,
    ModelConfig,
    OperationsConfig,
    OutputConfig,
    ScenarioConfig,
    SourceConfig,
    StressConfig,
    TrainingConfig,
    ValidationConfig,
)
from quantum_scenarios.evaluation.grids import joint_grid_needed
from quantum_scenarios.models import choose_mode
from tasks.market import ingest_task, validate_task, write_market_task
from tasks.operations import report_failure, training_slot
from tasks.quantum import encode_task, save_model_task, train_task
from tasks.reporting import publish_artifacts_task, render_report_task, write_manifest_task, write_scenarios_task
from tasks.runs import commit_run_task, discard_run_task, open_run_task, summarise_run_task
from tasks.scenarios import (
    evaluate_task,
    fit_model_task,
    generate_task,
    model_stats,
    prepare_inputs_task,
    record_model_task,
    rivals_in_background,
)


@flow(
    name="scenario-pipeline",
    flow_run_name="qgan-{scenarios.mode}-{encoding.num_qubits}q-{training.epochs}ep",
    validate_parameters=True,
    timeout_seconds=4 * 3600,
    on_failure=[report_failure],
    on_crashed=[report_failure],
)
def scenario_pipeline(
    source: SourceConfig = SourceConfig(),
    validation: ValidationConfig = ValidationConfig(),
    encoding: EncodingConfig = EncodingConfig(),
    circuit: CircuitConfig = CircuitConfig(),
    executor: ExecutorConfig = ExecutorConfig(),
    hardware: HardwareConfig = HardwareConfig(),
    mitigation: MitigationConfig = MitigationConfig(),
    training: TrainingConfig = TrainingConfig(),
    model: ModelConfig = ModelConfig(),
    scenarios: ScenarioConfig = ScenarioConfig(),
    stress: StressConfig = StressConfig(),
    evaluation: EvaluationConfig = EvaluationConfig(),
    output: OutputConfig = OutputConfig(),
    operations: OperationsConfig = OperationsConfig(),
    show_progress: bool = False,
) -> dict[str, Any]:
    """Train a quantum GAN on market returns and write scenarios, stress sets and a report.

    Args:
        source: where prices come from (bundled S&P 500 / NASDAQ / WTI by default).
        validation: great-expectations suites; strict fails the run, repair quarantines rows.
        encoding: qubits per asset, grid bounds and the qiskit-finance prior loader.
        circuit: generator ansatz, depth and entanglement.
        executor: how the circuit is evaluated (exact PyTorch statevector by default).
        hardware: the device of hardware-aware runs (coupling map, noise, transpiler settings).
        mitigation: error mitigation options and the report's noise/mitigation comparison.
        training: qGAN optimiser, loss, epochs and learning rates.
        model: generative mode (auto: joint up to 4 assets, factor above; copula, factor, hybrid) and its selection.
        scenarios: number of paths, horizon, GARCH or i.i.d. dynamics.
        stress: portfolio weights and stress-scenario settings.
        evaluation: train/test cut-off and backtest level.
        output: work folder and run id.
        operations: training concurrency, same-run-id policy, failure notification block, report URL.
        show_progress: draw a progress bar for training on the console.
    """
    sections = {
        "source": source, "validation": validation, "encoding": encoding, "circuit": circuit,
        "executor": executor, "hardware": hardware, "mitigation": mitigation, "training": training,
        "scenarios": scenarios, "stress": stress, "evaluation": evaluation, "output": output,
    }
    if model != ModelConfig():  # recorded when set; the default run's config stays as it was
        sections["model"] = model
    config = {name: model.model_dump(mode="json") for name, model in sections.items()}
    seeds = {"circuit": circuit.seed, "executor": executor.seed, "training": training.seed, "scenarios": scenarios.seed}
    context = open_run_task(output, config, seeds, operations, command="scenario-pipeline")
    run = quote(context)
    try:
        data = ingest_task(source)
        data, checked = validate_task(data, validation, run)
        market_files = write_market_task(data, run)
        inputs = prepare_inputs_task(data.returns, scenarios, evaluation)
        mode = choose_mode(model.mode, inputs.train_values.shape[1], factor_threshold=model.factor_threshold)
        encoded = encode_task(inputs.train_values, encoding, inputs.transform, joint_grid_needed(
            mode, inputs.train_values.shape[1], encoding.num_qubits, max_assets=evaluation.joint_grid_max_assets))
        with rivals_in_background(encoded, inputs, stress, evaluation, scenarios) as rivals_running:
            if mode == "joint" and model.selection == "none":
                with training_slot(operations):
                    generator, trained = train_task(
                        encoded, circuit, executor, training, show_progress=show_progress,
                        checkpoint_dir=str(context.layout.checkpoint_dir), hardware=hardware, mitigation=mitigation,
                    )
                model_dir = save_model_task(run, generator, trained, encoded)
                fitted, probabilities = None, trained.probabilities
                circuit_stats, history = generator.stats() | {"executor": executor.name}, trained.history_frame()
                noise = trained.telemetry.get("noise")
                telemetry = {"quantum": trained.telemetry, "stop_reason": trained.stop_reason}
                seconds, epochs_run = trained.seconds, trained.epochs_run
            else:  # copula / factor / hybrid, or model.selection: the model's own fit; a record, not a model/ folder
                with training_slot(operations):
                    fitted, probabilities = fit_model_task(
                        inputs, encoded, model, circuit, training, scenarios, evaluation)
                model_dir = record_model_task(run, fitted)
                figures = fitted.summary()
                circuit_stats, history, noise = model_stats(fitted), None, None
                telemetry = {"model": {"mode": mode, "section": model, "record": context.final_path(model_dir),
                                       "reloadable": False, **figures,
                                       "selected": fitted.model_selection["choice"] if fitted.model_selection else None}}
                seconds, epochs_run = figures.get("seconds"), figures.get("epochs_run")
            rival_scores = rivals_running.result() if rivals_running is not None else None
        evaluating = evaluate_task.submit(
            encoded, probabilities, inputs, stress, evaluation, scenarios, fitted, rival_scores
        )
        generating = generate_task.submit(encoded, probabilities, inputs, data.prices, scenarios, stress, fitted)
        scored, generated = evaluating.result(), generating.result()
        headline = scored.headline()
        dataset = write_scenarios_task(generated, run, {"encoding": encoded.contract.to_dict(), "metrics": headline})
        final = context.layout.final()
        outputs = {name: context.final_path(path) for name, path in market_files.items()} | {
            "model": context.final_path(model_dir), "dataset": context.final_path(dataset),
            "report": str(final.report_path), "manifest": str(final.manifest_path),
        }
        report = render_report_task(run, {
            "prices": data.prices, "returns": data.returns, "source": data.source,
            "return_kind": data.return_kind, "validation": checked, "encoding": encoded,
            "circuit_stats": circuit_stats,
            "history": history, "probabilities": probabilities, "noise": noise,
            "evaluation": scored, "scenarios": generated, "dataset_path": outputs["dataset"],
            "provenance": {
                "run_id": context.run_id, "created_at": context.started_at, "config": config, "seeds": seeds,
                "training_seconds": seconds, "epochs_run": epochs_run, "outputs": outputs,
            },
        })
        write_manifest_task(run, headline, {
            "outputs": outputs, "report": context.final_path(report), "validation": checked.summary(),
            "risk": generated.risk.to_dict(orient="records"),
            "metric_table": scored.metrics.to_dict(orient="records"),
            "evaluation_grid": scored.grid.description,
            "var_backtest": scored.backtest.to_dict(orient="records"),
            **telemetry,
        })
    except BaseException as exc:
        discard_run_task(run, exc)
        raise
    commit_run_task(run)
    summary = summarise_run_task(
        run, data.prices, checked.summary(), {k: round(v, 4) for k, v in headline.items()}, outputs
    )
    publish_artifacts_task(summary, scored, generated, operations.reports_url, str(output.workdir.resolve()))
    return summary


if __name__ == "__main__":
    print(scenario_pipeline(show_progress=True))
