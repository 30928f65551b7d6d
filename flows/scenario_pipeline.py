"""The scenario pipeline: ingest → validate → encode → train → generate → evaluate → report.

One flow, every stage a task. Its parameters are the pydantic config models,
so the Prefect UI renders a form with each option's default, bounds and
description. ``encode`` and ``train`` are cached on their inputs: an identical
re-run skips training.

Run it without a server: ``qscen run`` or ``python -m flows.scenario_pipeline``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow

from quantum_scenarios.config import (
    CircuitConfig,
    EncodingConfig,
    EvaluationConfig,
    ExecutorConfig,
    OutputConfig,
    ScenarioConfig,
    SourceConfig,
    StressConfig,
    TrainingConfig,
    ValidationConfig,
)
from tasks.market import ingest_task, validate_task, write_market_task
from tasks.quantum import encode_task, save_model_task, train_task
from tasks.reporting import (
    publish_artifacts_task,
    render_report_task,
    write_manifest_task,
    write_scenarios_task,
)
from tasks.runs import commit_run_task, discard_run_task, open_run_task, summarise_run_task
from tasks.scenarios import evaluate_task, generate_task, prepare_inputs_task


@flow(
    name="scenario-pipeline",
    flow_run_name="qgan-{scenarios.mode}-{encoding.num_qubits}q-{training.epochs}ep",
    validate_parameters=True,
)
def scenario_pipeline(
    source: SourceConfig = SourceConfig(),
    validation: ValidationConfig = ValidationConfig(),
    encoding: EncodingConfig = EncodingConfig(),
    circuit: CircuitConfig = CircuitConfig(),
    executor: ExecutorConfig = ExecutorConfig(),
    training: TrainingConfig = TrainingConfig(),
    scenarios: ScenarioConfig = ScenarioConfig(),
    stress: StressConfig = StressConfig(),
    evaluation: EvaluationConfig = EvaluationConfig(),
    output: OutputConfig = OutputConfig(),
    show_progress: bool = False,
) -> dict[str, Any]:
    """Train a quantum GAN on market returns and write scenarios, stress sets and a report.

    Args:
        source: where prices come from (bundled S&P 500 / NASDAQ / WTI by default).
        validation: great-expectations suites; strict fails the run, repair quarantines rows.
        encoding: qubits per asset, grid bounds and the qiskit-finance prior loader.
        circuit: generator ansatz, depth and entanglement.
        executor: how the circuit is evaluated (exact PyTorch statevector by default).
        training: qGAN optimiser, loss, epochs and learning rates.
        scenarios: number of paths, horizon, GARCH or i.i.d. dynamics.
        stress: portfolio weights and stress-scenario settings.
        evaluation: train/test cut-off and backtest level.
        output: work folder and run id.
        show_progress: draw a progress bar for training on the console.
    """
    sections = {
        "source": source, "validation": validation, "encoding": encoding, "circuit": circuit,
        "executor": executor, "training": training, "scenarios": scenarios, "stress": stress,
        "evaluation": evaluation, "output": output,
    }
    config = {name: model.model_dump(mode="json") for name, model in sections.items()}
    seeds = {"circuit": circuit.seed, "executor": executor.seed, "training": training.seed, "scenarios": scenarios.seed}
    started = dt.datetime.now(dt.timezone.utc)
    layout = open_run_task(output, config)
    try:
        data = ingest_task(source)
        data, checked = validate_task(data, validation, layout)
        market_files = write_market_task(data, layout, {"config": config})
        inputs = prepare_inputs_task(data.returns, scenarios, evaluation)
        encoded = encode_task(inputs.train_values, encoding, inputs.transform)
        generator, trained = train_task(
            encoded, circuit, executor, training, show_progress=show_progress,
            checkpoint_dir=str(layout.checkpoint_dir),
        )
        model_dir = save_model_task(layout, generator, trained, encoded, {"config": config, "seeds": seeds})
        scored = evaluate_task(encoded, trained.probabilities, inputs, stress, evaluation, scenarios)
        generated = generate_task(encoded, trained.probabilities, inputs, data.prices, scenarios, stress)
        headline = scored.headline()
        dataset = write_scenarios_task(
            generated, layout,
            {"config": config, "encoding": encoded.contract.to_dict(), "metrics": headline, "seeds": seeds},
        )
        outputs = {name: str(layout.to_final(path)) for name, path in market_files.items()} | {
            "model": str(layout.to_final(model_dir)),
            "dataset": str(layout.to_final(dataset)),
            "report": str(layout.final().report_path),
            "manifest": str(layout.final().manifest_path),
        }
        report = render_report_task(
            layout,
            {
                "prices": data.prices, "returns": data.returns, "source": data.source,
                "return_kind": data.return_kind, "validation": checked, "encoding": encoded,
                "circuit_stats": generator.stats() | {"executor": executor.name},
                "history": trained.history_frame(), "probabilities": trained.probabilities,
                "evaluation": scored, "scenarios": generated, "dataset_path": outputs["dataset"],
                "provenance": {
                    "run_id": layout.run_id, "created_at": started.isoformat(timespec="seconds"),
                    "config": config, "seeds": seeds, "training_seconds": trained.seconds,
                    "epochs_run": trained.epochs_run, "outputs": outputs,
                },
            },
        )
        write_manifest_task(
            layout, config, seeds, headline,
            {"run_id": layout.run_id, "started_at": started.isoformat(timespec="seconds"),
             "outputs": outputs, "report": str(layout.to_final(report)),
             "validation": checked.summary(), "risk": generated.risk.to_dict(orient="records"),
             "metric_table": scored.metrics.to_dict(orient="records"),
             "var_backtest": scored.backtest.to_dict(orient="records")},
        )
    except BaseException as exc:
        discard_run_task(layout, exc)
        raise
    commit_run_task(layout)
    summary = summarise_run_task(
        layout, data.prices, checked.summary(), {k: round(v, 4) for k, v in headline.items()}, outputs
    )
    publish_artifacts_task(summary, scored.metrics.round(5).to_dict(orient="records"))
    return summary


if __name__ == "__main__":
    print(scenario_pipeline(show_progress=True))
