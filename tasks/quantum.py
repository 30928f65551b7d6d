"""Prefect tasks for the quantum stages: encode, train, save the model.

``encode`` and ``train`` are expensive and deterministic given their inputs,
so they are cached on their inputs (``INPUTS`` + the task's source): an
identical re-run skips training.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
from pathlib import Path
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.logging import get_run_logger

from quantum_scenarios.config import (
    CircuitConfig,
    EncodingConfig,
    ExecutorConfig,
    HardwareConfig,
    MitigationConfig,
    TrainingConfig,
)
from quantum_scenarios.encoding import Encoding, encode
from quantum_scenarios.gan import training as training_module
from quantum_scenarios.gan.training import EpochRecord, TrainingResult, train_qgan
from quantum_scenarios.quantum import circuits as circuits_module
from quantum_scenarios.quantum import executors as executors_module
from quantum_scenarios.quantum import hardware as hardware_module
from quantum_scenarios.quantum import mitigation as mitigation_module
from quantum_scenarios.quantum import noisy as noisy_module
from quantum_scenarios.model import save_model
from quantum_scenarios.quantum.circuits import GeneratorCircuit, build_generator
from quantum_scenarios.runs import resume_checkpoint
from tasks.runs import RunContext

_CACHE = INPUTS + TASK_SOURCE


@task(name="encode", cache_policy=_CACHE, cache_expiration=timedelta(days=30), persist_result=True)
def encode_task(values: pd.DataFrame, encoding: EncodingConfig, transform: str, joint: bool = True) -> Encoding:
    """Discretise the training values onto the qubit grid and build the prior loader.

    With ``joint=False`` (a non-joint model on more assets than the joint grid is evaluated for,
    :func:`~quantum_scenarios.evaluation.grids.joint_grid_needed`) only the per-asset grid is
    built: no ``2**N`` target histogram, prior or loader.
    """
    result = encode(
        values,
        num_qubits=encoding.num_qubits,
        bounds=encoding.bounds,
        quantiles=encoding.quantiles,
        margin=encoding.margin,
        loader=encoding.loader,
        transform=transform,
        joint=joint,
    )
    clipped = {k: v for k, v in result.clipped.items() if v}
    get_run_logger().info(
        "encoded %d observations of %s on %s qubits%s; clipped into edge bins: %s",
        result.n_observations, ", ".join(result.contract.assets), list(result.contract.num_qubits),
        "" if joint else " (per-asset grid only: no joint histogram)", clipped or "none",
    )
    return result


def _progress_printer(total: int, show: bool):
    """A progress callback: a tqdm bar on stderr when ``show``, else periodic log lines."""
    logger = get_run_logger()
    if show:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="training qGAN", unit="epoch", file=sys.stderr, dynamic_ncols=True, mininterval=0.5)

        def update(record: EpochRecord) -> None:
            bar.update(1)
            if record.kl == record.kl:  # metrics are NaN between measured epochs
                bar.set_postfix(kl=f"{record.kl:.4f}", fid=f"{record.fidelity:.4f}", refresh=False)
            if record.epoch >= total:
                bar.close()

        return update, bar

    every = max(1, total // 10)
    due = [every]  # the next line is due at this epoch, or at the first measured epoch after it

    def log(record: EpochRecord) -> None:
        measured = record.kl == record.kl  # metrics are NaN between measured epochs (training.metrics_every)
        if record.epoch >= due[0] and (measured or record.epoch >= total):
            if measured:
                logger.info("epoch %d/%d  KL %.4f  fidelity %.4f", record.epoch, total, record.kl, record.fidelity)
            else:
                logger.info("epoch %d/%d", record.epoch, total)
            due[0] = (record.epoch // every + 1) * every

    return log, None


TRAINING_PROGRESS_KEY = "qgan-training-progress"
"""Stable key of the training progress artifact."""


def _with_progress_artifact(callback: Any, total: int, every_seconds: float = 2.0) -> Any:
    """Wrap a progress callback so it also moves the ``qgan-training-progress`` artifact (at most every 2 s)."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    artifact_id = create_progress_artifact(0.0, key=TRAINING_PROGRESS_KEY, description=f"qGAN training: 0/{total} epochs")
    last = [time.monotonic()]

    def update(record: EpochRecord) -> None:
        callback(record)
        now = time.monotonic()
        if record.epoch >= total or now - last[0] >= every_seconds:
            last[0] = now
            update_progress_artifact(
                artifact_id, progress=100.0 * min(record.epoch, total) / total,
                description=f"qGAN training: epoch {record.epoch}/{total}, KL {record.kl:.4f}, "
                f"fidelity {record.fidelity:.4f}",
            )

    update.artifact_id = artifact_id  # type: ignore[attr-defined]
    return update


def _train_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of training: the encoding (contract + target), the three configs and the training code.

    Pickles of qiskit circuits are not byte-stable across processes, so the key is built from
    the encoding's serialised contract and histogram rather than from the object itself.
    """
    encoded: Encoding = parameters["encoded"]
    digest = hashlib.sha256()
    digest.update(json.dumps(encoded.contract.to_dict(), sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(encoded.target, dtype=np.float64).tobytes())
    for name in ("circuit", "executor", "training", "hardware", "mitigation"):
        if parameters.get(name) is not None:
            digest.update(parameters[name].model_dump_json().encode())
    for module in (training_module, circuits_module, executors_module, hardware_module, noisy_module, mitigation_module):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(inspect.getsource(train_task.fn).encode())
    return f"train-{digest.hexdigest()}"


@task(
    name="train",
    cache_key_fn=_train_cache_key,
    cache_expiration=timedelta(days=30), persist_result=True)
def train_task(
    encoded: Encoding,
    circuit: CircuitConfig,
    executor: ExecutorConfig,
    training: TrainingConfig,
    show_progress: bool = False,
    checkpoint_dir: str | None = None,
    hardware: HardwareConfig | None = None,
    mitigation: MitigationConfig | None = None,
    publish_progress: bool = True,
) -> tuple[GeneratorCircuit, TrainingResult]:
    """Build the generator circuit and train the qGAN (cached on its inputs)."""
    hardware, mitigation = hardware or HardwareConfig(), mitigation or MitigationConfig()
    generator = build_circuit(encoded, circuit, hardware)
    resume = None
    if checkpoint_dir and training.checkpoint_every:  # a rerun of a killed run resumes from its last checkpoint
        key = _train_cache_key(None, {"encoded": encoded, "circuit": circuit, "executor": executor, "training": training,
                                      "hardware": hardware, "mitigation": mitigation})
        resume = resume_checkpoint(checkpoint_dir, key)
        if resume is not None:
            print(f"qscen: resuming training from checkpoint {resume.name} of an interrupted attempt", file=sys.stderr)
            get_run_logger().warning("resuming training from checkpoint %s", resume)
    callback, bar = _progress_printer(training.epochs, show_progress)
    if publish_progress:  # the qgan-training-progress artifact (a sweep's many trainings skip it)
        callback = _with_progress_artifact(callback, training.epochs)
    options = executor_options(executor, hardware, mitigation, token=_ibm_token(executor))
    try:
        result = train_qgan(
            encoded,
            generator,
            executor=executor.name,
            executor_options=options,
            optimizer=training.optimizer,
            loss=training.loss,
            renyi_alpha=training.renyi_alpha,
            epochs=training.epochs,
            batch_size=training.batch_size,
            generator_lr=training.generator_lr,
            discriminator_lr=training.discriminator_lr,
            betas=training.betas,
            weight_decay=training.weight_decay,
            discriminator_hidden=training.discriminator_hidden,
            generator_steps=training.generator_steps,
            discriminator_steps=training.discriminator_steps,
            shots=executor.shots,
            cobyla_evals=training.cobyla_evals,
            cobyla_rhobeg=training.cobyla_rhobeg,
            kl_tolerance=training.kl_tolerance,
            checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None,
            checkpoint_every=training.checkpoint_every,
            seed=training.seed,
            metrics_every=training.metrics_every,
            threads=executor.threads,
            shot_budget=executor.shot_budget,
            initial_theta=_warm_start(training, encoded, generator),
            resume_from=resume,
            progress=callback,
        )
    finally:
        if bar is not None:
            bar.close()
    last = result.history[-1]
    get_run_logger().info(
        "trained %d epochs in %.1f s: KL %.4f, fidelity %.4f%s",
        result.epochs_run, result.seconds, last.kl, last.fidelity, " (stopped early)" if result.stopped_early else "",
    )
    from prefect.artifacts import update_progress_artifact

    if publish_progress:
        update_progress_artifact(
            callback.artifact_id, progress=100.0,
            description=f"qGAN training done: {result.epochs_run} epochs in {result.seconds:.1f} s, "
            f"KL {last.kl:.4f}, fidelity {last.fidelity:.4f}" + (" (stopped early)" if result.stopped_early else ""),
        )
    if result.stop_reason:
        get_run_logger().warning("%s", result.stop_reason)
    _quantum_telemetry(generator, result, encoded, executor, hardware, mitigation)
    return generator, result


NOISY_EXECUTORS = ("exact_noisy", "aer_density", "ibm")


def build_circuit(encoded: Encoding, circuit: CircuitConfig, hardware: HardwareConfig) -> GeneratorCircuit:
    """The generator the configs describe: prior (full loader or shallow) + ansatz (or the hardware profile)."""
    loader = encoded.loader
    if circuit.prior != "loader":
        prior = encoded.prior
        if prior is None:
            from qiskit.quantum_info import Statevector

            prior = Statevector(encoded.loader).probabilities()
        loader = hardware_module.shallow_prior(encoded.loader, prior, encoded.grid_shape, circuit.prior)
    if circuit.entanglement == "device":
        return hardware_module.build_hardware_generator(
            loader, hardware.backend, reps=circuit.reps, seed=circuit.seed, init_scale=circuit.init_scale,
            layout=hardware.layout, optimization_level=hardware.optimization_level,
        )
    return build_generator(
        loader, ansatz=circuit.ansatz, reps=circuit.reps, entanglement=circuit.entanglement,
        seed=circuit.seed, init_scale=circuit.init_scale,
    )


def executor_options(
    executor: ExecutorConfig, hardware: HardwareConfig, mitigation: MitigationConfig, *, token: str | None = None
) -> dict[str, Any]:
    """The executor's keyword arguments from the configs (the library never reads configs itself)."""
    stack = mitigation.model_dump(exclude={"compare", "compare_shots"})
    stack["zne_scales"] = tuple(stack["zne_scales"])
    active = any(stack[k] for k in ("readout", "twirling", "dd", "zne"))
    if executor.name == "exact":
        return {"dtype": executor.precision, "device": executor.device}
    if executor.name == "exact_noisy":
        options = {"backend": hardware.backend, "seed": hardware.seed_transpiler, "idle_noise": executor.idle_noise,
                   "device": executor.device}
        if active:  # applied exactly and differentiably; twirling is refused there with a clear message
            options["mitigation"] = stack
        return options
    if executor.name == "aer_density":
        return {"noise_backend": executor.noise_backend or hardware.backend, "seed": hardware.seed_transpiler,
                "idle_noise": executor.idle_noise}
    if executor.name in {"aer", "aer_mps"}:
        options: dict[str, Any] = {"seed": executor.seed, "shots": executor.shots, "noise_backend": executor.noise_backend}
        if executor.name == "aer" and active:
            options["mitigation"] = stack
        elif executor.noise_backend is not None:
            options["idle_noise"] = executor.idle_noise
        return options
    if executor.name == "ibm":
        options = {
            "backend": executor.ibm_backend, "token": token, "instance": executor.ibm_instance,
            "mode": executor.ibm_mode, "shots": executor.shots, "seed": executor.seed, "fallback": executor.fallback,
            "fallback_backend": hardware.backend, "twirling": mitigation.twirling, "dd": mitigation.dd,
        }
        if mitigation.readout or mitigation.zne:
            options["mitigation"] = {**stack, "twirling": False, "dd": False}  # those run on the device
        return options
    return {}


def _ibm_token(executor: ExecutorConfig) -> str | None:
    """The IBM token from the named Prefect Secret block; None lets the library read $QISKIT_IBM_TOKEN."""
    if executor.name != "ibm" or not executor.ibm_token_secret:
        return None
    from prefect.blocks.system import Secret

    return Secret.load(executor.ibm_token_secret).get()


def _warm_start(training: TrainingConfig, encoded: Encoding, generator: GeneratorCircuit) -> Any:
    """Parameters of the saved model ``training.warm_start`` (checked against this encoding and circuit)."""
    if training.warm_start is None:
        return None
    from quantum_scenarios.model import load_model

    model = load_model(training.warm_start, expected_contract=encoded.contract)
    if len(model.theta) != generator.num_parameters:
        raise ValueError(
            f"training.warm_start {training.warm_start}: the saved model has {len(model.theta)} parameters, this "
            f"circuit has {generator.num_parameters}; pre-train with the same circuit settings (ansatz, reps, "
            "entanglement, prior) and the exact executor"
        )
    get_run_logger().info("warm start from %s", training.warm_start)
    return model.theta


def _quantum_telemetry(
    generator: GeneratorCircuit, result: TrainingResult, encoded: Encoding, executor: ExecutorConfig,
    hardware: HardwareConfig, mitigation: MitigationConfig,
) -> None:
    """Add the noise section (ideal / noisy / each mitigation / all) to the result's telemetry and publish it."""
    from prefect.artifacts import create_markdown_artifact

    from quantum_scenarios.quantum.mitigation import MitigationOptions, noise_report

    noisy = executor.name in NOISY_EXECUTORS or circuit_is_hardware(generator) or (
        executor.name in {"aer", "aer_mps"} and executor.noise_backend is not None
    )
    telemetry = result.telemetry
    if noisy and mitigation.compare:
        stack = mitigation.model_dump(exclude={"compare", "compare_shots"})
        options = MitigationOptions(**{**stack, "zne_scales": tuple(stack["zne_scales"])})
        device = generator.options.get("backend") or executor.noise_backend or hardware.backend
        telemetry["noise"] = noise_report(
            generator, result.theta, encoded.target, device, shots=mitigation.compare_shots,
            seed=executor.seed, stack=options if options.active else None, note=telemetry.get("fallback"),
        )
    if executor.name in {"aer", "aer_mps"}:  # shot noise of the estimates, on a fresh executor (local shots only)
        from quantum_scenarios.quantum.executors import make_executor
        from quantum_scenarios.quantum.telemetry import gradient_snr, shot_variance

        probe = make_executor(executor.name, generator, **executor_options(executor, hardware, mitigation))
        weights = np.log(np.maximum(np.asarray(encoded.target, dtype=float), 1e-12))
        telemetry["gradient_snr"] = gradient_snr(probe, result.theta, weights, repeats=3, seed=executor.seed)
        telemetry["shot_variance"] = shot_variance(probe, result.theta, repeats=3, seed=executor.seed)
    else:
        telemetry["gradient_snr"] = {"note": f"{executor.name}: gradients are exact (no shot noise)"}
    if telemetry.get("noise"):  # the report shows the run's execution figures in its noise section
        snr, variance = telemetry["gradient_snr"], telemetry.get("shot_variance") or {}
        telemetry["noise"]["execution"] = {
            **{k: telemetry.get(k) for k in ("executor", "circuits", "shots", "jobs", "job_success_rate",
                                               "mean_latency_s", "shot_budget")},
            "gradient_snr_median": snr.get("median_snr", snr.get("note")),
            "shot_variance_ratio": variance.get("ratio"),
            "stopped": result.stop_reason,
        }
    lines = ["# Quantum telemetry", "", "| figure | value |", "|---|---|"]
    for key in ("executor", "circuits", "shots", "jobs", "job_success_rate", "mean_latency_s", "shot_budget", "fallback"):
        lines.append(f"| {key} | {telemetry.get(key)} |")
    snr = telemetry["gradient_snr"]
    lines.append(f"| gradient SNR (median) | {snr.get('median_snr', snr.get('note'))} |")
    if "shot_variance" in telemetry:
        lines.append(f"| shot variance / multinomial | {telemetry['shot_variance']['ratio']} |")
    if result.stop_reason:
        lines.append(f"| stopped | {result.stop_reason} |")
    noise = telemetry.get("noise")
    if noise:
        t = noise["circuit"].get("transpiled", {})
        lines += ["", f"Transpiled on {noise['backend']}: depth {t.get('depth')}, 2-qubit gates {t.get('two_qubit_gates')}, "
                  f"estimated success probability {t.get('estimated_success_probability', float('nan')):.3f}", "",
                  "| option | fidelity | recovered | circuits | shots |", "|---|---|---|---|---|"]
        lines += [f"| {r['option']} | {r['fidelity']:.4f} | {r['recovered']:.2f} | {r['circuits']} | {r['shots']} |"
                  for r in noise["rows"]]
    create_markdown_artifact("\n".join(lines), key="quantum-telemetry", description="circuits, shots, jobs, noise and mitigation")


def circuit_is_hardware(generator: GeneratorCircuit) -> bool:
    """Whether the generator is the hardware profile (device couplings)."""
    return generator.options.get("entanglement") == "device"


@task(name="save-model", retries=2, retry_delay_seconds=2)
def save_model_task(run: RunContext, generator: GeneratorCircuit, result: TrainingResult, encoded: Encoding) -> str:
    """Write the model folder (QPY circuit, parameters, probabilities, contract, discriminator)."""
    path = save_model(
        run.layout.model_dir,
        generator=generator,
        theta=np.asarray(result.theta),
        probabilities=np.asarray(result.probabilities),
        encoding=encoded,
        discriminator=result.discriminator,
        history=result.history_frame(),
        metadata=run.metadata(),
    )
    return str(path)
