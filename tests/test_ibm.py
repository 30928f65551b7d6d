"""executor=ibm through SamplerV2 in qiskit-ibm-runtime's local testing mode; the token never leaks."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from qiskit import QuantumCircuit

from quantum_scenarios.quantum import hardware as hw
from quantum_scenarios.quantum.executors import fake_backend, make_executor
from quantum_scenarios.quantum.ibm import IBMExecutor, IBMUnavailableError, resolve_token
from quantum_scenarios.quantum.noisy import NoisyDensityMatrixExecutor
from quantum_scenarios.quantum.telemetry import execution_summary

TOKEN = "tok-7f3a9c-DO-NOT-LEAK-5521"


@pytest.fixture(scope="module")
def generator():
    prior = QuantumCircuit(3)
    prior.h(range(3))
    return hw.build_hardware_generator(prior, fake_backend("FakeManilaV2"), reps=1, seed=4, init_scale=1.0)


def test_local_testing_mode_samples_the_device_noise_in_one_job(generator):
    executor = IBMExecutor(generator, backend="FakeManilaV2", shots=20000, seed=3)
    p = executor.probabilities(generator.initial_point)
    # local testing mode simulates with the fake device's own noise model (built from its
    # BackendProperties, e.g. asymmetric readout errors); its exact distribution, from Aer's density matrix:
    from qiskit_aer import AerSimulator

    from quantum_scenarios.quantum.executors import _readout_channels

    device = executor.backend
    noise = device._get_noise_model_from_backend_v2()
    bound = executor.transpiled.assign_parameters(
        {q: generator.initial_point[generator.parameters.index(q)] for q in executor.transpiled.parameters}
    )
    simulator = AerSimulator(method="density_matrix", noise_model=noise)
    exact = np.asarray(simulator.run(_readout_channels(bound, noise)).result().data(0)["probabilities"])
    assert 0.5 * np.abs(p - exact).sum() < 0.02  # shot noise of 20,000 shots over 8 outcomes
    # the Target-based model (NoiseModel.from_backend, exact_noisy) differs from it only slightly
    reference = NoisyDensityMatrixExecutor(generator, backend="FakeManilaV2", idle_noise=False, seed=3)
    assert 0.5 * np.abs(reference.probabilities(generator.initial_point).numpy() - exact).sum() < 0.06
    grad = executor.parameter_shift_gradient(generator.initial_point, np.arange(8.0), seed=5)
    exact_grad = reference.parameter_shift_gradient(generator.initial_point, np.arange(8.0))
    assert np.abs(grad - exact_grad).max() < 0.3
    provenance = executor.provenance()
    assert provenance["local_testing_mode"] and provenance["backend"] == "fake_manila"
    assert len(provenance["job_ids"]) == 2  # one job for the distribution, one for all 2P shifted points
    assert executor.ledger.circuits == 1 + 2 * generator.num_parameters
    assert executor.seeds == [3 + 1_000_003, 5]
    draws = executor.sample(generator.initial_point, 100, seed=1)
    assert draws.shape == (100,) and draws.max() < 8


def test_batch_mode_and_device_options_are_recorded(generator):
    executor = make_executor("ibm", generator, backend="FakeManilaV2", mode="batch", shots=100, twirling=True, dd=True)
    executor.probabilities(generator.initial_point, seed=1)
    executor.close()
    provenance = executor.provenance()
    assert provenance["mode"] == "batch" and provenance["device_options"]["twirling"]
    assert provenance["device_options_applied"] is False  # local testing mode ignores them
    assert executor.sampler.sampler.options.twirling.enable_gates is True


def test_without_a_token_the_error_says_what_to_set(generator, monkeypatch):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    assert resolve_token(None) is None
    with pytest.raises(IBMUnavailableError, match=r"no IBM Quantum token: set \$QISKIT_IBM_TOKEN or a Prefect Secret"):
        IBMExecutor(generator, backend="ibm_brisbane")


def test_token_never_leaks_and_fallback_says_so(generator, monkeypatch, caplog):
    """The service fails with a message that contains the token: nothing we record may contain it."""
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    seen = {}

    def service(**kwargs):
        seen.update(kwargs)
        raise ConnectionError(f"could not authenticate with token {kwargs['token']}")

    caplog.set_level(logging.DEBUG)
    with pytest.raises(IBMUnavailableError) as error:
        IBMExecutor(generator, backend="ibm_brisbane", service_factory=service)
    assert seen["token"] == TOKEN  # the token did reach the service
    assert TOKEN not in str(error.value) and "***" in str(error.value)
    executor = IBMExecutor(generator, backend="ibm_brisbane", fallback="simulator", fallback_backend="FakeManilaV2",
                           service_factory=service, shots=50)
    executor.probabilities(generator.initial_point)
    assert executor.fallback.startswith("simulator: FakeManilaV2 noise model in local testing mode")
    recorded = json.dumps({
        "provenance": executor.provenance(), "telemetry": execution_summary(executor),
        "vars": {k: repr(v) for k, v in vars(executor).items()},
    }, default=str)
    assert TOKEN not in recorded and TOKEN not in caplog.text
    assert "fallback" in recorded and "falls back" in caplog.text


@pytest.mark.slow
def test_pipeline_on_ibm_fallback_completes_and_the_token_appears_nowhere(tmp_path, capsys, monkeypatch):
    """`qscen run --config examples/hardware.yaml` with executor=ibm, a token but no IBM service reachable:
    the run continues on the simulator, every output says so, and the token is in no file, log or artifact."""
    import os
    from pathlib import Path

    from prefect.testing.utilities import prefect_test_harness

    from qscen.cli import main

    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    example = Path(__file__).resolve().parents[1] / "examples" / "hardware.yaml"
    args = [
        "run", "--config", str(example), "--workdir", str(tmp_path), "--run-id", "ibm", "--no-progress",
        "--set", "executor.name=ibm", "--set", "executor.ibm_backend=ibm_brisbane", "--set", "executor.fallback=simulator",
        "--set", "executor.shots=256", "--set", "training.epochs=2", "--set", "training.discriminator_steps=1",
        "--set", "mitigation.compare_shots=300", "--set", "mitigation.zne=false",  # keep the slow test short
        "--set", "scenarios.n_paths=200", "--set", "scenarios.horizon=5",
        "--set", "stress.risk_horizons=[1,5]",
    ]
    with prefect_test_harness(server_startup_timeout=120):
        assert main(args) == 0, capsys.readouterr().err
        captured = capsys.readouterr()
        home = Path(os.environ["PREFECT_HOME"])
        stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())  # Prefect DB: logs, artifacts
    assert TOKEN not in captured.out + captured.err
    assert TOKEN.encode() not in stored
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    manifest = json.loads((tmp_path / "data" / "runs" / "ibm" / "manifest.json").read_text())
    quantum = manifest["quantum"]
    assert quantum["fallback"].startswith("simulator: FakeGuadalupeV2")
    assert quantum["ibm"]["requested_backend"] == "ibm_brisbane" and quantum["ibm"]["job_ids"]
    assert quantum["shots"] > 0 and quantum["job_success_rate"] == 1.0
    report = (tmp_path / "reports" / "ibm" / "report.html").read_text()
    assert "Noise and mitigation" in report and "Simulator fallback" in report
