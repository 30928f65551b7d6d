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
from pathlib import Path
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.logging import get_run_logger

from quantum_scenarios.config import CircuitConfig, EncodingConfig, ExecutorConfig, TrainingConfig
from quantum_scenarios.encoding import Encoding, encode
from quantum_scenarios.gan import training as training_module
from quantum_scenarios.gan.training import EpochRecord, TrainingResult, train_qgan
from quantum_scenarios.quantum import circuits as circuits_module
from quantum_scenarios.quantum import executors as executors_module
from quantum_scenarios.model import save_model
from quantum_scenarios.quantum.circuits import GeneratorCircuit, build_generator
from quantum_scenarios.runs import RunLayout

_CACHE = INPUTS + TASK_SOURCE


@task(name="encode", cache_policy=_CACHE, cache_expiration=timedelta(days=30), persist_result=True)
def encode_task(values: pd.DataFrame, encoding: EncodingConfig, transform: str) -> Encoding:
    """Discretise the training values onto the qubit grid and build the prior loader."""
    result = encode(
        values,
        num_qubits=encoding.num_qubits,
        bounds=encoding.bounds,
        quantiles=encoding.quantiles,
        margin=encoding.margin,
        loader=encoding.loader,
        transform=transform,
    )
    clipped = {k: v for k, v in result.clipped.items() if v}
    get_run_logger().info(
        "encoded %d observations of %s on %s qubits; clipped into edge bins: %s",
        result.n_observations, ", ".join(result.contract.assets), list(result.contract.num_qubits),
        clipped or "none",
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
            bar.set_postfix(kl=f"{record.kl:.4f}", fid=f"{record.fidelity:.4f}", refresh=False)
            if record.epoch >= total:
                bar.close()

        return update, bar

    every = max(1, total // 10)

    def log(record: EpochRecord) -> None:
        if record.epoch % every == 0:
            logger.info("epoch %d/%d  KL %.4f  fidelity %.4f", record.epoch, total, record.kl, record.fidelity)

    return log, None


def _train_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of training: the encoding (contract + target), the three configs and the training code.

    Pickles of qiskit circuits are not byte-stable across processes, so the key is built from
    the encoding's serialised contract and histogram rather than from the object itself.
    """
    encoded: Encoding = parameters["encoded"]
    digest = hashlib.sha256()
    digest.update(json.dumps(encoded.contract.to_dict(), sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(encoded.target, dtype=np.float64).tobytes())
    for name in ("circuit", "executor", "training"):
        digest.update(parameters[name].model_dump_json().encode())
    for module in (training_module, circuits_module, executors_module):
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
) -> tuple[GeneratorCircuit, TrainingResult]:
    """Build the generator circuit and train the qGAN (cached on its inputs)."""
    generator = build_generator(
        encoded.loader,
        ansatz=circuit.ansatz,
        reps=circuit.reps,
        entanglement=circuit.entanglement,
        seed=circuit.seed,
        init_scale=circuit.init_scale,
    )
    callback, bar = _progress_printer(training.epochs, show_progress)
    options: dict[str, Any] = {}
    if executor.name == "exact":
        options = {"dtype": executor.precision, "device": executor.device}
    elif executor.name in {"aer", "aer_mps"}:
        options = {"seed": executor.seed, "shots": executor.shots, "noise_backend": executor.noise_backend}
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
    return generator, result


@task(name="save-model", retries=2, retry_delay_seconds=2)
def save_model_task(
    layout: RunLayout, generator: GeneratorCircuit, result: TrainingResult, encoded: Encoding, metadata: dict
) -> str:
    """Write the model folder (QPY circuit, parameters, probabilities, contract, discriminator)."""
    path = save_model(
        layout.model_dir,
        generator=generator,
        theta=np.asarray(result.theta),
        probabilities=np.asarray(result.probabilities),
        encoding=encoded,
        discriminator=result.discriminator,
        history=result.history_frame(),
        metadata=metadata,
    )
    return str(path)
