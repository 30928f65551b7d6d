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
