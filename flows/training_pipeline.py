"""Training flow: a run's returns (or a source) → encode → train → model folder.

``qscen train --run-id R`` trains on ``data/runs/R/market/returns.parquet`` when
that run exists (the model is added to it), else ingests and validates the
configured source first. The model lands in ``data/runs/<run_id>/model/``.
Training holds a slot of the ``qscen-training`` global concurrency limit; failures
publish the ``train-qgan-failure`` artifact and notify ``operations.notify_block``.
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
    OperationsConfig,
    OutputConfig,
    ScenarioConfig,
    SourceConfig,
    StressConfig,
    TrainingConfig,
    ValidationConfig,
)
from tasks.market import ingest_task, read_run_market_task, validate_task, write_market_task
from tasks.operations import report_failure, training_slot
from tasks.quantum import encode_task, save_model_task, train_task
from tasks.reporting import write_manifest_task
from tasks.runs import commit_run_task, discard_run_task, find_run_task, open_run_task, summarise_run_task
from tasks.scenarios import prepare_inputs_task


@flow(
    name="train-qgan",
    flow_run_name="train-{scenarios.mode}-{encoding.num_qubits}q-{training.epochs}ep",
    timeout_seconds=4 * 3600,
    on_failure=[report_failure],
    on_crashed=[report_failure],
)
def training_flow(
    source: SourceConfig = SourceConfig(),
    validation: ValidationConfig = ValidationConfig(),
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
    operations: OperationsConfig = OperationsConfig(),
    show_progress: bool = False,
) -> dict[str, Any]:
    """Train the qGAN and write the model folder (QPY circuit, parameters, contract, discriminator).

    Args:
        source: prices to train on when the run has no market data yet.
        validation: great-expectations suites applied to a freshly ingested source.
        encoding: qubits per asset, bounds and prior loader.
        circuit: generator ansatz.
        executor: circuit evaluation.
        hardware: the device of hardware-aware runs (coupling map, noise, transpiler settings).
        mitigation: error mitigation options and the noise/mitigation comparison.
        training: optimiser, loss, epochs.
        scenarios: its ``mode`` decides whether the qGAN learns GARCH residuals or returns.
        stress: unused here (kept so one config file drives every command).
        evaluation: the training cut-off date.
        output: work folder and run id (an existing run gets a model added).
        operations: training concurrency, same-run-id policy, failure notification block.
        show_progress: progress bar on the console.
    """
    config = {name: model.model_dump(mode="json") for name, model in {
        "source": source, "validation": validation, "encoding": encoding, "circuit": circuit,
        "executor": executor, "hardware": hardware, "mitigation": mitigation, "training": training,
        "scenarios": scenarios, "evaluation": evaluation,
    }.items()}
    seeds = {"circuit": circuit.seed, "training": training.seed}
    existing = find_run_task(output)
    context = open_run_task(output, config, seeds, operations, keep_existing=existing, command="train-qgan")
    run = quote(context)
    try:
        if existing:
            data = read_run_market_task(run)
            outcome = "returns from the existing run"
        else:
            data = ingest_task(source)
            data, checked = validate_task(data, validation, run)
            write_market_task(data, run)
            outcome = checked.summary()
        inputs = prepare_inputs_task(data.returns, scenarios, evaluation)
        encoded = encode_task(inputs.train_values, encoding, inputs.transform)
        with training_slot(operations):
            generator, trained = train_task(
                encoded, circuit, executor, training, show_progress=show_progress,
                checkpoint_dir=str(context.layout.checkpoint_dir), hardware=hardware, mitigation=mitigation,
            )
        model_dir = save_model_task(run, generator, trained, encoded)
        write_manifest_task(run, {}, {"command": "train", "model": context.final_path(model_dir), "quantum": trained.telemetry,
                                     "stop_reason": trained.stop_reason})
    except BaseException as exc:
        discard_run_task(run, exc)
        raise
    committed = commit_run_task(run)
    last = trained.history[-1]
    return summarise_run_task(
        run, data.prices, outcome,
        {"epochs": trained.epochs_run, "seconds": round(trained.seconds, 1), "kl": round(last.kl, 4),
         "fidelity": round(last.fidelity, 4)},
        {"model": context.final_path(model_dir), "run_dir": committed.layout.run_dir},
    )
