"""Tests for quantum_scenarios.encoding: grid, target histogram, qiskit-finance loaders, contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import Statevector
from scipy.stats import multivariate_normal
from qiskit_finance.circuit.library import LogNormalDistribution, NormalDistribution

from quantum_scenarios.encoding import (
    QUBIT_ORDER,
    SCHEMA_VERSION,
    EncodingContract,
    encode,
    encode_like,
)
from quantum_scenarios.errors import EncodingContractError, InputDataError
from quantum_scenarios.quantum.circuits import StateLoader


def _returns(n: int = 400, assets: tuple[str, ...] = ("SPX", "NDX", "WTI"), *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = len(assets)
    cov = 1e-4 * (0.5 * np.eye(d) + 0.5 * np.ones((d, d)))
    x = rng.multivariate_normal(np.linspace(-1e-3, 1e-3, d), cov, size=n)
    return pd.DataFrame(x, columns=list(assets), index=pd.bdate_range("2020-01-01", periods=n, name="date"))


# -- grid and loader -------------------------------------------------------------------------


@pytest.mark.parametrize("num_qubits", [[2], [3, 2], [1, 3, 2]])
def test_decoded_values_equal_the_qiskit_finance_loader_values(num_qubits: list[int]) -> None:
    frame = _returns(assets=tuple(f"A{i}" for i in range(len(num_qubits))))
    encoding = encode(frame, num_qubits=num_qubits)
    params = encoding.contract.loader_params
    loader_bounds = [(c[0], c[-1]) for c in encoding.contract.bin_centres]
    reference = NormalDistribution(num_qubits, mu=params["mu"], sigma=np.asarray(params["sigma"]), bounds=loader_bounds)
    np.testing.assert_allclose(encoding.values(), np.asarray(reference.values), rtol=0, atol=1e-15)
    np.testing.assert_allclose(encoding.prior, reference.probabilities, atol=1e-15)


def test_dimension_zero_is_in_the_most_significant_qubits() -> None:
    # asset 0 concentrated in its top bin, asset 1 in its bottom bin: a Statevector of the
    # qiskit-finance loader then puts the mass on index (top of asset 0) * 2**n1 + 0.
    mu, sigma = [0.9, -0.9], [[0.01, 0.0], [0.0, 0.01]]
    loader = NormalDistribution([2, 3], mu=mu, sigma=sigma, bounds=[(-1, 1), (-1, 1)])
    p = Statevector(loader).probabilities()
    assert int(np.argmax(p)) == 3 * 2**3 + 0
    # and our encoding decodes that index to (asset 0 high, asset 1 low)
    frame = pd.DataFrame({"A": [-1.0, 1.0], "B": [-1.0, 1.0]})
    encoding = encode(frame, num_qubits=[2, 3], bounds=[(-1.0, 1.0), (-1.0, 1.0)], loader="uniform")
    a, b = encoding.values()[3 * 2**3]
    assert a == encoding.contract.bin_centres[0][-1] and b == encoding.contract.bin_centres[1][0]


def test_loader_registers_are_named_after_assets_and_prepare_the_prior() -> None:
    encoding = encode(_returns(), num_qubits=[2, 3, 1])
    registers = {r.name: r for r in encoding.loader.qregs}
    assert set(registers) == {"SPX", "NDX", "WTI"}
    # asset 0 on the most significant qubits
    assert [encoding.loader.find_bit(q).index for q in registers["SPX"]] == [4, 5]
    assert [encoding.loader.find_bit(q).index for q in registers["WTI"]] == [0]
    p = Statevector(encoding.loader).probabilities()
    np.testing.assert_allclose(p, encoding.prior, atol=1e-8)  # qiskit's state preparation is ~1e-9 exact
    assert encoding.num_qubits_total == 6 and encoding.grid_shape == (4, 8, 2)


def test_normal_loader_is_fitted_with_the_covariance_not_the_standard_deviation() -> None:
    frame = _returns()
    params = encode(frame).contract.loader_params
    np.testing.assert_allclose(params["mu"], frame.mean().to_numpy())
    np.testing.assert_allclose(params["sigma"], np.cov(frame.to_numpy(), rowvar=False))


def test_lognormal_loader_on_positive_values() -> None:
    frame = np.exp(_returns(assets=("A", "B")))  # gross returns, all positive
    encoding = encode(frame, num_qubits=2, loader="lognormal", transform="gross_return")
    params = encoding.contract.loader_params
    np.testing.assert_allclose(params["mu"], np.log(frame).mean().to_numpy())
    reference = LogNormalDistribution(
        [2, 2], mu=params["mu"], sigma=np.asarray(params["sigma"]), bounds=[(c[0], c[-1]) for c in encoding.contract.bin_centres]
    )
    np.testing.assert_allclose(encoding.prior, reference.probabilities, atol=1e-15)


def test_uniform_and_none_loaders() -> None:
    uniform = encode(_returns(assets=("A", "B")), num_qubits=2, loader="uniform")
    np.testing.assert_allclose(Statevector(uniform.loader).probabilities(), np.full(16, 1 / 16), atol=1e-12)
    empty = encode(_returns(assets=("A", "B")), num_qubits=2, loader="none")
    assert empty.loader.size() == 0 and empty.prior[0] == 1.0


# -- bounds, histogram, clipping -------------------------------------------------------------


def test_default_bounds_are_widened_quantiles_and_edges_are_equal_bins() -> None:
    frame = _returns()
    encoding = encode(frame, num_qubits=3, quantiles=(0.01, 0.99), margin=0.2)
    for a, asset in enumerate(frame.columns):
        lo, hi = np.quantile(frame[asset], [0.01, 0.99])
        expected = (lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo))
        np.testing.assert_allclose(encoding.contract.bounds[a], expected)
        edges = np.asarray(encoding.contract.bin_edges[a])
        np.testing.assert_allclose(np.diff(edges), (expected[1] - expected[0]) / 8)
        np.testing.assert_allclose(encoding.contract.bin_centres[a], (edges[:-1] + edges[1:]) / 2)


def test_target_equals_numpy_histogramdd_with_clipping_into_edge_bins() -> None:
    frame = _returns(n=500)
    bounds = [(-0.01, 0.01), (-0.012, 0.012), (-0.015, 0.015)]
    encoding = encode(frame, num_qubits=[2, 2, 3], bounds=bounds)
    x = frame.to_numpy()
    clipped = np.column_stack([np.clip(x[:, a], lo + 1e-12, hi - 1e-12) for a, (lo, hi) in enumerate(bounds)])
    counts, _ = np.histogramdd(clipped, bins=[np.asarray(e) for e in encoding.contract.bin_edges])
    np.testing.assert_allclose(encoding.target, counts.ravel() / len(x))
    assert encoding.target.sum() == pytest.approx(1.0)
    expected_clipped = {a: int(np.sum((x[:, i] < lo) | (x[:, i] > hi))) for i, (a, (lo, hi)) in enumerate(zip(frame.columns, bounds))}
    assert encoding.clipped == expected_clipped and sum(expected_clipped.values()) > 0
    assert encoding.n_observations == 500


def test_marginal_and_digitize_agree_with_per_asset_binning() -> None:
    frame = _returns(n=300)
    encoding = encode(frame, num_qubits=[3, 2, 2])
    index = encoding.digitize(frame.to_numpy())
    bins = np.column_stack(np.unravel_index(index, encoding.grid_shape))
    for a in range(3):
        edges = np.asarray(encoding.contract.bin_edges[a])
        expected = np.clip(np.searchsorted(edges, frame.iloc[:, a].to_numpy(), side="right") - 1, 0, len(edges) - 2)
        np.testing.assert_array_equal(bins[:, a], expected)
        np.testing.assert_allclose(encoding.marginal(encoding.target, a), np.bincount(expected, minlength=len(edges) - 1) / 300)


def test_sample_is_seeded_dequantised_within_bins_and_follows_the_distribution() -> None:
    encoding = encode(_returns(assets=("A", "B")), num_qubits=2)
    p = encoding.target
    first = encoding.sample(p, 20_000, seed=7)
    np.testing.assert_array_equal(first, encoding.sample(p, 20_000, seed=7))
    assert first.shape == (20_000, 2)
    frequencies = np.bincount(encoding.digitize(first), minlength=p.size) / len(first)
    assert np.abs(frequencies - p).max() < 0.015
    centres = encoding.sample(p, 50, seed=1, dequantise=False)
    values = encoding.values()
    assert all(any(np.array_equal(row, v) for v in values) for row in centres)
    bounds = np.asarray(encoding.contract.bounds)
    assert np.all(first >= bounds[:, 0]) and np.all(first <= bounds[:, 1])


# -- contract --------------------------------------------------------------------------------


def test_contract_round_trips_through_json(tmp_path) -> None:
    contract = encode(_returns(), num_qubits=[2, 3, 1]).contract
    path = contract.to_json(tmp_path / "model" / "encoding.json")
    loaded = EncodingContract.from_json(path)
    assert loaded == contract
    loaded.check_compatible(contract)
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["qubit_order"] == QUBIT_ORDER
    assert data["transform"] == "log_return" and data["loader"] == "normal"
    assert set(data["versions"]) >= {"qiskit", "qiskit-finance"}
    assert not list(tmp_path.joinpath("model").glob("*.tmp"))


def test_check_compatible_names_every_differing_field() -> None:
    frame = _returns()
    expected = encode(frame, num_qubits=3).contract
    received = encode(frame, num_qubits=[3, 3, 2], transform="garch_t_residual").contract
    with pytest.raises(EncodingContractError, match=r"num_qubits: expected \(3, 3, 3\), received \(3, 3, 2\)") as info:
        expected.check_compatible(received)
    message = str(info.value)
    assert "transform: expected 'log_return', received 'garch_t_residual'" in message
    assert "bin_edges" in message and "encode_like" in message
    assert "assets" not in message


def test_check_frame_reports_missing_unexpected_and_order() -> None:
    contract = encode(_returns(), num_qubits=2).contract
    contract.check_frame(_returns())
    with pytest.raises(EncodingContractError, match=r"missing \['WTI'\], unexpected \['OIL'\]"):
        contract.check_frame(_returns().rename(columns={"WTI": "OIL"}))
    with pytest.raises(EncodingContractError, match=r"different order.*frame\[list\(contract.assets\)\]"):
        contract.check_frame(_returns()[["NDX", "SPX", "WTI"]])


def test_from_dict_rejects_other_schema_versions_and_missing_fields(tmp_path) -> None:
    data = encode(_returns(), num_qubits=2).contract.to_dict()
    with pytest.raises(EncodingContractError, match=r"schema_version: expected 1, received 99"):
        EncodingContract.from_dict({**data, "schema_version": 99})
    with pytest.raises(EncodingContractError, match=r"missing field\(s\) \['bounds'\]"):
        EncodingContract.from_dict({k: v for k, v in data.items() if k != "bounds"})
    path = tmp_path / "encoding.json"
    path.write_text("{not json")
    with pytest.raises(EncodingContractError, match=r"encoding.json: not valid JSON"):
        EncodingContract.from_json(path)


def test_encode_like_reuses_the_models_grid_on_new_data() -> None:
    model = encode(_returns(seed=0), num_qubits=2)
    new = encode_like(_returns(n=100, seed=1), model.contract)
    model.contract.check_compatible(new.contract)
    np.testing.assert_allclose(new.target, new.histogram(_returns(n=100, seed=1).to_numpy()))
    with pytest.raises(EncodingContractError, match="asset columns do not match"):
        encode_like(_returns(assets=("SPX", "NDX")), model.contract)


# -- errors ----------------------------------------------------------------------------------


def test_non_finite_values_name_asset_and_date() -> None:
    frame = _returns()
    frame.iloc[5, 1] = np.nan
    with pytest.raises(InputDataError, match=r"asset 'NDX', date 2020-01-08 00:00:00: value nan is not finite"):
        encode(frame)


def test_constant_asset_and_singular_covariance_are_domain_errors() -> None:
    frame = _returns()
    frame["FLAT"] = 0.0
    with pytest.raises(InputDataError, match=r"asset 'FLAT'.*constant.*Pass explicit bounds"):
        encode(frame)
    twins = _returns(assets=("A",))
    twins["B"] = twins["A"]
    with pytest.raises(InputDataError, match=r"assets \['A', 'B'\].*covariance is not positive definite.*duplicate or perfectly correlated"):
        encode(twins, num_qubits=2)


@pytest.mark.parametrize("num_qubits", [[4, 4, 4], [4, 4, 4, 4]])
def test_normal_prior_builds_at_scale_and_equals_the_discretised_density(num_qubits: list[int]) -> None:
    # qiskit's generic state preparation failed here with "Input matrix is not unitary" (issue 10)
    rng = np.random.default_rng(0)
    d = len(num_qubits)
    x = rng.multivariate_normal(np.zeros(d), 1e-4 * (np.eye(d) + 0.3), size=2000)
    encoding = encode(pd.DataFrame(x, columns=[f"A{i}" for i in range(d)]), num_qubits=num_qubits)
    params = encoding.contract.loader_params
    reference = multivariate_normal.pdf(encoding.values(), params["mu"], np.asarray(params["sigma"]))
    np.testing.assert_allclose(encoding.prior, reference / reference.sum(), rtol=1e-10, atol=0)
    (instruction,) = encoding.loader.data
    np.testing.assert_allclose(instruction.operation.amplitudes, np.sqrt(encoding.prior), rtol=0, atol=1e-15)


def test_state_loader_synthesis_prepares_its_amplitudes() -> None:
    rng = np.random.default_rng(3)
    amplitudes = rng.random(32) * (rng.random(32) > 0.3)  # with empty cells
    amplitudes /= np.linalg.norm(amplitudes)
    circuit = QuantumCircuit(5)
    circuit.append(StateLoader(amplitudes), range(5))
    np.testing.assert_allclose(Statevector(circuit).data, amplitudes, atol=1e-12)
    np.testing.assert_allclose(Statevector(transpile(circuit, basis_gates=["ry", "cx"])).data, amplitudes, atol=1e-12)
    with pytest.raises(ValueError, match=r"amplitudes must have unit norm, received norm 2\b"):
        StateLoader(2 * amplitudes)


def test_bad_arguments_raise_value_errors() -> None:
    frame = _returns()
    with pytest.raises(ValueError, match=r"loader must be one of .* received 'gaussian'"):
        encode(frame, loader="gaussian")
    with pytest.raises(ValueError, match=r"num_qubits has 2 entries; expected one per asset \(3\)"):
        encode(frame, num_qubits=[2, 2])
    with pytest.raises(ValueError, match=r"bounds for asset 'NDX' must be finite with low < high"):
        encode(frame, bounds=[(-1, 1), (1, -1), (-1, 1)])
    with pytest.raises(ValueError, match=r"loader 'lognormal' needs strictly positive values, but asset 'SPX'"):
        encode(frame, loader="lognormal")
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame"):
        encode(frame.to_numpy())
    encoding = encode(frame, num_qubits=2)
    with pytest.raises(ValueError, match=r"probabilities must have shape \(64,\)"):
        encoding.sample(np.ones(8), 3, seed=0)
    with pytest.raises(ValueError, match=r"values must have shape \(m, 3\)"):
        encoding.digitize(np.zeros((4, 2)))
