"""The exact_noisy executor equals Aer's density-matrix simulation with NoiseModel.from_backend."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Kraus, SuperOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, QuantumError, depolarizing_error, thermal_relaxation_error

from quantum_scenarios.quantum import hardware as hw
from quantum_scenarios.quantum.circuits import build_generator
from quantum_scenarios.quantum.executors import fake_backend
from quantum_scenarios.quantum.noisy import (
    NoisyDensityMatrixExecutor,
    depolarizing_superop,
    relaxation_superop,
)


@pytest.fixture(scope="module")
def backend():
    return fake_backend("FakeGuadalupeV2")


@pytest.fixture(scope="module")
def noise_model(backend):
    return NoiseModel.from_backend(backend)


def _readout(noise_model: NoiseModel) -> dict[int, np.ndarray]:
    """Per qubit, P[prepared, measured] of the noise model's readout errors (public dict form)."""
    out = {}
    for error in noise_model.to_dict()["errors"]:
        if error["type"] == "roerror":
            for qubits in error["gate_qubits"]:
                out[qubits[0]] = np.asarray(error["probabilities"])
    return out


def aer_probabilities(transpiled, noise_model, values, parameters) -> np.ndarray:
    """Exact measured probabilities from Aer's density-matrix method.

    Aer applies ReadoutError only when sampling, so the final measurements are replaced by the
    noise model's own readout error written as a quantum channel (a classical bit flip on the
    diagonal) followed by ``save_probabilities`` in clbit order: no shots, no sampling noise.
    """
    bound = transpiled.assign_parameters(dict(zip(parameters, values))) if parameters else transpiled
    circuit = QuantumCircuit(*bound.qregs)
    measured = {}
    for instruction in bound.data:
        if instruction.operation.name == "measure":
            measured[bound.find_bit(instruction.clbits[0]).index] = bound.find_bit(instruction.qubits[0]).index
        elif instruction.operation.name != "barrier":
            circuit.append(instruction.operation, [circuit.qubits[bound.find_bit(q).index] for q in instruction.qubits])
    qubits = [measured[c] for c in sorted(measured)]
    readout = _readout(noise_model)
    for q in qubits:
        p = readout[q]
        kraus = [
            np.sqrt(p[0, 0]) * np.array([[1, 0], [0, 0]]),
            np.sqrt(p[0, 1]) * np.array([[0, 0], [1, 0]]),
            np.sqrt(p[1, 0]) * np.array([[0, 1], [0, 0]]),
            np.sqrt(p[1, 1]) * np.array([[0, 0], [0, 1]]),
        ]
        circuit.append(QuantumError(Kraus(kraus)), [q])
    circuit.save_probabilities(qubits)
    simulator = AerSimulator(method="density_matrix", noise_model=noise_model)
    return np.asarray(simulator.run(circuit).result().data(0)["probabilities"])


def _prior(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(range(n))
    circuit.ry(0.3, 0)
    return circuit


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
def test_hardware_profile_equals_aer_density_matrix(n, backend, noise_model):
    generator = hw.build_hardware_generator(_prior(n), backend, reps=2, seed=n)
    executor = NoisyDensityMatrixExecutor(generator, backend=backend)
    theta = np.random.default_rng(n).uniform(-np.pi, np.pi, generator.num_parameters)
    ours = executor.probabilities(theta).numpy()
    reference = aer_probabilities(executor.transpiled, noise_model, theta, generator.parameters)
    assert ours.shape == (2**n,)
    np.testing.assert_allclose(ours, reference, atol=1e-8, rtol=0)
    # the noise is real: far from the noiseless distribution
    from qiskit.quantum_info import Statevector

    assert np.abs(ours - Statevector(generator.bind(theta)).probabilities()).max() > 1e-3


@pytest.mark.parametrize("n", [3, 5])
def test_routed_generator_with_extra_active_qubits_equals_aer(n, noise_model, backend):
    """A full-entanglement generator on a line device: routing adds SWAPs, and maybe ancillas."""
    manila = fake_backend("FakeManilaV2")
    generator = build_generator(_prior(n), ansatz="ry_cz", reps=2, entanglement="full", seed=n, init_scale=1.0)
    executor = NoisyDensityMatrixExecutor(generator, backend=manila, seed=3)
    theta = np.random.default_rng(n).uniform(-np.pi, np.pi, generator.num_parameters)
    reference = aer_probabilities(executor.transpiled, NoiseModel.from_backend(manila), theta, generator.parameters)
    np.testing.assert_allclose(executor.probabilities(theta).numpy(), reference, atol=1e-8, rtol=0)


def test_delays_carry_thermal_relaxation_like_aer(backend, noise_model):
    """Scheduled circuits (dynamical decoupling) have delays: Aer adds relaxation to them."""
    from qiskit.circuit.library import XGate
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDynamicalDecoupling

    generator = hw.build_hardware_generator(_prior(4), backend, reps=2, seed=2)
    transpiled = hw.transpile_generator(generator, backend)
    scheduled = PassManager(
        [ALAPScheduleAnalysis(target=backend.target), PadDynamicalDecoupling(target=backend.target, dd_sequence=[XGate(), XGate()])]
    ).run(transpiled)
    assert "delay" in scheduled.count_ops()
    executor = NoisyDensityMatrixExecutor(generator, backend=backend, transpiled=scheduled)
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, generator.num_parameters)
    reference = aer_probabilities(scheduled, noise_model, theta, generator.parameters)
    np.testing.assert_allclose(executor.probabilities(theta).numpy(), reference, atol=1e-8, rtol=0)


def test_channels_equal_qiskit_aer_standard_errors():
    t1, t2, time = 50e-6, 70e-6, 3e-7
    np.testing.assert_allclose(
        relaxation_superop(t1, t2, time), SuperOp(thermal_relaxation_error(t1, t2, time)).data, atol=1e-14
    )
    np.testing.assert_allclose(relaxation_superop(t1, 150e-6, time), relaxation_superop(t1, 2 * t1, time), atol=0)
    for n in (1, 2):
        np.testing.assert_allclose(depolarizing_superop(0.03, n), SuperOp(depolarizing_error(0.03, n)).data, atol=1e-14)


def test_readout_confusion_is_the_noise_models(backend, noise_model):
    generator = hw.build_hardware_generator(_prior(3), backend, seed=0)
    executor = NoisyDensityMatrixExecutor(generator, backend=backend)
    readout = _readout(noise_model)
    layout = generator.options["layout"]
    for c, q in enumerate(layout):
        np.testing.assert_allclose(executor.program.confusion[c], readout[q].T, atol=0)
    # without readout error, the distribution is the diagonal of the density matrix
    clean = NoisyDensityMatrixExecutor(generator, backend=backend, readout_error=False)
    theta = generator.initial_point
    assert np.abs(clean.probabilities(theta).numpy() - executor.probabilities(theta).numpy()).max() > 1e-4


def test_autograd_gradient_equals_finite_differences_and_is_batched(backend):
    generator = hw.build_hardware_generator(_prior(4), backend, reps=2, seed=4)
    executor = NoisyDensityMatrixExecutor(generator, backend=backend)
    theta = np.random.default_rng(1).uniform(-1, 1, generator.num_parameters)
    weights = np.random.default_rng(2).normal(size=16)
    grad = executor.parameter_shift_gradient(theta, weights)
    h = 1e-6
    numeric = np.array([
        (executor.probabilities(theta + h * e).numpy() @ weights - executor.probabilities(theta - h * e).numpy() @ weights) / (2 * h)
        for e in np.eye(generator.num_parameters)
    ])
    np.testing.assert_allclose(grad, numeric, atol=1e-7)
    batch = np.stack([theta, -theta])
    p = executor.probabilities(torch.as_tensor(batch)).numpy()
    np.testing.assert_allclose(p[1], executor.probabilities(-theta).numpy(), atol=1e-14)


def test_needs_a_device(backend):
    generator = build_generator(_prior(2), ansatz="ry_cz", reps=1)
    with pytest.raises(ValueError, match="exact_noisy needs a device"):
        NoisyDensityMatrixExecutor(generator)


# -- aer_density and batched Aer jobs ------------------------------------------------------------


def test_aer_density_equals_exact_noisy_and_gradients_agree(backend):
    from quantum_scenarios.quantum.executors import make_executor

    generator = hw.build_hardware_generator(_prior(4), backend, reps=1, seed=7, init_scale=1.0)
    exact = make_executor("exact_noisy", generator)
    aer = make_executor("aer_density", generator)
    assert exact.transpiled == aer.transpiled  # same transpiled, scheduled circuit
    theta = generator.initial_point
    np.testing.assert_allclose(aer.probabilities(theta), exact.probabilities(theta).numpy(), atol=1e-8)
    weights = np.random.default_rng(0).normal(size=16)
    shift = aer.parameter_shift_gradient(theta, weights)
    assert aer.ledger.jobs == 2  # one probabilities call, then one job for all 2P shifted points
    assert aer.ledger.circuits == 1 + 2 * generator.num_parameters
    np.testing.assert_allclose(shift, exact.parameter_shift_gradient(theta, weights), atol=1e-8)


def test_aer_shot_gradient_is_one_job_with_parameter_binds_and_records_seeds(backend):
    from quantum_scenarios.quantum.executors import AerExecutor

    generator = hw.build_hardware_generator(_prior(3), backend, reps=1, seed=3, init_scale=1.0)
    aer = AerExecutor(generator, shots=256, seed=5)
    assert aer.noise_backend == "fake_guadalupe" and "delay" in aer.transpiled.count_ops()
    aer.parameter_shift_gradient(generator.initial_point, np.ones(8), seed=99)
    assert aer.ledger.jobs == 1 and aer.ledger.circuits == 2 * generator.num_parameters
    assert aer.ledger.shots == 256 * 2 * generator.num_parameters
    assert aer.seeds == [99]
    aer.probabilities(generator.initial_point)
    assert aer.seeds == [99, 5 + 1_000_003]
    # each bind is its own experiment: frequencies of row k equal a single run of row k with that seed
    thetas = np.stack([generator.initial_point, -generator.initial_point])
    counts = aer._run(thetas, 256, 11)
    assert len(counts) == 2 and all(sum(c.values()) == 256 for c in counts)


# -- mitigation inside exact_noisy -----------------------------------------------------------------


def test_exact_noisy_mitigation_readout_zne_dd_is_exact_and_differentiable(backend):
    from qiskit.quantum_info import Statevector

    from quantum_scenarios.quantum.mitigation import extrapolate_to_zero, fold_two_qubit_gates, project_to_simplex
    from quantum_scenarios.quantum.noisy import project_to_simplex_torch

    generator = hw.build_hardware_generator(_prior(4), backend, reps=2, seed=9, init_scale=1.0)
    theta = generator.initial_point
    ideal = Statevector(generator.bind(theta)).probabilities()
    plain = NoisyDensityMatrixExecutor(generator, backend=backend)
    readout = NoisyDensityMatrixExecutor(generator, backend=backend, mitigation={"readout": True})
    no_readout = NoisyDensityMatrixExecutor(generator, backend=backend, readout_error=False)
    np.testing.assert_allclose(readout.probabilities(theta).numpy(), no_readout.probabilities(theta).numpy(), atol=1e-14)

    stack = NoisyDensityMatrixExecutor(generator, backend=backend, mitigation={"readout": True, "zne": True, "dd": True})
    base = hw.transpile_generator(generator, backend)
    by_scale = np.stack([
        NoisyDensityMatrixExecutor(
            generator, backend=backend, readout_error=False,
            transpiled=hw.schedule_idle(fold_two_qubit_gates(base, s), backend, dd_sequence=["x", "x"]),
        ).probabilities(theta).numpy()
        for s in (1, 3, 5)
    ])
    expected = project_to_simplex(extrapolate_to_zero([1, 3, 5], by_scale, "linear"))
    mitigated = stack.probabilities(theta).numpy()
    np.testing.assert_allclose(mitigated, expected, atol=1e-12)
    error = lambda p: 0.5 * np.abs(p - ideal).sum()  # noqa: E731
    assert error(mitigated) < 0.5 * error(plain.probabilities(theta).numpy())

    # gradients flow through extrapolation and projection (finite differences on the same side of the kinks)
    weights = np.random.default_rng(3).normal(size=16)
    grad = stack.parameter_shift_gradient(theta, weights)
    h, e = 1e-6, np.eye(generator.num_parameters)[0]
    numeric = (stack.probabilities(theta + h * e).numpy() - stack.probabilities(theta - h * e).numpy()) @ weights / (2 * h)
    assert grad[0] == pytest.approx(numeric, abs=1e-6)

    rows = np.random.default_rng(0).normal(size=(5, 7))
    np.testing.assert_allclose(
        project_to_simplex_torch(torch.as_tensor(rows)).numpy(), np.stack([project_to_simplex(r) for r in rows]), atol=1e-14
    )
    with pytest.raises(ValueError, match="exact_noisy cannot twirl"):
        NoisyDensityMatrixExecutor(generator, backend=backend, mitigation={"twirling": True})
    with pytest.raises(ValueError, match="has no linear weights"):
        NoisyDensityMatrixExecutor(generator, backend=backend, mitigation={"zne": True, "zne_extrapolation": "exponential"})


def test_noise_aware_training_on_mitigated_distributions(backend):
    import pandas as pd

    from quantum_scenarios.encoding import encode
    from quantum_scenarios.gan.training import train_qgan

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, 0.7], [0.7, 1]], size=600) * 0.01, columns=["A", "B"])
    encoded = encode(frame, num_qubits=2, loader="normal")
    prior = hw.shallow_prior(encoded.loader, encoded.prior, encoded.grid_shape, "marginals")
    generator = hw.build_hardware_generator(prior, backend, reps=1, seed=0)
    result = train_qgan(encoded, generator, executor="exact_noisy",
                        executor_options={"mitigation": {"readout": True, "zne": True}},
                        loss="renyi", renyi_alpha=0.5, epochs=15, generator_lr=0.05, seed=0)
    assert result.history[-1].kl < result.history[0].kl
    assert result.probabilities.min() >= 0 and result.probabilities.sum() == pytest.approx(1.0)
