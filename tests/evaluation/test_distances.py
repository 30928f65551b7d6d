"""Tests for quantum_scenarios.evaluation.distances against closed forms and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import entropy, norm, wasserstein_distance

from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation import (
    classical_fidelity,
    correlation_error,
    grid_correlation,
    js_divergence,
    kl_divergence,
    state_fidelity,
    total_variation,
    wasserstein_per_asset,
)

A, B = 0.3, 0.6  # two Bernoullis P(1) = A and P(1) = B, as distributions over {0, 1}
P, Q = np.array([1 - A, A]), np.array([1 - B, B])


def test_kl_of_two_bernoullis_in_both_directions() -> None:
    forward = A * np.log(A / B) + (1 - A) * np.log((1 - A) / (1 - B))
    backward = B * np.log(B / A) + (1 - B) * np.log((1 - B) / (1 - A))
    assert kl_divergence(P, Q) == pytest.approx(forward, abs=1e-15)
    assert kl_divergence(Q, P) == pytest.approx(backward, abs=1e-15)
    assert kl_divergence(P, P) == 0.0
    assert kl_divergence(P, Q) == pytest.approx(entropy(P, Q), abs=1e-15)


def test_kl_empty_bin_rule() -> None:
    # p(x)=0 contributes nothing, whatever q is
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert kl_divergence(p, q) == pytest.approx(np.log(2), abs=1e-15)
    # q(x)=0 where p(x)>0: q floored at epsilon, then renormalised
    p, q, eps = np.array([0.5, 0.5]), np.array([1.0, 0.0]), 1e-6
    floored = np.array([1.0, eps]) / (1 + eps)
    expected = 0.5 * np.log(0.5 / floored[0]) + 0.5 * np.log(0.5 / floored[1])
    assert kl_divergence(p, q, epsilon=eps) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(kl_divergence(p, q))


def test_js_of_two_bernoullis_and_its_bound() -> None:
    m = (P + Q) / 2
    expected = 0.5 * np.sum(P * np.log(P / m)) + 0.5 * np.sum(Q * np.log(Q / m))
    assert js_divergence(P, Q) == pytest.approx(expected, abs=1e-15)
    assert js_divergence(P, Q) == pytest.approx(js_divergence(Q, P), abs=1e-15)
    assert js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.log(2), abs=1e-15)


def test_total_variation_and_classical_fidelity_of_two_bernoullis() -> None:
    assert total_variation(P, Q) == pytest.approx(abs(A - B), abs=1e-15)
    expected = (np.sqrt(A * B) + np.sqrt((1 - A) * (1 - B))) ** 2
    assert classical_fidelity(P, Q) == pytest.approx(expected, abs=1e-15)
    assert classical_fidelity(P, P) == pytest.approx(1.0)
    assert classical_fidelity([1, 0], [0, 1]) == 0.0


def test_inputs_are_normalised_and_torch_tensors_accepted() -> None:
    assert total_variation(torch.tensor([7.0, 3.0]), np.array([4, 6])) == pytest.approx(abs(A - B))
    assert kl_divergence([70, 30], [40, 60]) == pytest.approx(kl_divergence(P, Q))


def test_state_fidelity_closed_forms() -> None:
    # real non-negative amplitudes: equals the classical fidelity
    assert state_fidelity(P, np.sqrt(Q)) == pytest.approx(classical_fidelity(P, Q), abs=1e-15)
    # a relative phase φ on |1⟩: |√((1-A)(1-B)) + e^{iφ}√(AB)|²
    phi = 2.0
    amplitudes = np.sqrt(Q) * np.array([1, np.exp(1j * phi)])
    expected = abs(np.sqrt((1 - A) * (1 - B)) + np.exp(1j * phi) * np.sqrt(A * B)) ** 2
    assert state_fidelity(P, torch.tensor(amplitudes)) == pytest.approx(expected, abs=1e-15)
    assert state_fidelity(P, 3 * np.sqrt(P)) == pytest.approx(1.0)  # amplitudes normalised
    with pytest.raises(ValueError, match=r"amplitudes must have shape \(2,\) like p_target, received \(3,\)"):
        state_fidelity(P, np.ones(3))


@pytest.fixture(scope="module")
def encoding():
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.6], [0.6, 2.0]], size=2000)
    return encode(pd.DataFrame(x, columns=["A", "B"]), num_qubits=[3, 4], bounds=[(-4.0, 4.0), (-5.0, 5.0)])


def _gaussian_on_grid(encoding, means: tuple[float, float]) -> np.ndarray:
    values = encoding.values()
    p = norm.pdf(values[:, 0], means[0], 1.0) * norm.pdf(values[:, 1], means[1], 1.5)
    return p / p.sum()


def test_wasserstein_per_asset_equals_scipy(encoding) -> None:
    p, q = _gaussian_on_grid(encoding, (0.0, 0.0)), _gaussian_on_grid(encoding, (1.0, -0.5))
    result = wasserstein_per_asset(p, q, encoding)
    assert list(result) == ["A", "B"]
    for a, asset in enumerate(["A", "B"]):
        centres = np.asarray(encoding.contract.bin_centres[a])
        expected = wasserstein_distance(centres, centres, encoding.marginal(p, a), encoding.marginal(q, a))
        assert result[asset] == pytest.approx(expected, rel=1e-12)


def test_wasserstein_of_a_shift_by_whole_bins(encoding) -> None:
    # all mass in bin 2 vs bin 5 of asset A (width 1.0), same for B: W1 = 3 bins
    grid = np.zeros(encoding.grid_shape)
    shifted = np.zeros(encoding.grid_shape)
    grid[2, 7], shifted[5, 7] = 1.0, 1.0
    result = wasserstein_per_asset(grid.ravel(), shifted.ravel(), encoding)
    assert result == pytest.approx({"A": 3.0, "B": 0.0})


def test_grid_correlation_equals_weighted_numpy_correlation(encoding) -> None:
    p = encoding.target
    values = encoding.values()
    expected = np.cov(values.T, aweights=p)
    expected = expected / np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(grid_correlation(p, encoding), expected, atol=1e-12)
    # the data were drawn with correlation 0.6/sqrt(2) ≈ 0.42
    assert grid_correlation(p, encoding)[0, 1] == pytest.approx(0.6 / np.sqrt(2), abs=0.05)
    # independent product distribution: zero correlation
    assert grid_correlation(_gaussian_on_grid(encoding, (0, 0)), encoding)[0, 1] == pytest.approx(0.0, abs=1e-12)


def test_correlation_error() -> None:
    c1 = np.array([[1.0, 0.5], [0.5, 1.0]])
    c2 = np.array([[1.0, 0.2], [0.2, 1.0]])
    assert correlation_error(c1, c2) == pytest.approx({"frobenius": np.sqrt(2 * 0.3**2), "max_abs": 0.3})
    with pytest.raises(ValueError, match=r"square matrices of the same shape, received \(2, 2\) and \(3, 3\)"):
        correlation_error(c1, np.eye(3))


def test_distribution_errors() -> None:
    with pytest.raises(ValueError, match=r"p and q must be on the same grid; received shapes \(2,\) and \(3,\)"):
        kl_divergence(P, np.ones(3))
    with pytest.raises(ValueError, match="p must be non-negative; received minimum -0.5"):
        total_variation([1.5, -0.5], Q)
    with pytest.raises(ValueError, match="q must have positive total mass"):
        js_divergence(P, [0.0, 0.0])
    with pytest.raises(ValueError, match=r"epsilon must be in \(0, 1\), received 0"):
        kl_divergence(P, Q, epsilon=0)
    with pytest.raises(ValueError, match="p must be finite"):
        classical_fidelity([np.nan, 1.0], Q)


def test_sample_kl_is_qugens_binned_kl_by_hand() -> None:
    from quantum_scenarios.evaluation import sample_kl

    x = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.2, 0.9]])
    y = np.array([[0.1, 0.1], [0.9, 0.9], [0.9, 0.8], [5.0, 5.0]])  # the last one is outside the range
    # 2 bins per dim over [0, 1]: x -> cells (0,0), (1,1), (1,0), (0,1); y -> (0,0), (1,1), (1,1)
    p = np.array([0.25, 0.25, 0.25, 0.25])  # cells (0,0), (0,1), (1,0), (1,1)
    q = np.array([1 / 3, 0.0, 0.0, 2 / 3])
    expected = float(np.sum(p * np.log((p + 1e-6) / (q + 1e-6))))
    assert sample_kl(x, y, bins=2) == pytest.approx(expected, rel=1e-12)
    assert sample_kl(x, x, bins=2) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="same d"):
        sample_kl(x, y[:, :1])


# --------------------------------------------------------------------------------------------
# The evaluation grid for many assets: joint, or the mean over asset pairs (evaluation.grids)
# --------------------------------------------------------------------------------------------


def _t_values(d: int, n: int, seed: int) -> pd.DataFrame:
    """Correlated Student-t(5) values with one common factor."""
    rng = np.random.default_rng(seed)
    common = rng.standard_t(5, (n, 1))
    x = 0.7 * common + 0.7 * rng.standard_t(5, (n, d))
    return pd.DataFrame(x, columns=[f"A{k}" for k in range(d)])


def _numpy_pair_histogram(x: np.ndarray, edges_i: np.ndarray, edges_j: np.ndarray) -> np.ndarray:
    """Pair histogram with numpy alone: values beyond the bounds land in the edge bins."""
    xi = np.clip(x[:, 0], edges_i[0], np.nextafter(edges_i[-1], -np.inf))
    xj = np.clip(x[:, 1], edges_j[0], np.nextafter(edges_j[-1], -np.inf))
    counts, _, _ = np.histogram2d(xi, xj, bins=[edges_i, edges_j])
    return (counts / counts.sum()).ravel()


def _numpy_kl(p: np.ndarray, q: np.ndarray, epsilon: float = 1e-10) -> float:
    """KL(p || q) by hand, with the library's rule: q floored at epsilon on p's support, renormalised."""
    q = np.where((p > 0) & (q < epsilon), epsilon, q)
    q = q / q.sum()
    s = p > 0
    return float(np.sum(p[s] * np.log(p[s] / q[s])))


def test_pairwise_grid_on_two_assets_equals_the_joint_grid() -> None:
    from quantum_scenarios.evaluation.grids import JointGrid, PairwiseGrid

    train, test = _t_values(2, 800, 1), _t_values(2, 300, 2).to_numpy()
    encoding = encode(train, num_qubits=3, loader="uniform")
    model = _t_values(2, 5_000, 3).to_numpy() * 1.2
    joint, pairwise = JointGrid(encoding), PairwiseGrid(encoding, train.to_numpy())
    np.testing.assert_allclose(pairwise.target.probabilities[0], encoding.target, atol=1e-15)
    models_joint = {"m": joint.histogram(model), "train": encoding.target}
    models_pair = {"m": pairwise.histogram(model), "train": pairwise.target}
    a = joint.metric_table(encoding.target, joint.histogram(test), models_joint)
    b = pairwise.metric_table(pairwise.target, pairwise.histogram(test), models_pair)
    pd.testing.assert_frame_equal(a, b, atol=1e-12, rtol=0)
    h, p = pairwise.histogram(test), pairwise.histogram(model)
    assert pairwise.kl(h, p) == pytest.approx(joint.kl(joint.histogram(test), joint.histogram(model)), abs=1e-14)
    assert pairwise.fidelity(h, p) == pytest.approx(joint.fidelity(joint.histogram(test), joint.histogram(model)), abs=1e-14)
    assert pairwise.coverage(p, h, 1e-3) == joint.coverage(joint.histogram(model), joint.histogram(test), 1e-3)


def test_pairwise_metrics_on_three_assets_are_the_mean_of_three_numpy_2d_metrics() -> None:
    from quantum_scenarios.evaluation.grids import PairwiseGrid

    train, test = _t_values(3, 900, 4), _t_values(3, 400, 5).to_numpy()
    model = 1.1 * _t_values(3, 20_000, 6).to_numpy()
    encoding = encode(train, num_qubits=2, loader="uniform")
    grid = PairwiseGrid(encoding, train.to_numpy())
    assert grid.pairs == ((0, 1), (0, 2), (1, 2))
    assert grid.description == "pairwise mean over 3 pairs, 2 qubits per asset (16 cells per pair)"
    edges = [np.asarray(e) for e in encoding.contract.bin_edges]
    kls, fids, covers = [], [], []
    for k, (i, j) in enumerate(grid.pairs):
        h = _numpy_pair_histogram(test[:, [i, j]], edges[i], edges[j])
        q = _numpy_pair_histogram(model[:, [i, j]], edges[i], edges[j])
        np.testing.assert_allclose(grid.histogram(test).probabilities[k], h, atol=1e-15)
        kls.append(_numpy_kl(h, q))
        fids.append(np.sum(np.sqrt(h * q)) ** 2)
        covers.append(np.mean(q[h > 0] >= 1e-3))
    h_all, q_all = grid.histogram(test), grid.histogram(model)
    assert grid.kl(h_all, q_all) == pytest.approx(np.mean(kls), abs=1e-14)
    assert grid.fidelity(h_all, q_all) == pytest.approx(np.mean(fids), abs=1e-14)
    assert grid.coverage(q_all, h_all, 1e-3) == pytest.approx(np.mean(covers), abs=1e-15)
    row = grid.metric_table(grid.target, h_all, {"m": q_all}).set_index(["model", "sample"]).loc[("m", "out")]
    assert row["kl"] == pytest.approx(np.mean(kls), abs=1e-14)
    assert row["fidelity"] == pytest.approx(np.mean(fids), abs=1e-14)


def test_pairwise_correlation_and_w1_equal_the_joint_grid_and_pairs_marginalise_exactly() -> None:
    from quantum_scenarios.evaluation.grids import JointGrid, PairwiseGrid

    train = _t_values(3, 700, 7)
    encoding = encode(train, num_qubits=2, loader="uniform")
    joint, pairwise = JointGrid(encoding), PairwiseGrid(encoding, train.to_numpy())
    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.ones(64))
    # a joint distribution marginalised onto each pair equals numpy's sum over the third axis
    pairs = pairwise.distribution(p)
    cube = p.reshape(4, 4, 4)
    for (i, j), q in zip(pairs.pairs, pairs.probabilities):
        np.testing.assert_allclose(q, cube.sum(axis=3 - i - j).ravel(), atol=1e-15)
    # and the pairs of the training histogram are the pair histograms of the training values
    for a, b in zip(pairwise.distribution(encoding.target).probabilities, pairwise.target.probabilities):
        np.testing.assert_allclose(a, b, atol=1e-15)
    a = joint.metric_table(encoding.target, encoding.target, {"m": p}).set_index(["model", "sample"])
    b = pairwise.metric_table(encoding.target, encoding.target, {"m": p}).set_index(["model", "sample"])
    for column in ("w1", "corr_max_abs", "corr_frobenius"):
        np.testing.assert_allclose(b[column], a[column], atol=1e-12)
    # per-asset marginals from the pairs equal the joint grid's
    for k, m in enumerate(pairwise.marginals(pairs)):
        np.testing.assert_allclose(m, encoding.marginal(p, k), atol=1e-15)


def test_pairwise_gaussian_is_the_bivariate_marginal_of_the_joint_gaussian() -> None:
    from quantum_scenarios.evaluation.grids import JointGrid, PairwiseGrid

    train = _t_values(3, 600, 9)
    encoding = encode(train, num_qubits=2, loader="uniform")
    joint, pairwise = JointGrid(encoding), PairwiseGrid(encoding, train.to_numpy())
    from_joint = pairwise.distribution(joint.gaussian(train.to_numpy()))
    direct = pairwise.gaussian(train.to_numpy())
    for a, b in zip(from_joint.probabilities, direct.probabilities):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_evaluation_grid_choice_and_per_asset_encoding_of_twenty_assets() -> None:
    from quantum_scenarios.evaluation.grids import JointGrid, PairwiseGrid, evaluation_grid

    small = _t_values(4, 300, 10)
    enc4 = encode(small, num_qubits=3)
    assert isinstance(evaluation_grid(enc4, small.to_numpy()), JointGrid)
    assert evaluation_grid(enc4, small.to_numpy()).description == "joint 4 assets x 3 qubits (4,096 cells)"
    assert isinstance(evaluation_grid(enc4, small.to_numpy(), max_assets=3), PairwiseGrid)

    many = _t_values(20, 500, 11)
    enc = encode(many, num_qubits=3, joint=False)  # 2**60 cells: only the per-asset grid is built
    assert not enc.joint and enc.target.size == 0 and enc.prior is None and enc.contract.loader == "none"
    assert enc.loader.num_qubits == 60 and enc.loader.size() == 0
    with pytest.raises(ValueError, match="per asset only"):
        enc.histogram(many.to_numpy())
    grid = evaluation_grid(enc, many.to_numpy())
    assert isinstance(grid, PairwiseGrid) and len(grid.pairs) == 190
    assert grid.description == "pairwise mean over 190 pairs, 3 qubits per asset (64 cells per pair)"
    # the same bins as a joint encoding of any two of the assets
    pair = encode(many[["A3", "A17"]], num_qubits=3, loader="uniform")
    k = grid.pairs.index((3, 17))
    np.testing.assert_allclose(grid.target.probabilities[k], pair.target, atol=1e-15)
    with pytest.raises(ValueError, match="per asset only"):
        JointGrid(enc)
