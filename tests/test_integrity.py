"""Integrity: load_model refuses models whose files disagree; `qscen verify` checks a whole run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qscen.cli import main
from quantum_scenarios.encoding import encode
from quantum_scenarios.gan.training import train_qgan
from quantum_scenarios.integrity import (
    IntegrityError,
    model_file_checksums,
    rederive_probabilities,
    verify_model,
    verify_run,
)
from quantum_scenarios.io import write_manifest
from quantum_scenarios.model import load_model, save_model
from quantum_scenarios.quantum.circuits import build_generator


def rechecksum(model_dir) -> None:
    """Record the current files' checksums, as if whoever changed them also updated model.json."""
    info = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    info["files"] = model_file_checksums(model_dir)
    (model_dir / "model.json").write_text(json.dumps(info), encoding="utf-8")


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=400), columns=["AAA", "BBB"])
    encoding = encode(frame, num_qubits=2, loader="normal")
    generator = build_generator(encoding.loader, ansatz="ry_cz", reps=1, seed=2)
    result = train_qgan(encoding, generator, epochs=4, batch_size=64, discriminator_hidden=(6,), seed=4)
    return encoding, generator, result


@pytest.fixture
def run_dir(tmp_path, trained):
    """A committed-looking run: market file, model folder and manifest."""
    encoding, generator, result = trained
    run = tmp_path / "data" / "runs" / "r1"
    (run / "market").mkdir(parents=True)
    (run / "market" / "returns.parquet").write_bytes(b"PAR1 returns PAR1")
    save_model(run / "model", generator=generator, theta=result.theta, probabilities=result.probabilities,
               encoding=encoding, discriminator=result.discriminator, history=result.history,
               metadata={"config": {"executor": {"name": "exact"}}})
    write_manifest(run, config={}, seeds={}, metrics={})
    return run


def test_a_saved_model_passes_every_check(run_dir) -> None:
    report = verify_model(run_dir / "model")
    assert report.ok, report.describe()
    names = [c.name for c in report.checks]
    assert "model file discriminator.pt" in names and "encoding contract vs its bounds" in names
    assert any(n.startswith("probabilities re-derived from circuit.qpy") for n in names)
    load_model(run_dir / "model")


def _flip_byte(path, offset: int = -5) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["probabilities.npy", "discriminator.pt", "target.npy", "circuit.qpy"])
def test_a_flipped_byte_is_refused_by_load_model_naming_the_file(run_dir, name: str) -> None:
    _flip_byte(run_dir / "model" / name)
    with pytest.raises(IntegrityError, match=rf"refused, its files disagree: model file {name}: sha256 .* differs "
                                             r"from the recorded .*qscen verify"):
        load_model(run_dir / "model")


def test_a_replaced_target_is_refused(run_dir, trained) -> None:
    encoding = trained[0]
    np.save(run_dir / "model" / "target.npy", np.full(encoding.target.size, 1 / encoding.target.size))
    with pytest.raises(IntegrityError, match="model file target.npy: sha256"):
        load_model(run_dir / "model")


def test_probabilities_summing_to_one_and_a_half_are_refused_even_with_fresh_checksums(run_dir) -> None:
    model = run_dir / "model"
    p = np.load(model / "probabilities.npy")
    np.save(model / "probabilities.npy", p * 1.5)
    rechecksum(model)
    with pytest.raises(IntegrityError, match=r"probabilities.npy is a distribution: sums to 1.5, expected 1"):
        load_model(model)


def test_parameters_that_no_longer_reproduce_the_probabilities_are_refused(run_dir) -> None:
    model = run_dir / "model"
    values = json.loads((model / "parameters.json").read_text(encoding="utf-8"))
    first = next(iter(values))
    values[first] += 0.3
    (model / "parameters.json").write_text(json.dumps(values), encoding="utf-8")
    rechecksum(model)
    with pytest.raises(IntegrityError, match=r"probabilities re-derived from circuit.qpy \+ parameters.json \(qiskit "
                                             r"Statevector\): max deviation .* parameters.json and circuit.qpy no "
                                             r"longer give probabilities.npy"):
        load_model(model)


def test_bounds_multiplied_by_ten_are_refused(run_dir) -> None:
    model = run_dir / "model"
    contract = json.loads((model / "encoding.json").read_text(encoding="utf-8"))
    contract["bounds"] = [[10 * lo, 10 * hi] for lo, hi in contract["bounds"]]
    (model / "encoding.json").write_text(json.dumps(contract), encoding="utf-8")
    rechecksum(model)
    with pytest.raises(IntegrityError, match=r"encoding contract vs its bounds: asset 'AAA': bounds .* but bin edges "
                                             r"run from .*the contract was edited"):
        load_model(model)


def test_rederived_probabilities_equal_statevector_of_the_bound_circuit(trained) -> None:
    from qiskit.quantum_info import Statevector

    _, generator, result = trained
    expected = Statevector(generator.bind(result.theta)).probabilities()
    np.testing.assert_allclose(rederive_probabilities(generator.circuit, result.theta), expected, atol=1e-12)
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-10)


def test_verify_run_checks_every_manifest_checksum_and_finds_added_files(run_dir) -> None:
    assert verify_run(run_dir).ok
    (run_dir / "market" / "returns.parquet").write_bytes(b"PAR1 changed PAR1")
    (run_dir / "extra.txt").write_text("x")
    report = verify_run(run_dir)
    failed = {c.name: c.detail for c in report.failures}
    assert "differs from the recorded" in failed["file market/returns.parquet"]
    assert failed["no unlisted files"] == "1 file(s) not in the manifest: ['extra.txt']"
    assert report.headline().startswith("FAILED: 3 of")


def test_qscen_verify_exits_zero_on_a_good_run_and_one_on_a_damaged_one(run_dir, capsys) -> None:
    workdir = run_dir.parent.parent.parent
    assert main(["verify", "r1", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    assert "ok   manifest checksums" in out and out.rstrip().endswith("checks passed")
    _flip_byte(run_dir / "model" / "discriminator.pt")
    assert main(["verify", str(run_dir)]) == 1
    out = capsys.readouterr().out
    assert "FAIL file model/discriminator.pt: sha256" in out and "FAIL model file discriminator.pt" in out
    assert main(["verify", "nope", "--workdir", str(workdir)]) == 1
    assert "qscen verify: error: run 'nope' not found:" in capsys.readouterr().err
