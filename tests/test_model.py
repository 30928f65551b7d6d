"""Tests of the model directory: save, load, recompute with qiskit, sample, and refuse bad models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from qiskit import qpy
from qiskit.quantum_info import Statevector

from quantum_scenarios.encoding import encode
from quantum_scenarios.errors import EncodingContractError, ModelNotTrainedError
from quantum_scenarios.gan.training import train_qgan
from quantum_scenarios.model import MODEL_FILES, TrainedGenerator, load_model, save_model
from quantum_scenarios.quantum.circuits import build_generator


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, -0.4], [-0.4, 2]], size=400), columns=["SPX", "WTI"])
    encoding = encode(frame, num_qubits=2, loader="normal")
    generator = build_generator(encoding.loader, ansatz="efficient_su2", reps=1, seed=2)
    result = train_qgan(encoding, generator, epochs=5, batch_size=64, discriminator_hidden=(6, 4), seed=4)
    return encoding, generator, result


@pytest.fixture
def saved(tmp_path, trained):
    encoding, generator, result = trained
    return save_model(
        tmp_path / "model",
        generator=generator,
        theta=result.theta,
        probabilities=result.probabilities,
        encoding=encoding,
        discriminator=result.discriminator,
        history=result.history,
        metadata={"seed": 4, "note": "unit test", "lr": np.float64(0.01)},
    )


def test_directory_holds_every_file(saved):
    assert sorted(p.name for p in saved.iterdir()) == sorted([*MODEL_FILES, "history.csv"])
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_qpy_circuit_bound_with_parameters_json_reproduces_probabilities(saved):
    with open(saved / "circuit.qpy", "rb") as handle:
        (circuit,) = qpy.load(handle)
    values = json.loads((saved / "parameters.json").read_text(encoding="utf-8"))
    bound = circuit.assign_parameters({p: values[p.name] for p in circuit.parameters})
    np.testing.assert_allclose(
        Statevector(bound).probabilities(), np.load(saved / "probabilities.npy"), rtol=0, atol=1e-10
    )


def test_load_round_trip_and_sample_again(saved, trained):
    encoding, generator, result = trained
    model = load_model(saved, expected_contract=encoding.contract)
    assert isinstance(model, TrainedGenerator)
    np.testing.assert_array_equal(model.theta, result.theta)
    np.testing.assert_array_equal(model.probabilities, result.probabilities)
    np.testing.assert_array_equal(model.encoding.target, encoding.target)
    assert model.contract == encoding.contract
    assert [p.name for p in model.generator.parameters] == [p.name for p in generator.parameters]
    np.testing.assert_array_equal(model.generator.initial_point, generator.initial_point)
    assert model.generator.options == generator.options
    # the rebuilt loader is the original prior, and loader + ansatz make up the circuit again
    np.testing.assert_allclose(model.encoding.prior, encoding.prior, atol=1e-12)
    assert len(model.generator.loader.data) + len(model.generator.ansatz.data) == len(model.generator.circuit.data)
    assert model.encoding.n_observations == encoding.n_observations and model.encoding.clipped == encoding.clipped
    np.testing.assert_allclose(Statevector(model.bound_circuit()).probabilities(), model.probabilities, atol=1e-10)
    # the discriminator is the trained one
    x = torch.as_tensor(encoding.values())
    torch.testing.assert_close(model.discriminator(x), result.discriminator(x), rtol=0, atol=0)
    pd.testing.assert_frame_equal(model.history_frame, result.history_frame(), check_exact=False, rtol=1e-12)
    assert model.metadata == {"seed": 4, "note": "unit test", "lr": 0.01}
    # sampling again follows probabilities.npy (bin centres, seeded)
    draws = model.sample(20_000, seed=0, dequantise=False)
    counts = np.bincount(encoding.digitize(draws), minlength=16) / 20_000
    np.testing.assert_allclose(counts, model.probabilities, atol=0.015)
    np.testing.assert_array_equal(model.sample(50, seed=1), model.sample(50, seed=1))


def test_saving_again_replaces_the_model_atomically(saved, trained):
    encoding, generator, result = trained
    theta = result.theta + 0.5
    probabilities = Statevector(generator.bind(theta)).probabilities()
    save_model(saved, generator=generator, theta=theta, probabilities=probabilities, encoding=encoding,
               discriminator=result.discriminator)
    model = load_model(saved)
    np.testing.assert_array_equal(model.theta, theta)
    assert model.history_frame.empty
    assert [p.name for p in saved.parent.iterdir()] == ["model"]


def test_failed_save_leaves_the_previous_model_untouched(saved, trained):
    encoding, generator, result = trained
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        save_model(saved, generator=generator, theta=result.theta, probabilities=result.probabilities,
                   encoding=encoding, discriminator=result.discriminator, metadata={"bad": object()})
    with pytest.raises(ValueError, match=r"probabilities must have shape \(16,\)"):
        save_model(saved, generator=generator, theta=result.theta, probabilities=np.ones(8),
                   encoding=encoding, discriminator=result.discriminator)
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before
    assert [p.name for p in saved.parent.iterdir()] == ["model"]


@pytest.mark.parametrize("missing", ["circuit.qpy", "parameters.json", "target.npy", "discriminator.pt"])
def test_missing_file_is_named(saved, missing):
    (saved / missing).unlink()
    with pytest.raises(ModelNotTrainedError, match=rf"incomplete: missing {missing}"):
        load_model(saved)


def rechecksum(model_dir) -> None:
    """Record the current files' checksums, as if whoever changed them also updated model.json."""
    from quantum_scenarios.integrity import model_file_checksums

    info = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    info["files"] = model_file_checksums(model_dir)
    (model_dir / "model.json").write_text(json.dumps(info), encoding="utf-8")


def test_missing_directory_and_corrupt_files_are_reported(tmp_path, saved):
    with pytest.raises(ModelNotTrainedError, match="does not exist; train a model first"):
        load_model(tmp_path / "nowhere")
    np.save(saved / "probabilities.npy", np.ones(3))
    with pytest.raises(ModelNotTrainedError, match=r"model file probabilities.npy: sha256 .* differs from the recorded"):
        load_model(saved)
    rechecksum(saved)
    with pytest.raises(ModelNotTrainedError, match=r"probabilities.npy: expected shape \(16,\)"):
        load_model(saved)
    (saved / "parameters.json").write_text('{"x": 1.0}', encoding="utf-8")
    rechecksum(saved)
    with pytest.raises(ModelNotTrainedError, match="parameters.json: parameter names do not match circuit.qpy"):
        load_model(saved)
    (saved / "circuit.qpy").write_bytes(b"not qpy")
    rechecksum(saved)
    with pytest.raises(ModelNotTrainedError, match="circuit.qpy: cannot be read"):
        load_model(saved)


def test_contract_mismatch_is_refused(saved):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 2)), columns=["SPX", "WTI"])
    other = encode(frame, num_qubits=2, loader="normal")
    with pytest.raises(EncodingContractError, match="encoding contract mismatch: .*bounds"):
        load_model(saved, expected_contract=other.contract)
