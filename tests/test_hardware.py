"""Tests for quantum_scenarios.quantum.hardware: layout, device ansatz, shallow priors, statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from quantum_scenarios.encoding import encode
from quantum_scenarios.quantum import hardware as hw
from quantum_scenarios.quantum.circuits import build_generator
from quantum_scenarios.quantum.executors import fake_backend


@pytest.fixture(scope="module")
def backend():
    return fake_backend("FakeGuadalupeV2")


@pytest.fixture(scope="module")
def encoding():
    rng = np.random.default_rng(3)
    cov = [[1.0, 0.8, 0.2], [0.8, 1.0, 0.1], [0.2, 0.1, 1.0]]
    frame = pd.DataFrame(rng.multivariate_normal([0, 0, 0], cov, size=2000) * 0.01, columns=["A", "B", "C"])
    return encode(frame, num_qubits=2, loader="normal")


def test_layout_is_the_connected_path_with_the_lowest_error(backend):
    path = hw.choose_layout(backend, 4)
    edges = set(backend.coupling_map.get_edges())
    assert len(set(path)) == 4
    assert all((a, b) in edges for a, b in zip(path, path[1:]))
    target = backend.target

    def score(p):
        node = sum(target["measure"][(q,)].error + target["sx"][(q,)].error for q in p)
        return node + sum(target["cx"][(a, b)].error for a, b in zip(p, p[1:]))

    # independent brute force: every simple path of 4 qubits, grown breadth-first
    paths = [[q] for q in range(backend.num_qubits)]
    for _ in range(3):
        paths = [p + [b] for p in paths for a, b in edges if a == p[-1] and b not in p]
    assert score(path) == pytest.approx(min(score(p) for p in paths), abs=1e-15)


def test_layout_error_names_the_device(backend):
    with pytest.raises(ValueError, match="no connected path of 17 qubits"):
        hw.choose_layout(backend, 17)


def test_device_ansatz_uses_only_coupled_pairs_and_reduces_to_prior_at_zero(backend):
    prior = QuantumCircuit(4)
    prior.h(range(4))
    prior.ry(0.4, 2)
    generator = hw.build_hardware_generator(prior, backend, reps=2, seed=1)
    layout = generator.options["layout"]
    edges = set(backend.coupling_map.get_edges())
    for i, j in generator.options["couplings"]:
        assert (layout[i], layout[j]) in edges or (layout[j], layout[i]) in edges
    assert generator.options["entanglement"] == "device"
    bound = generator.bind(np.zeros(generator.num_parameters))
    np.testing.assert_allclose(Statevector(bound).probabilities(), Statevector(prior).probabilities(), atol=1e-12)


def test_marginals_prior_is_the_product_of_asset_marginals(encoding):
    circuit = hw.shallow_prior(encoding.loader, encoding.prior, encoding.grid_shape, "marginals")
    p = Statevector(circuit).probabilities()
    grid = encoding.prior.reshape(encoding.grid_shape)
    m = [grid.sum(axis=tuple(b for b in range(3) if b != a)) for a in range(3)]
    expected = np.einsum("i,j,k->ijk", *m).ravel()
    np.testing.assert_allclose(p, expected, atol=1e-12)
    for a in range(3):
        np.testing.assert_allclose(encoding.marginal(p, a), encoding.marginal(encoding.prior, a), atol=1e-12)
    uniform = Statevector(hw.shallow_prior(encoding.loader, encoding.prior, encoding.grid_shape, "uniform")).probabilities()
    np.testing.assert_allclose(uniform, np.full(64, 1 / 64), atol=1e-12)
    with pytest.raises(ValueError, match="prior must be one of"):
        hw.shallow_prior(encoding.loader, encoding.prior, encoding.grid_shape, "flat")


def test_prior_fidelity_reports_the_cost_of_the_shallow_prior(encoding):
    full = hw.prior_fidelity(encoding.loader, encoding.prior, encoding.target)
    assert full["fidelity_to_loader"] == pytest.approx(1.0, abs=1e-10)
    shallow = hw.prior_fidelity(
        hw.shallow_prior(encoding.loader, encoding.prior, encoding.grid_shape, "marginals"), encoding.prior, encoding.target
    )
    p = Statevector(hw.shallow_prior(encoding.loader, encoding.prior, encoding.grid_shape, "marginals")).probabilities()
    assert shallow["fidelity_to_loader"] == pytest.approx(np.sum(np.sqrt(p * encoding.prior)) ** 2, abs=1e-12)
    assert shallow["fidelity_to_loader"] < 1.0


def test_statistics_logical_and_transpiled_with_success_probability(encoding, backend):
    prior = hw.shallow_prior(encoding.loader, encoding.prior, encoding.grid_shape, "marginals")
    generator = hw.build_hardware_generator(prior, backend, reps=2)
    stats = hw.circuit_statistics(generator, backend)
    transpiled = hw.transpile_generator(generator, backend)
    esp = 1.0
    for instruction in transpiled.data:
        name = instruction.operation.name
        if name in ("barrier", "delay"):
            continue
        qubits = tuple(transpiled.find_bit(q).index for q in instruction.qubits)
        esp *= 1 - (backend.target[name][qubits].error or 0.0)
    assert stats["transpiled"]["estimated_success_probability"] == pytest.approx(esp, rel=1e-12)
    assert stats["transpiled"]["active_qubits"] == 6
    assert stats["transpiled"]["layout"] == generator.options["layout"]
    assert stats["transpiled"]["two_qubit_gates"] == transpiled.count_ops().get("cx", 0)
    assert stats["logical"]["width"] == 6
    # the hardware profile is far shallower than the default generator on the full loader
    default = build_generator(encoding.loader, ansatz="ry_cz", reps=10, entanglement="full")
    baseline = hw.circuit_statistics(default, backend)
    assert stats["transpiled"]["two_qubit_gates"] * 5 <= baseline["transpiled"]["two_qubit_gates"]
    assert stats["transpiled"]["estimated_success_probability"] > baseline["transpiled"]["estimated_success_probability"]


def test_generator_built_for_another_device_is_refused(backend):
    prior = QuantumCircuit(2)
    generator = hw.build_hardware_generator(prior, backend)
    with pytest.raises(ValueError, match="built for device 'fake_guadalupe' but is run on 'fake_manila', which lacks"):
        hw.transpile_generator(generator, fake_backend("FakeManilaV2"))
    # a device with the same couplings on the layout (a real device and its fake twin) runs it
    line = QuantumCircuit(3)
    on_manila = hw.build_hardware_generator(line, fake_backend("FakeManilaV2"), layout=[0, 1, 2])
    assert hw.transpile_generator(on_manila, fake_backend("FakeBogotaV2")).count_ops()["cx"] == 2 * 2  # reps x couplings
    with pytest.raises(ValueError, match="lacks couplings of its layout"):
        hw.transpile_generator(
            hw.build_hardware_generator(line, fake_backend("FakeManilaV2"), layout=[1, 2, 3]), fake_backend("FakeLimaV2")
        )


def test_flows_expose_hardware_and_mitigation_forms():
    from prefect.utilities.callables import parameter_schema

    from flows.scenario_pipeline import scenario_pipeline
    from flows.training_pipeline import training_flow
    from quantum_scenarios.config import PipelineConfig, load_config

    for flow in (scenario_pipeline, training_flow):
        schema = parameter_schema(flow).model_dump()
        assert {"hardware", "mitigation"} <= set(schema["properties"])
        mitigation = schema["definitions"]["MitigationConfig"]["properties"]
        assert mitigation["zne_scales"]["default"] == [1, 3, 5] and "extrapolat" in mitigation["zne_extrapolation"]["description"]
        assert schema["definitions"]["HardwareConfig"]["properties"]["optimization_level"]["maximum"] == 3
    from pathlib import Path

    config = load_config(Path(__file__).resolve().parents[1] / "examples" / "hardware.yaml")
    assert isinstance(config, PipelineConfig)
    assert config.circuit.entanglement == "device" and config.executor.name == "exact_noisy"
    with pytest.raises(ValueError, match="zne_scales must be distinct odd integers"):
        load_config(overrides=["mitigation.zne_scales=[1,2]"])
