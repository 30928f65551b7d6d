"""Training flow: a run's returns (or a source) → encode → train → model folder.

``qscen train --run-id R`` trains on ``data/runs/R/market/returns.parquet`` when
that run exists (the model is added to it), else ingests and validates the
configured source first. The model lands in ``data/runs/<run_id>/model/``.
"""

from __future__ import annotations

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
from tasks.market import ingest_task, read_run_market_task, validate_task, write_market_task
from tasks.quantum import encode_task, save_model_task, train_task
from tasks.reporting import write_manifest_task
from tasks.runs import commit_run_task, discard_run_task, find_run_task, open_run_task, summarise_run_task
from tasks.scenarios import prepare_inputs_task


@flow(name="train-qgan", flow_run_name="train-{scenarios.mode}-{encoding.num_qubits}q-{training.epochs}ep")
def training_flow(
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
    """Train the qGAN and write the model folder (QPY circuit, parameters, contract, discriminator).

    Args:
        source: prices to train on when the run has no market data yet.
        validation: great-expectations suites applied to a freshly ingested source.
        encoding: qubits per asset, bounds and prior loader.
        circuit: generator ansatz.
        executor: circuit evaluation.
        training: optimiser, loss, epochs.
        scenarios: its ``mode`` decides whether the qGAN learns GARCH residuals or returns.
        stress: unused here (kept so one config file drives every command).
        evaluation: the training cut-off date.
        output: work folder and run id (an existing run gets a model added).
        show_progress: progress bar on the console.
    """
    config = {name: model.model_dump(mode="json") for name, model in {
        "source": source, "validation": validation, "encoding": encoding, "circuit": circuit,
        "executor": executor, "training": training, "scenarios": scenarios, "evaluation": evaluation,
    }.items()}
    existing = find_run_task(output)
    layout = open_run_task(output, config, keep_existing=existing)
    try:
        if existing:
            data = read_run_market_task(layout)
            outcome = "returns from the existing run"
        else:
            data = ingest_task(source)
            data, checked = validate_task(data, validation, layout)
            write_market_task(data, layout, {"config": config})
            outcome = checked.summary()
        inputs = prepare_inputs_task(data.returns, scenarios, evaluation)
        encoded = encode_task(inputs.train_values, encoding, inputs.transform)
        generator, trained = train_task(
            encoded, circuit, executor, training, show_progress=show_progress,
            checkpoint_dir=str(layout.checkpoint_dir),
        )
        model_dir = save_model_task(layout, generator, trained, encoded, {"config": config})
        write_manifest_task(
            layout, config, {"circuit": circuit.seed, "training": training.seed}, {},
            {"run_id": layout.run_id, "command": "train", "model": str(layout.to_final(model_dir))},
        )
    except BaseException as exc:
        discard_run_task(layout, exc)
        raise
    final = commit_run_task(layout)
    last = trained.history[-1]
    return summarise_run_task(
        layout, data.prices, outcome,
        {"epochs": trained.epochs_run, "seconds": round(trained.seconds, 1), "kl": round(last.kl, 4),
         "fidelity": round(last.fidelity, 4)},
        {"model": layout.to_final(model_dir), "run_dir": final.run_dir},
    )
