"""Tests for quantum_scenarios.quantum.executors against qiskit's Statevector and parameter shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import Statevector

from quantum_scenarios.encoding import encode
from quantum_scenarios.quantum.circuits import ANSATZES, ENTANGLEMENTS, GeneratorCircuit, build_generator
from quantum_scenarios.quantum import executors as executors_module
from quantum_scenarios.quantum.executors import (
    AerExecutor,
    ExactExecutor,
    StatevectorExecutor,
    fake_backend,
    make_executor,
    shift_coefficients,
)


def _loader(n: int) -> QuantumCircuit:
    """A non-trivial parameter-free prior: H layer, a rotation and an entangler."""
    circuit = QuantumCircuit(n)
    circuit.h(range(n))
    circuit.ry(0.3, 0)
    if n > 1:
        circuit.cx(0, n - 1)
    return circuit


def _theta(generator: GeneratorCircuit, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, generator.num_parameters)


# -- exact probabilities equal qiskit's Statevector --------------------------------------------


@pytest.mark.parametrize("num_qubits", range(1, 13))
@pytest.mark.parametrize("ansatz", ANSATZES)
def test_exact_probabilities_equal_statevector(num_qubits: int, ansatz: str) -> None:
    entanglement = ("linear", "circular", "full")[num_qubits % 3]
    generator = build_generator(_loader(num_qubits), ansatz=ansatz, reps=2, entanglement=entanglement)
    theta = _theta(generator, seed=num_qubits)
    exact = ExactExecutor(generator).probabilities(theta).numpy()
    reference = Statevector(generator.bind(theta)).probabilities()
    np.testing.assert_allclose(exact, reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize("max_chunk_qubits", [1, 2, 3, 7])
def test_exact_chunking_does_not_change_the_result(max_chunk_qubits: int) -> None:
    generator = build_generator(_loader(7), ansatz="efficient_su2", reps=3, entanglement="full")
    theta = _theta(generator, seed=1)
    exact = ExactExecutor(generator, max_chunk_qubits=max_chunk_qubits).probabilities(theta).numpy()
    np.testing.assert_allclose(exact, Statevector(generator.bind(theta)).probabilities(), atol=1e-10)


def test_exact_with_a_qiskit_finance_loader_and_every_entanglement() -> None:
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal([0, 0, 0], 1e-4 * (np.eye(3) + 0.5), size=300)
    loader = encode(pd.DataFrame(x, columns=["A", "B", "C"]), num_qubits=[2, 2, 1]).loader
    for entanglement in ENTANGLEMENTS:
        generator = build_generator(loader, reps=2, entanglement=entanglement)
        theta = _theta(generator, seed=2)
        exact = ExactExecutor(generator).probabilities(theta).numpy()
        np.testing.assert_allclose(exact, Statevector(generator.bind(theta)).probabilities(), atol=1e-10)


def test_exact_amplitudes_equal_statevector_up_to_global_phase() -> None:
    generator = build_generator(_loader(5), ansatz="efficient_su2", reps=2)
    theta = _theta(generator, seed=3)
    amplitudes = ExactExecutor(generator).amplitudes(theta).numpy()
    reference = Statevector(generator.bind(theta)).data
    assert abs(np.vdot(reference, amplitudes)) == pytest.approx(1.0, abs=1e-12)


def test_exact_compiles_other_gates_by_decomposition() -> None:
    a, b = Parameter("θ[0]"), Parameter("θ[1]")
    circuit = _loader(3)
    circuit.rzz(2 * a + 0.1, 0, 2)
    circuit.u(0.2, 0.3, 0.4, 1)
    circuit.ch(1, 2)
    circuit.rx(b, 1)
    circuit.swap(0, 1)
    generator = GeneratorCircuit(circuit=circuit, loader=_loader(3), ansatz=circuit, parameters=[a, b], initial_point=np.zeros(2))
    theta = np.array([0.7, -1.1])
    exact = ExactExecutor(generator).probabilities(theta).numpy()
    np.testing.assert_allclose(exact, Statevector(generator.bind(theta)).probabilities(), atol=1e-10)


def test_exact_batches_and_complex64() -> None:
    generator = build_generator(_loader(8), ansatz="ry_cz", reps=2)
    thetas = np.stack([_theta(generator, seed=s) for s in range(4)])
    executor = ExactExecutor(generator)
    batch = executor.probabilities(thetas).numpy()
    assert batch.shape == (4, 256)
    for row, theta in zip(batch, thetas):
        np.testing.assert_allclose(row, executor.probabilities(theta).numpy(), atol=1e-14)
    single = ExactExecutor(generator, dtype="complex64").probabilities(thetas[0])
    assert single.dtype == torch.float32
    np.testing.assert_allclose(single.numpy(), batch[0], atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_exact_on_gpu_equals_statevector() -> None:
    generator = build_generator(_loader(10), reps=3)
    theta = torch.tensor(_theta(generator, seed=4), requires_grad=True)
    executor = ExactExecutor(generator, device="cuda")
    p = executor.probabilities(theta)
    assert p.device.type == "cuda"
    reference = Statevector(generator.bind(theta.detach().numpy())).probabilities()
    np.testing.assert_allclose(p.detach().cpu().numpy(), reference, atol=1e-10)
    weights = np.random.default_rng(0).normal(size=p.numel())
    (p * torch.as_tensor(weights, device="cuda")).sum().backward()
    np.testing.assert_allclose(theta.grad.numpy(), executor.parameter_shift_gradient(theta.detach(), weights), atol=1e-8)


# -- exact gradients equal the parameter-shift rule --------------------------------------------


@pytest.mark.parametrize(("num_qubits", "max_chunk_qubits"), [(1, 6), (3, 6), (6, 6), (7, 3), (9, 4)])
@pytest.mark.parametrize("ansatz", ANSATZES)
def test_exact_autograd_equals_parameter_shift(num_qubits: int, max_chunk_qubits: int, ansatz: str) -> None:
    generator = build_generator(_loader(num_qubits), ansatz=ansatz, reps=2, entanglement="circular")
    executor = ExactExecutor(generator, max_chunk_qubits=max_chunk_qubits)
    weights = np.random.default_rng(num_qubits).normal(size=2**num_qubits)
    theta0 = _theta(generator, seed=5)
    theta = torch.tensor(theta0, requires_grad=True)
    (executor.probabilities(theta) * torch.as_tensor(weights)).sum().backward()
    reference = StatevectorExecutor(generator).parameter_shift_gradient(theta0, weights)
    np.testing.assert_allclose(theta.grad.numpy(), reference, rtol=0, atol=1e-8)
    np.testing.assert_allclose(executor.parameter_shift_gradient(theta0, weights), reference, atol=1e-10)


def test_exact_batched_gradients() -> None:
    generator = build_generator(_loader(4), reps=2)
    executor = ExactExecutor(generator)
    thetas = torch.tensor(np.stack([_theta(generator, seed=s) for s in range(3)]), requires_grad=True)
    weights = np.random.default_rng(1).normal(size=16)
    (executor.probabilities(thetas) @ torch.as_tensor(weights)).sum().backward()
    for row, theta in zip(thetas.grad.numpy(), thetas.detach().numpy()):
        np.testing.assert_allclose(row, executor.parameter_shift_gradient(theta, weights), atol=1e-10)


def test_shift_coefficients_reject_shared_parameters() -> None:
    a = Parameter("a")
    circuit = QuantumCircuit(1)
    circuit.ry(a, 0)
    circuit.rz(a, 0)
    generator = GeneratorCircuit(circuit=circuit, loader=QuantumCircuit(1), ansatz=circuit, parameters=[a], initial_point=np.zeros(1))
    with pytest.raises(ValueError, match=r"exactly one rotation gate.*\['a'\]"):
        shift_coefficients(generator)


# -- sampling and shot-based executors -------------------------------------------------------


def test_exact_and_statevector_sampling_is_seeded() -> None:
    generator = build_generator(_loader(3), reps=1, init_scale=1.0)
    theta = generator.initial_point
    for executor in (ExactExecutor(generator), StatevectorExecutor(generator)):
        draws = executor.sample(theta, 40_000, seed=3)
        np.testing.assert_array_equal(draws, executor.sample(theta, 40_000, seed=3))
        frequencies = np.bincount(draws, minlength=8) / draws.size
        assert np.abs(frequencies - np.asarray(executor.probabilities(theta))).max() < 0.01


@pytest.fixture(scope="module")
def small_generator() -> GeneratorCircuit:
    return build_generator(_loader(3), reps=1, init_scale=1.0, seed=2)


def test_aer_frequencies_match_exact_and_are_seeded(small_generator: GeneratorCircuit) -> None:
    theta = small_generator.initial_point
    exact = ExactExecutor(small_generator).probabilities(theta).numpy()
    aer = make_executor("aer", small_generator, shots=20_000, seed=1)
    assert isinstance(aer, AerExecutor) and aer.name == "aer"
    frequencies = aer.probabilities(theta, seed=4)
    np.testing.assert_array_equal(frequencies, aer.probabilities(theta, seed=4))
    assert 0.5 * np.abs(frequencies - exact).sum() < 0.03
    draws = aer.sample(theta, 500, seed=9)
    np.testing.assert_array_equal(draws, aer.sample(theta, 500, seed=9))
    assert draws.shape == (500,) and draws.max() < 8


def test_aer_mps_matches_exact(small_generator: GeneratorCircuit) -> None:
    theta = small_generator.initial_point
    mps = make_executor("aer_mps", small_generator, shots=20_000, seed=1)
    assert mps.name == "aer_mps"
    exact = ExactExecutor(small_generator).probabilities(theta).numpy()
    assert 0.5 * np.abs(mps.probabilities(theta) - exact).sum() < 0.03


def test_aer_parameter_shift_gradient_is_close_to_exact(small_generator: GeneratorCircuit) -> None:
    theta0 = small_generator.initial_point
    weights = np.random.default_rng(0).normal(size=8)
    aer = AerExecutor(small_generator, shots=50_000, seed=0)
    estimate = aer.parameter_shift_gradient(theta0, weights, seed=11)
    np.testing.assert_array_equal(estimate, aer.parameter_shift_gradient(theta0, weights, seed=11))
    theta = torch.tensor(theta0, requires_grad=True)
    (ExactExecutor(small_generator).probabilities(theta) * torch.as_tensor(weights)).sum().backward()
    assert np.abs(estimate - theta.grad.numpy()).max() < 0.05


def test_aer_with_fake_device_noise(small_generator: GeneratorCircuit) -> None:
    theta = small_generator.initial_point
    noisy = AerExecutor(small_generator, shots=4000, seed=0, noise_backend="FakeManilaV2")
    p = noisy.probabilities(theta, seed=1)
    exact = ExactExecutor(small_generator).probabilities(theta).numpy()
    distance = 0.5 * np.abs(p - exact).sum()
    assert 0.0 < distance < 0.3  # noisy but recognisably the same distribution
    with pytest.raises(ValueError, match=r"noise backend 'FakeAthensV2' has 5 qubits; the generator needs 6"):
        AerExecutor(build_generator(_loader(6), reps=1), noise_backend="FakeAthensV2")


def test_fake_backend_names() -> None:
    assert fake_backend("manila").name == fake_backend("FakeManilaV2").name
    with pytest.raises(ValueError, match=r"unknown fake backend 'nowhere'; expected one of"):
        fake_backend("nowhere")


def test_make_executor_and_argument_errors(small_generator: GeneratorCircuit) -> None:
    assert make_executor("statevector", small_generator).name == "statevector"
    assert make_executor("exact", small_generator, dtype="complex64").dtype == torch.complex64
    with pytest.raises(ValueError, match=r"executor must be one of .* received 'qpu'"):
        make_executor("qpu", small_generator)
    with pytest.raises(ValueError, match=r"dtype must be one of \('complex128', 'complex64'\), received 'float64'"):
        ExactExecutor(small_generator, dtype="float64")
    with pytest.raises(ValueError, match=r"theta must have shape \(12,\) or \(B, 12\), received \(3,\)"):
        ExactExecutor(small_generator).probabilities(np.zeros(3))
    with pytest.raises(ValueError, match=r"weights must have shape \(8,\)"):
        ExactExecutor(small_generator).parameter_shift_gradient(np.zeros(12), np.zeros(4))
    with pytest.raises(ValueError, match=r"shots must be an integer >= 1, received 0"):
        ExactExecutor(small_generator).sample(np.zeros(12), 0, seed=0)
    with pytest.raises(TypeError, match="generator must be a GeneratorCircuit"):
        ExactExecutor(QuantumCircuit(2))


# -- real arithmetic and the layer-undoing adjoint --------------------------------------------


@pytest.mark.parametrize("ansatz", ANSATZES)
@pytest.mark.parametrize("num_qubits", [7, 9])
def test_adjoint_that_undoes_layers_equals_parameter_shift(monkeypatch: pytest.MonkeyPatch, ansatz: str, num_qubits: int) -> None:
    # no per-layer state kept: the backward pass recomputes states by applying each layer's inverse
    monkeypatch.setattr(executors_module, "_KEEP_STATES_BYTES", 0)
    generator = build_generator(_loader(num_qubits), ansatz=ansatz, reps=3, entanglement="full")
    executor = ExactExecutor(generator, max_chunk_qubits=3)
    assert not executor._engine.keep_states
    weights = np.random.default_rng(num_qubits).normal(size=2**num_qubits)
    theta0 = _theta(generator, seed=6)
    theta = torch.tensor(theta0, requires_grad=True)
    (executor.probabilities(theta) * torch.as_tensor(weights)).sum().backward()
    reference = StatevectorExecutor(generator).parameter_shift_gradient(theta0, weights)
    np.testing.assert_allclose(theta.grad.numpy(), reference, rtol=0, atol=1e-8)
    np.testing.assert_allclose(executor.probabilities(theta0).numpy(), Statevector(generator.bind(theta0)).probabilities(), atol=1e-10)


def test_real_circuits_run_in_real_arithmetic_with_the_same_result() -> None:
    real_generator = build_generator(_loader(8), ansatz="ry_cz", reps=2, entanglement="circular")
    executor = ExactExecutor(real_generator)
    assert executor.is_real and executor.compute_dtype == torch.float64
    assert ExactExecutor(real_generator, dtype="complex64").compute_dtype == torch.float32
    forced = ExactExecutor(real_generator, real=False)
    assert not forced.is_real and forced.compute_dtype == torch.complex128
    theta = _theta(real_generator, seed=7)
    np.testing.assert_allclose(executor.probabilities(theta).numpy(), forced.probabilities(theta).numpy(), atol=1e-13)
    complex_generator = build_generator(_loader(3), ansatz="efficient_su2", reps=1)
    assert not ExactExecutor(complex_generator).is_real
    with pytest.raises(ValueError, match=r"real=True needs a real circuit.*pass real=None"):
        ExactExecutor(complex_generator, real=True)


def test_a_prior_with_a_global_phase_still_runs_real() -> None:
    loader = _loader(4)
    loader.global_phase = 0.7  # probabilities do not see it
    generator = build_generator(loader, ansatz="ry_cz", reps=2)
    executor = ExactExecutor(generator)
    assert executor.is_real
    theta = _theta(generator, seed=8)
    np.testing.assert_allclose(executor.probabilities(theta).numpy(), Statevector(generator.bind(theta)).probabilities(), atol=1e-12)


def test_the_state_loader_is_read_not_simulated() -> None:
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal([0, 0], 1e-4 * (np.eye(2) + 0.5), size=300)
    encoding = encode(pd.DataFrame(x, columns=["A", "B"]), num_qubits=[3, 3])
    generator = build_generator(encoding.loader, ansatz="ry_cz", reps=2)
    executor = ExactExecutor(generator)
    np.testing.assert_allclose(executor.layered.initial_state, np.sqrt(encoding.prior), atol=1e-15)
    theta = _theta(generator, seed=9)
    np.testing.assert_allclose(executor.probabilities(theta).numpy(), Statevector(generator.bind(theta)).probabilities(), atol=1e-10)


@pytest.mark.parametrize("ansatz", ANSATZES)
def test_batched_chunked_gradients_equal_parameter_shift(ansatz: str) -> None:
    # a batch takes the general chunk path (batched GEMMs), one state the preallocated one: both exact
    generator = build_generator(_loader(7), ansatz=ansatz, reps=2, entanglement="linear")
    executor = ExactExecutor(generator, max_chunk_qubits=3)
    thetas0 = np.stack([_theta(generator, seed=s) for s in range(3)])
    thetas = torch.tensor(thetas0, requires_grad=True)
    weights = np.random.default_rng(2).normal(size=2**7)
    (executor.probabilities(thetas) @ torch.as_tensor(weights)).sum().backward()
    shift = StatevectorExecutor(generator)
    for row, theta in zip(thetas.grad.numpy(), thetas0):
        np.testing.assert_allclose(row, shift.parameter_shift_gradient(theta, weights), rtol=0, atol=1e-8)
    np.testing.assert_allclose(executor.probabilities(thetas0).numpy(), shift.probabilities(thetas0), atol=1e-10)


def test_one_chunk_circuit_above_the_dense_limit_runs_chunked_and_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors_module, "_KEEP_STATES_BYTES", 0)
    generator = build_generator(_loader(4), ansatz="efficient_su2", reps=2, entanglement="circular")
    executor = ExactExecutor(generator)
    assert executor._engine.chunks == [(0, 4)] and not executor._engine.dense
    weights = np.random.default_rng(4).normal(size=16)
    theta0 = _theta(generator, seed=10)
    theta = torch.tensor(theta0, requires_grad=True)
    (executor.probabilities(theta) @ torch.as_tensor(weights)).backward()
    reference = StatevectorExecutor(generator).parameter_shift_gradient(theta0, weights)
    np.testing.assert_allclose(theta.grad.numpy(), reference, rtol=0, atol=1e-8)


def test_per_pass_buffers_of_large_states_give_the_same_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = build_generator(_loader(7), ansatz="h_ry_cx", reps=2, entanglement="full")
    weights = np.random.default_rng(5).normal(size=2**7)
    theta0 = _theta(generator, seed=11)
    grads = []
    for limit in (2**20, 0):  # engine-cached buffers, then buffers made per pass (as for large states)
        monkeypatch.setattr(executors_module, "_CACHED_BUFFER_BYTES", limit)
        executor = ExactExecutor(generator, max_chunk_qubits=3)
        theta = torch.tensor(theta0, requires_grad=True)
        (executor.probabilities(theta) @ torch.as_tensor(weights)).backward()
        assert bool(executor._engine._single) == (limit > 0)
        grads.append(theta.grad.numpy())
    reference = StatevectorExecutor(generator).parameter_shift_gradient(theta0, weights)
    for grad in grads:
        np.testing.assert_allclose(grad, reference, rtol=0, atol=1e-8)
