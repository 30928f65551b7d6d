"""Model files: a trained generator saved as a directory, and loaded back to sample again.

Layout of a model directory:

==================  ==============================================================
file                content
==================  ==============================================================
``circuit.qpy``     the parameterised generator circuit (loader + ansatz), qiskit QPY
``parameters.json`` parameter name → trained value (``{"θ[0]": 0.12, ...}``)
``probabilities.npy`` the generator's distribution over the grid, as the executor computed it
``encoding.json``   the encoding contract (:class:`~quantum_scenarios.encoding.EncodingContract`)
``target.npy``      the training histogram on the same grid
``discriminator.pt`` discriminator ``state_dict`` and architecture (``torch.save`` of a dict)
``history.csv``     one row per training epoch
``model.json``      format version, how the generator was built, encoding counts, free metadata
==================  ==============================================================

The directory is written atomically: everything goes into a temporary sibling
folder that is then renamed into place (an existing model is swapped out and
removed only after the new one is in place), so a failure never leaves a
half-written model.

Note:
    ``probabilities.npy`` holds *probabilities* over basis states in qiskit's
    order (see :mod:`quantum_scenarios.encoding` for the qubit order), not
    amplitudes. For the ``exact`` executor they equal
    ``Statevector(circuit bound with parameters.json).probabilities()``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from qiskit import QuantumCircuit, qpy
from qiskit.quantum_info import Statevector

from quantum_scenarios.encoding import Encoding, EncodingContract
from quantum_scenarios.errors import EncodingContractError, ModelNotTrainedError
from quantum_scenarios.gan.discriminator import Discriminator
from quantum_scenarios.gan.training import EpochRecord
from quantum_scenarios.integrity import (
    Check,
    IntegrityError,
    check_checksums,
    check_contract_grid,
    check_distribution,
    check_rederived,
    model_file_checksums,
    rederive_probabilities,
)
from quantum_scenarios.quantum.circuits import GeneratorCircuit

__all__ = ["MODEL_FILES", "MODEL_FORMAT", "TrainedGenerator", "load_model", "save_model"]

MODEL_FORMAT = 1
"""Version of the model-directory layout (stored in ``model.json``)."""

MODEL_FILES = (
    "circuit.qpy",
    "parameters.json",
    "probabilities.npy",
    "encoding.json",
    "target.npy",
    "discriminator.pt",
    "model.json",
)
"""Files a model directory must hold (``history.csv`` is optional on load)."""


@dataclass
class TrainedGenerator:
    """A trained qGAN generator, as loaded from a model directory.

    Attributes:
        generator: The generator circuit (loader, ansatz, ordered parameters).
        theta: Trained parameter values, in ``generator.parameters`` order.
        probabilities: The generator's distribution over the grid, ``(2**N,)``.
        encoding: The encoding: contract, training histogram (``target``), loader.
        discriminator: The trained discriminator.
        history_frame: Training history, one row per epoch (empty if none was saved).
        metadata: Free metadata saved with the model (config, seeds, metrics...).
    """

    generator: GeneratorCircuit
    theta: np.ndarray
    probabilities: np.ndarray
    encoding: Encoding
    discriminator: Discriminator
    history_frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def contract(self) -> EncodingContract:
        """The encoding contract the model was trained on."""
        return self.encoding.contract

    def bound_circuit(self) -> QuantumCircuit:
        """The generator circuit with the trained parameters assigned."""
        return self.generator.bind(self.theta)

    def sample(self, size: int, *, seed: int | np.random.Generator, dequantise: bool = True) -> np.ndarray:
        """Draw ``size`` joint values ``(size, d)`` from the generator's distribution.

        Args:
            size: Number of draws.
            seed: Seed or numpy Generator.
            dequantise: Draw uniformly inside each bin (else return bin centres).
        """
        return self.encoding.sample(self.probabilities, size, seed=seed, dequantise=dequantise)


def save_model(
    model_dir: str | os.PathLike,
    *,
    generator: GeneratorCircuit,
    theta: Any,
    probabilities: Any,
    encoding: Encoding,
    discriminator: Discriminator,
    history: pd.DataFrame | Sequence[Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write a trained generator to ``model_dir`` atomically (replacing an existing model).

    Args:
        model_dir: Target directory; its parent is created if needed.
        generator: The generator circuit.
        theta: Trained values in ``generator.parameters`` order, shape ``(P,)``.
        probabilities: The generator's distribution over the grid, shape ``(2**N,)``.
        encoding: The encoding trained on (contract and target histogram are saved).
        discriminator: The trained discriminator.
        history: Epoch records (``TrainingResult.history``) or a frame; None writes an empty history.
        metadata: JSON-serialisable extra information (config, seeds, metrics).

    Returns:
        The model directory.

    Raises:
        TypeError: Arguments of the wrong type, or metadata that is not JSON-serialisable.
        ValueError: ``theta`` or ``probabilities`` of the wrong shape, or a generator whose
            width does not match the encoding.
    """
    model_dir = Path(model_dir)
    if not isinstance(generator, GeneratorCircuit):
        raise TypeError(f"generator must be a GeneratorCircuit, received {type(generator).__name__}")
    if not isinstance(encoding, Encoding):
        raise TypeError(f"encoding must be an Encoding, received {type(encoding).__name__}")
    if not isinstance(discriminator, Discriminator):
        raise TypeError(f"discriminator must be a Discriminator, received {type(discriminator).__name__}")
    theta_arr = _as_numpy(theta)
    if theta_arr.shape != (generator.num_parameters,):
        raise ValueError(f"theta must have shape ({generator.num_parameters},), received {theta_arr.shape}")
    size = 2**generator.num_qubits
    if generator.num_qubits != encoding.num_qubits_total:
        raise ValueError(
            f"generator has {generator.num_qubits} qubits but the encoding has {encoding.num_qubits_total}; "
            "save the generator together with the encoding it was trained on"
        )
    probs = _as_numpy(probabilities)
    if probs.shape != (size,):
        raise ValueError(f"probabilities must have shape ({size},), received {probs.shape}")
    try:
        metadata_json = json.dumps(
            {
                "format": MODEL_FORMAT,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "generator": {
                    "options": generator.options,
                    "loader_instructions": len(generator.loader.data),
                    "initial_point": _as_numpy(generator.initial_point).tolist(),
                },
                "encoding": {"clipped": dict(encoding.clipped), "n_observations": int(encoding.n_observations)},
                "metadata": metadata or {},
            },
            indent=2,
            default=_json_default,
        )
    except TypeError as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from exc

    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = model_dir.parent / f".{model_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        with open(staging / "circuit.qpy", "wb") as handle:
            qpy.dump(generator.circuit, handle)
        names = [p.name for p in generator.parameters]
        (staging / "parameters.json").write_text(
            json.dumps(dict(zip(names, theta_arr.tolist())), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        np.save(staging / "probabilities.npy", probs)
        encoding.contract.to_json(staging / "encoding.json")
        np.save(staging / "target.npy", np.asarray(encoding.target, dtype=float))
        torch.save(
            {"architecture": discriminator.architecture(), "state_dict": discriminator.state_dict()},
            staging / "discriminator.pt",
        )
        _history_frame(history).to_csv(staging / "history.csv", index=False)
        info = json.loads(metadata_json)
        info["files"] = model_file_checksums(staging)  # load_model and `qscen verify` check them
        (staging / "model.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        _swap_into_place(staging, model_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return model_dir


def load_model(model_dir: str | os.PathLike, *, expected_contract: EncodingContract | None = None) -> TrainedGenerator:
    """Load a model directory written by :func:`save_model`.

    Args:
        model_dir: The model directory.
        expected_contract: If given, the model's contract must be compatible with it
            (e.g. the contract of the data the model is about to meet).

    Returns:
        The trained generator, ready to sample.

    Raises:
        ModelNotTrainedError: The directory or one of its files is missing, unreadable or
            inconsistent (the message names the file).
        IntegrityError: A file differs from the checksum recorded at save time, a vector is not a
            distribution, the contract disagrees with its bounds, or the probabilities re-derived
            from ``circuit.qpy`` and ``parameters.json`` with qiskit differ from ``probabilities.npy``
            (see :mod:`quantum_scenarios.integrity`).
        EncodingContractError: The model's contract does not match ``expected_contract``.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelNotTrainedError(f"model directory {model_dir} does not exist; train a model first (qscen train)")
    missing = [name for name in MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise ModelNotTrainedError(
            f"model directory {model_dir} is incomplete: missing {', '.join(missing)}; "
            f"expected all of {list(MODEL_FILES)}. Retrain the model (qscen train)."
        )
    info = _read(model_dir / "model.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    _refuse(model_dir, [c for c in check_checksums(model_dir, info.get("files") or {}, label="model file") if not c.ok])
    contract = _read(model_dir / "encoding.json", EncodingContract.from_json)
    if expected_contract is not None:
        expected_contract.check_compatible(contract)
    if info.get("format") != MODEL_FORMAT:
        raise ModelNotTrainedError(
            f"{model_dir / 'model.json'}: model format {info.get('format')!r}, expected {MODEL_FORMAT}; "
            "load it with the quantum-scenarios version that wrote it, or retrain"
        )
    circuit = _read(model_dir / "circuit.qpy", _load_circuit)
    parameters = list(circuit.parameters)
    values = _read(model_dir / "parameters.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    names = [p.name for p in parameters]
    if not isinstance(values, dict) or sorted(values) != sorted(names):
        raise ModelNotTrainedError(
            f"{model_dir / 'parameters.json'}: parameter names do not match circuit.qpy "
            f"(expected {len(names)} names like {names[:3]}, received {list(values)[:3]}...); the files belong to different models"
        )
    theta = np.array([float(values[n]) for n in names])
    size = 2**circuit.num_qubits
    if sum(contract.num_qubits) != circuit.num_qubits:
        raise ModelNotTrainedError(
            f"{model_dir / 'encoding.json'}: contract has {sum(contract.num_qubits)} qubits, circuit.qpy has "
            f"{circuit.num_qubits}; the files belong to different models"
        )
    probabilities = _read_vector(model_dir / "probabilities.npy", size)
    target = _read_vector(model_dir / "target.npy", size)
    _refuse(model_dir, [c for c in (
        check_distribution("probabilities.npy", probabilities),
        check_distribution("target.npy", target),
        check_contract_grid(contract),
        check_rederived(probabilities, rederive_probabilities(circuit, theta), dict(info.get("metadata") or {})),
    ) if not c.ok])
    disc_state = _read(model_dir / "discriminator.pt", lambda p: torch.load(p, map_location="cpu", weights_only=True))
    try:
        discriminator = Discriminator.from_architecture(disc_state["architecture"])
        discriminator.load_state_dict(disc_state["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise ModelNotTrainedError(f"{model_dir / 'discriminator.pt'}: cannot rebuild the discriminator ({exc})") from exc

    generator_info = info.get("generator", {})
    loader, ansatz = _split(circuit, int(generator_info.get("loader_instructions", 0)))
    generator = GeneratorCircuit(
        circuit=circuit,
        loader=loader,
        ansatz=ansatz,
        parameters=parameters,
        initial_point=np.asarray(generator_info.get("initial_point", np.zeros(len(parameters))), dtype=float),
        options=dict(generator_info.get("options", {})),
    )
    counts = info.get("encoding", {})
    encoding = Encoding(
        contract=contract,
        target=target,
        loader=loader,
        clipped={str(k): int(v) for k, v in counts.get("clipped", {}).items()},
        n_observations=int(counts.get("n_observations", 0)),
        prior=Statevector(loader).probabilities(),
    )
    history_path = model_dir / "history.csv"
    history = _read(history_path, _read_history) if history_path.is_file() else pd.DataFrame()
    return TrainedGenerator(
        generator=generator,
        theta=theta,
        probabilities=probabilities,
        encoding=encoding,
        discriminator=discriminator,
        history_frame=history,
        metadata=dict(info.get("metadata", {})),
    )


# -- helpers ------------------------------------------------------------------------------------


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, dt.date)):
        return str(value)
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


def _history_frame(history: pd.DataFrame | Sequence[Any] | None) -> pd.DataFrame:
    if history is None:
        return pd.DataFrame(columns=[f.name for f in dataclasses.fields(EpochRecord)])
    if isinstance(history, pd.DataFrame):
        return history
    return pd.DataFrame([dataclasses.asdict(r) if dataclasses.is_dataclass(r) else dict(r) for r in history])


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` is removed only once the new one is in place."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _refuse(model_dir: Path, failed: list[Check]) -> None:
    if failed:
        reasons = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        raise IntegrityError(
            f"model {model_dir} refused, its files disagree: {reasons}. Retrain the model (qscen run), or restore "
            "the folder from a copy that passes `qscen verify`."
        )


def _read(path: Path, reader: Any) -> Any:
    try:
        return reader(path)
    except (EncodingContractError, ModelNotTrainedError):
        raise
    except Exception as exc:  # any parse failure: name the file, keep the cause
        raise ModelNotTrainedError(f"{path}: cannot be read ({type(exc).__name__}: {exc}); retrain the model") from exc


def _read_history(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _load_circuit(path: Path) -> QuantumCircuit:
    with open(path, "rb") as handle:
        circuits = qpy.load(handle)
    if len(circuits) != 1 or not isinstance(circuits[0], QuantumCircuit):
        raise ValueError(f"expected one QuantumCircuit, found {len(circuits)} programs")
    return circuits[0]


def _read_vector(path: Path, size: int) -> np.ndarray:
    vector = _read(path, lambda p: np.load(p, allow_pickle=False))
    if vector.shape != (size,):
        raise ModelNotTrainedError(f"{path}: expected shape ({size},) for the circuit's {size} basis states, found {vector.shape}")
    return np.asarray(vector, dtype=float)


def _split(circuit: QuantumCircuit, loader_instructions: int) -> tuple[QuantumCircuit, QuantumCircuit]:
    """The loader (first ``loader_instructions`` instructions, on the named registers) and the ansatz."""
    loader = QuantumCircuit(*circuit.qregs, name="loader")
    for instruction in circuit.data[:loader_instructions]:
        loader.append(instruction)
    ansatz = QuantumCircuit(circuit.num_qubits, name="ansatz")
    for instruction in circuit.data[loader_instructions:]:
        ansatz.append(instruction.operation, [circuit.find_bit(q).index for q in instruction.qubits])
    return loader, ansatz
