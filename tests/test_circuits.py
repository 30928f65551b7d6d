"""Tests for quantum_scenarios.quantum.circuits: generator construction and its layered form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import Operator, Statevector

from quantum_scenarios.encoding import encode
from quantum_scenarios.quantum.circuits import ANSATZES, build_ansatz, build_generator, layer_circuit


def _hadamards(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(range(n))
    return circuit


def _encoding_loader() -> QuantumCircuit:
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal([0, 0], [[1e-4, 6e-5], [6e-5, 1e-4]], size=300)
    return encode(pd.DataFrame(x, columns=["SPX", "NDX"]), num_qubits=[2, 2]).loader


@pytest.mark.parametrize(
    ("ansatz", "per_layer", "gates"),
    [("efficient_su2", 2, {"ry", "rz", "cx"}), ("ry_cz", 1, {"ry", "cz"}), ("h_ry_cx", 1, {"h", "ry", "cx"})],
)
def test_ansatz_parameter_counts_and_gate_set(ansatz: str, per_layer: int, gates: set[str]) -> None:
    n, reps = 4, 3
    circuit = build_ansatz(n, ansatz=ansatz, reps=reps, entanglement="linear")
    assert circuit.num_parameters == per_layer * n * (reps + 1)
    assert set(circuit.count_ops()) == gates
    entanglers = sum(1 for i in circuit.data if i.operation.num_qubits == 2)
    assert entanglers == reps * (n - 1)  # linear: n-1 per repetition


@pytest.mark.parametrize(("entanglement", "pairs"), [("linear", 3), ("circular", 4), ("full", 6)])
def test_entanglement_layouts(entanglement: str, pairs: int) -> None:
    circuit = build_ansatz(4, ansatz="ry_cz", reps=1, entanglement=entanglement)
    assert sum(1 for i in circuit.data if i.operation.num_qubits == 2) == pairs


def test_entanglement_spans_asset_registers() -> None:
    generator = build_generator(_encoding_loader(), ansatz="efficient_su2", reps=1)
    circuit = generator.circuit
    registers = {circuit.find_bit(q).index: circuit.find_bit(q).registers[0][0].name for q in circuit.qubits}
    crossing = [
        i for i in circuit.data if i.operation.name == "cx" and len({registers[circuit.find_bit(q).index] for q in i.qubits}) == 2
    ]
    assert crossing, "no entangling gate couples the two asset registers"
    assert [r.name for r in circuit.qregs] == ["NDX", "SPX"]


def test_seeded_initial_point_is_small_and_reproducible() -> None:
    first = build_generator(_hadamards(3), seed=5, init_scale=0.1)
    again = build_generator(_hadamards(3), seed=5, init_scale=0.1)
    other = build_generator(_hadamards(3), seed=6, init_scale=0.1)
    np.testing.assert_array_equal(first.initial_point, again.initial_point)
    assert not np.array_equal(first.initial_point, other.initial_point)
    assert np.all(np.abs(first.initial_point) <= 0.1) and first.initial_point.shape == (first.num_parameters,)
    assert [p.name for p in first.parameters[:3]] == ["θ[0]", "θ[1]", "θ[2]"]


def test_ry_cz_at_zero_reproduces_the_prior() -> None:
    loader = _encoding_loader()
    generator = build_generator(loader, ansatz="ry_cz", reps=2)
    bound = generator.bind(np.zeros(generator.num_parameters))
    np.testing.assert_allclose(Statevector(bound).probabilities(), Statevector(loader).probabilities(), atol=1e-12)


def test_bind_assigns_values_in_parameter_order() -> None:
    generator = build_generator(_hadamards(2), ansatz="ry_cz", reps=1)
    theta = np.arange(generator.num_parameters, dtype=float)
    bound = generator.bind(theta)
    angles = [float(i.operation.params[0]) for i in bound.data if i.operation.name == "ry"]
    assert angles == theta.tolist()
    with pytest.raises(ValueError, match=r"theta must have shape \(4,\), received \(3,\)"):
        generator.bind(theta[:3])


def test_stats_report_width_depth_gates_and_parameters() -> None:
    generator = build_generator(_hadamards(3), ansatz="efficient_su2", reps=2, entanglement="linear")
    stats = generator.stats()
    assert stats["width"] == 3 and stats["num_parameters"] == 18
    assert stats["gate_counts"] == {"cx": 4, "h": 3, "ry": 9, "rz": 9}
    assert stats["entangling_gates"] == 4
    assert stats["depth"] == generator.circuit.depth() and stats["ansatz"] == "efficient_su2"


def test_single_qubit_generators_have_no_entanglers() -> None:
    for ansatz in ANSATZES:
        circuit = build_generator(_hadamards(1), ansatz=ansatz, reps=2).circuit
        assert all(i.operation.num_qubits == 1 for i in circuit.data)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"ansatz must be one of .* received 'qaoa'"):
        build_generator(_hadamards(2), ansatz="qaoa")
    with pytest.raises(ValueError, match=r"reps must be an integer >= 1, received 0"):
        build_generator(_hadamards(2), reps=0)
    with pytest.raises(ValueError, match=r"entanglement must be one of .* received 'star'"):
        build_generator(_hadamards(2), entanglement="star")
    loader = QuantumCircuit(2)
    loader.ry(Parameter("a"), 0)
    with pytest.raises(ValueError, match=r"loader must be parameter-free, received parameters \['a'\]"):
        build_generator(loader)
    measured = _hadamards(2)
    measured.measure_all()
    with pytest.raises(ValueError, match="loader must be unitary"):
        build_generator(measured)
    with pytest.raises(TypeError, match="loader must be a qiskit QuantumCircuit"):
        build_generator("H")


# -- layered form ----------------------------------------------------------------------------


def test_layered_form_of_efficient_su2() -> None:
    generator = build_generator(_hadamards(3), ansatz="efficient_su2", reps=2, entanglement="linear")
    layered = layer_circuit(generator.circuit, generator.parameters)
    assert layered.num_layers == 3 and layered.param_index.shape == (3, 3, 2)
    np.testing.assert_allclose(layered.initial_state, np.full(8, 8**-0.5))
    np.testing.assert_allclose(layered.half_coef, 0.5)
    # every parameter is used exactly once
    assert sorted(layered.param_index.ravel().tolist()) == list(range(generator.num_parameters))
    # the fixed stage after layer 0 is the CX ladder, as a row permutation
    ladder = QuantumCircuit(3)
    for i in generator.ansatz.data:
        if i.operation.name == "cx" and len(ladder.data) < 2:
            ladder.append(i.operation, [generator.ansatz.find_bit(q).index for q in i.qubits])
    matrix = Operator(ladder).data
    psi = np.arange(8) + 1j
    np.testing.assert_allclose(matrix @ psi, layered.phases[0] * psi[layered.perms[0]])
    # no entangler after the final rotation layer
    np.testing.assert_array_equal(layered.perms[-1], np.arange(8))


def test_layered_form_decomposes_unsupported_gates() -> None:
    theta = Parameter("t")
    circuit = _hadamards(2)
    circuit.rzz(2 * theta + 0.1, 0, 1)
    circuit.ch(0, 1)
    layered = layer_circuit(circuit, [theta])
    assert layered.num_layers >= 2
    assert set(np.unique(layered.half_coef)) <= {0.0, 1.0}  # rz(2t + 0.1) → half-angle t + 0.05
    measured = circuit.copy()
    measured.measure_all()
    with pytest.raises(ValueError, match=r"must be unitary after its loader; received 'measure'"):
        layer_circuit(measured, [theta])


def test_fixed_stages_equal_the_operator_of_their_gates_and_are_shared() -> None:
    circuit = _hadamards(4)
    theta = [Parameter(f"t{i}") for i in range(12)]
    for rep in range(3):
        for q in range(4):
            circuit.ry(theta[4 * rep + q], q)
        circuit.cx(0, 2)
        circuit.cz(1, 3)
        circuit.swap(2, 3)
        circuit.cp(0.3, 0, 1)
        circuit.ccz(0, 1, 3)
    layered = layer_circuit(circuit, theta)
    stages = [s for s in layered.stages if s is not None]
    assert len({id(s) for s in stages}) == 1  # the same gates: one table
    fixed = QuantumCircuit(4)
    for matrix, qargs in stages[0].gates:
        fixed.unitary(matrix, list(qargs))
    psi = np.random.default_rng(0).normal(size=16) + 1j
    perm, phase = stages[0].dense(16)
    np.testing.assert_allclose(Operator(fixed).data @ psi, phase * psi[perm], atol=1e-12)


def test_a_cz_stage_is_diagonal_and_real() -> None:
    generator = build_generator(_hadamards(5), ansatz="ry_cz", reps=3, entanglement="full")
    layered = layer_circuit(generator.circuit, generator.parameters)
    stage = layered.stages[0]
    assert stage.perm is None and stage.is_real and layered.is_real()
    ladder = QuantumCircuit(5)
    for instruction in generator.ansatz.data:
        if instruction.operation.name == "cz" and len(ladder.data) < 10:
            ladder.append(instruction.operation, [generator.ansatz.find_bit(q).index for q in instruction.qubits])
    np.testing.assert_allclose(np.diag(Operator(ladder).data).real, stage.phase)
