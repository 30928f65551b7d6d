"""Tests for quantum_scenarios.quantum.mitigation: each step against a closed form, then the stack."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator, Statevector

from quantum_scenarios.quantum import hardware as hw
from quantum_scenarios.quantum.executors import fake_backend
from quantum_scenarios.quantum.mitigation import (
    AerDeviceSampler,
    MitigationOptions,
    ReadoutMitigator,
    compare_mitigation,
    counts_to_vector,
    extrapolate_to_zero,
    fold_two_qubit_gates,
    merge_counts,
    mitigated_distribution,
    project_to_simplex,
)
from quantum_scenarios.quantum.noisy import NoisyDensityMatrixExecutor


# -- simplex projection ------------------------------------------------------------------------


def test_projection_closed_forms():
    p = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(project_to_simplex(p), p, atol=1e-15)
    np.testing.assert_allclose(project_to_simplex([0.6, 0.6, -0.2]), [0.5, 0.5, 0.0], atol=1e-15)
    np.testing.assert_allclose(project_to_simplex([2.0, 0.0, 0.0]), [1.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(project_to_simplex([0.1, 0.1, 0.1, 0.1]), [0.25] * 4, atol=1e-15)  # shift by τ = -0.15


def test_projection_is_the_nearest_point_kkt():
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = rng.normal(size=12) * 0.3
        p = project_to_simplex(v)
        assert p.min() >= 0 and p.sum() == pytest.approx(1.0, abs=1e-12)
        # KKT: v - p = τ on the support, v - p <= τ off it
        tau = (v - p)[p > 0]
        assert np.ptp(tau) < 1e-12
        assert np.all((v - p)[p == 0] <= tau[0] + 1e-12)


# -- extrapolation -----------------------------------------------------------------------------


def test_linear_extrapolation_recovers_a_line_and_fits_least_squares():
    scales = [1, 3, 5]
    values = np.array([[0.5 - 0.02 * s, 0.1 + 0.01 * s] for s in scales])
    np.testing.assert_allclose(extrapolate_to_zero(scales, values, "linear"), [0.5, 0.1], atol=1e-14)
    noisy = np.array([1.0, 2.0, 2.0])  # least-squares line: slope 2/8, intercept 5/3 - 3/4 = 11/12
    assert extrapolate_to_zero(scales, noisy, "linear") == pytest.approx(11 / 12, abs=1e-12)


def test_richardson_recovers_a_quadratic():
    scales = [1, 3, 5]
    values = np.array([[0.3 - 0.05 * s + 0.004 * s * s] for s in scales])
    assert extrapolate_to_zero(scales, values, "richardson")[0] == pytest.approx(0.3, abs=1e-14)
    # Lagrange weights at 0 for (1, 3, 5): 15/8, -5/4, 3/8
    assert extrapolate_to_zero(scales, np.array([1.0, 0.0, 0.0]), "richardson") == pytest.approx(15 / 8)


def test_exponential_recovers_decay_to_uniform_and_falls_back_when_it_cannot():
    scales = np.array([1.0, 3.0, 5.0])
    d = 4
    a = 1 / d
    exact = np.array([0.7, 0.1, 0.15, 0.05])
    values = a + (exact - a)[None, :] * np.exp(-0.2 * scales)[:, None]
    np.testing.assert_allclose(extrapolate_to_zero(scales, values, "exponential"), exact, atol=1e-13)
    straddling = values.copy()
    straddling[:, 2] = [0.24, 0.26, 0.27]  # crosses the asymptote 0.25: linear for that column
    out = extrapolate_to_zero(scales, straddling, "exponential")
    assert out[2] == pytest.approx(extrapolate_to_zero(scales, straddling[:, 2], "linear"), abs=1e-14)
    with pytest.raises(ValueError, match="extrapolation must be one of"):
        extrapolate_to_zero(scales, values, "cubic")
    with pytest.raises(ValueError, match="scale factors must be distinct"):
        extrapolate_to_zero([1, 1, 3], values, "linear")


# -- folding -----------------------------------------------------------------------------------


def test_folding_keeps_the_unitary_and_multiplies_two_qubit_gates():
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.rz(0.3, 1)
    circuit.cz(1, 2)
    circuit.measure(range(3), range(3))
    for scale in (1, 3, 5):
        folded = fold_two_qubit_gates(circuit, scale)
        assert folded.count_ops()["cx"] == scale and folded.count_ops()["cz"] == scale
        assert folded.count_ops()["h"] == 1
        ops = lambda c: c.remove_final_measurements(inplace=False)  # noqa: E731
        assert Operator(ops(folded)).equiv(Operator(ops(circuit)))
    with pytest.raises(ValueError, match="odd integers >= 1"):
        fold_two_qubit_gates(circuit, 2)


# -- counts ------------------------------------------------------------------------------------


def test_counts_helpers():
    np.testing.assert_allclose(counts_to_vector({"01": 3, "10": 1}, 2), [0, 0.75, 0.25, 0])
    assert merge_counts([{"0": 1}, {"0": 2, "1": 5}]) == {"0": 3, "1": 5}


# -- the stack on a fake device ------------------------------------------------------------------


@pytest.fixture(scope="module")
def device():
    backend = fake_backend("FakeManilaV2")
    prior = QuantumCircuit(3)
    prior.h(range(3))
    generator = hw.build_hardware_generator(prior, backend, reps=2, seed=2, init_scale=1.0)
    transpiled = hw.transpile_generator(generator, backend)
    bound = transpiled.assign_parameters(dict(zip(generator.parameters, generator.initial_point)))
    ideal = Statevector(generator.bind(generator.initial_point)).probabilities()
    return backend, generator, bound, ideal


def test_zne_on_exact_noisy_distributions_moves_toward_the_ideal(device):
    """With exact (shot-free) noisy distributions from exact_noisy, extrapolation beats scale 1."""
    backend, generator, bound, ideal = device
    transpiled = hw.transpile_generator(generator, backend)
    by_scale = []
    for scale in (1, 3, 5):
        folded = fold_two_qubit_gates(transpiled, scale)
        executor = NoisyDensityMatrixExecutor(generator, backend=backend, transpiled=folded, readout_error=False)
        by_scale.append(executor.probabilities(generator.initial_point).numpy())
    by_scale = np.array(by_scale)
    error = lambda p: np.abs(p - ideal).sum()  # noqa: E731
    assert error(by_scale[0]) < error(by_scale[1]) < error(by_scale[2])  # folding scales the noise up
    for method in ("linear", "richardson", "exponential"):
        mitigated = project_to_simplex(extrapolate_to_zero([1, 3, 5], by_scale, method))
        assert error(mitigated) < 0.6 * error(by_scale[0]), method


def test_each_option_reports_cost_and_the_full_stack_recovers_noise_loss(device):
    backend, generator, bound, ideal = device
    sampler = AerDeviceSampler(backend)
    readout = ReadoutMitigator(sampler.simulator, shots=2000)
    options = {
        "readout": MitigationOptions(readout=True),
        "twirling": MitigationOptions(twirling=True, num_randomizations=4),
        "dd": MitigationOptions(dd=True),
        "zne": MitigationOptions(zne=True),
        "all": MitigationOptions(readout=True, twirling=True, num_randomizations=4, dd=True, zne=True),
    }
    rows = {r["option"]: r for r in compare_mitigation(
        bound, backend, sampler, ideal, ideal=ideal, shots=4000, seed=5, options=options, readout_mitigator=readout
    )}
    assert rows["ideal"]["fidelity"] == pytest.approx(1.0)
    assert rows["noisy"]["fidelity"] < 0.99
    assert rows["readout"]["circuits"] == 1 + 2 * 3 and rows["readout"]["shots"] == 4000 + 6 * 2000
    assert rows["twirling"]["circuits"] == 4 and rows["twirling"]["shots"] == 4000
    assert rows["zne"]["circuits"] == 3 and rows["zne"]["shots"] == 12000
    assert rows["all"]["circuits"] == 12  # calibration already paid by the readout row
    assert rows["readout"]["fidelity"] > rows["noisy"]["fidelity"]
    assert rows["all"]["recovered"] >= 0.5
    ledger = sampler.ledger.as_dict()
    assert ledger["job_success_rate"] == 1.0 and ledger["circuits"] == 1 + 1 + 4 + 1 + 3 + 12
    assert readout.calibration_circuits == 6 and readout.calibration_shots == 12000  # M3 runs on the simulator itself


def test_result_is_a_distribution_and_readout_requires_a_mitigator(device):
    backend, _, bound, _ = device
    sampler = AerDeviceSampler(backend)
    result = mitigated_distribution(bound, backend, sampler, shots=1000, seed=1, options=MitigationOptions(zne=True))
    assert result.probabilities.min() >= 0 and result.probabilities.sum() == pytest.approx(1.0)
    assert result.by_scale.shape == (3, 8) and result.costs["zne"] == {"circuits": 2, "shots": 2000}
    with pytest.raises(ValueError, match="needs a ReadoutMitigator"):
        mitigated_distribution(bound, backend, sampler, shots=10, seed=1, options=MitigationOptions(readout=True))
    with pytest.raises(ValueError, match="zne_extrapolation must be one of"):
        MitigationOptions(zne_extrapolation="quadratic")


def test_mitigated_aer_executor_mitigates_every_estimate_and_trains(device):
    from quantum_scenarios.quantum.executors import make_executor

    backend, generator, bound, ideal = device
    executor = make_executor(
        "aer", generator, noise_backend="FakeManilaV2", shots=2000, seed=3, mitigation={"readout": True, "readout_shots": 1000}
    )
    assert executor.name == "aer" and executor.readout is not None
    p = executor.probabilities(generator.initial_point)
    plain = make_executor("aer", generator, noise_backend="FakeManilaV2", shots=2000, seed=3).probabilities(
        generator.initial_point
    )
    assert np.abs(p - ideal).sum() < np.abs(plain - ideal).sum()
    grad = executor.parameter_shift_gradient(generator.initial_point, ideal, seed=4)
    assert grad.shape == (generator.num_parameters,)
    # one job for the probabilities, one for all 2P shifted points; calibration charged once
    assert executor.ledger.jobs == 2 and executor.ledger.circuits == 1 + 2 * generator.num_parameters
    assert executor.costs["readout"] == {"circuits": 6, "shots": 6000}
    assert executor.seeds[-1] == 4
    with pytest.raises(ValueError, match="mitigation needs a device"):
        from quantum_scenarios.quantum.circuits import build_generator

        make_executor("aer", build_generator(QuantumCircuit(2), reps=1), mitigation={"zne": True})


def test_noise_report_has_every_row_with_costs(device):
    from quantum_scenarios.quantum.mitigation import noise_report

    backend, generator, bound, ideal = device
    report = noise_report(generator, generator.initial_point, ideal, backend, shots=2000, seed=1)
    options = [r["option"] for r in report["rows"]]
    assert options == ["ideal", "noisy", "readout", "twirling", "dd", "zne", "all (readout + twirling + dd + zne)"]
    assert report["circuit"]["transpiled"]["backend"] == "fake_manila"
    assert report["ideal_exact_fidelity"] == pytest.approx(1.0)
    assert all({"fidelity", "recovered", "circuits", "shots"} <= set(r) for r in report["rows"])
    assert report["rows"][1]["shots"] == 2000 and report["rows"][5]["shots"] == 6000


def test_extrapolation_weights_reproduce_the_extrapolation():
    from quantum_scenarios.quantum.mitigation import extrapolation_weights

    values = np.random.default_rng(0).random((3, 5))
    for method in ("linear", "richardson"):
        np.testing.assert_allclose(
            extrapolation_weights([1, 3, 5], method) @ values, extrapolate_to_zero([1, 3, 5], values, method), atol=1e-14
        )
    np.testing.assert_allclose(extrapolation_weights([1, 3, 5], "richardson"), [15 / 8, -5 / 4, 3 / 8], atol=1e-14)
    with pytest.raises(ValueError, match="has no linear weights"):
        extrapolation_weights([1, 3, 5], "exponential")


def test_report_noise_context_lists_rows_costs_and_execution():
    from quantum_scenarios.report.html import _noise_context

    noise = {
        "backend": "fake_manila", "shots": 100, "seed": 1, "ideal_exact_fidelity": 0.9, "note": None,
        "circuit": {"logical": {"depth": 5, "two_qubit_gates": 2, "width": 3},
                    "transpiled": {"depth": 9, "two_qubit_gates": 2, "active_qubits": 3, "layout": [0, 1, 2],
                                   "estimated_success_probability": 0.95}},
        "rows": [{"option": "ideal", "fidelity": 0.9, "recovered": 1.0, "circuits": 0, "shots": 0},
                 {"option": "noisy", "fidelity": 0.8, "recovered": 0.0, "circuits": 1, "shots": 100}],
        "execution": {"shots": 1234, "job_success_rate": 1.0},
    }
    context = _noise_context(noise)
    assert context["table"]["columns"] == ["option", "fidelity to data", "noise loss recovered", "circuits", "shots"]
    assert [row[0]["text"] for row in context["table"]["rows"]] == ["ideal", "noisy"]
    labels = dict(context["items"])
    assert labels["Device"] == "fake_manila" and "Training: Shots" in labels
    assert _noise_context(None) is None
