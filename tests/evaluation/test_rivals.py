"""Gaussian and bootstrap baselines on the encoding grid, checked against scipy and sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantum_scenarios.evaluation import bootstrap_baseline, bootstrap_sampler, gaussian_baseline, gaussian_sampler
from quantum_scenarios.encoding import encode

COV = np.array([[1.0, 0.6], [0.6, 2.0]])


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.multivariate_normal([0.1, -0.2], COV, size=3000), columns=["X", "Y"])


@pytest.fixture(scope="module")
def encoding(train: pd.DataFrame):
    return encode(train, num_qubits=3, margin=0.0)


def test_one_asset_gaussian_equals_normal_cdf_differences() -> None:
    x = pd.DataFrame({"X": np.random.default_rng(1).standard_t(5, size=2000)})
    enc = encode(x, num_qubits=3, margin=0.0)
    probs = gaussian_baseline(x, enc)
    edges = np.asarray(enc.contract.bin_edges[0])
    cdf = stats.norm.cdf(edges[1:-1], loc=x["X"].mean(), scale=x["X"].std(ddof=1))
    expected = np.diff(np.r_[0.0, cdf, 1.0])  # edge bins absorb the tails, as clipped data do
    np.testing.assert_allclose(probs, expected, atol=1e-12)


def test_two_asset_gaussian_cells_match_scipy_rectangles(train: pd.DataFrame, encoding) -> None:
    probs = gaussian_baseline(train, encoding)
    assert probs.shape == (64,) and probs.sum() == pytest.approx(1.0)
    mean, cov = train.mean().to_numpy(), np.cov(train.to_numpy(), rowvar=False)
    edges = [np.asarray(e) for e in encoding.contract.bin_edges]
    centres = [np.asarray(c) for c in encoding.contract.bin_centres]
    for i, j in [(0, 0), (3, 4), (7, 2), (5, 5), (0, 7)]:
        lower = [edges[0][i] if i > 0 else -np.inf, edges[1][j] if j > 0 else -np.inf]
        upper = [edges[0][i + 1] if i < 7 else np.inf, edges[1][j + 1] if j < 7 else np.inf]
        rectangle = stats.multivariate_normal.cdf(
            upper, mean=mean, cov=cov, lower_limit=lower, abseps=1e-9, releps=0, rng=np.random.default_rng(5)
        )
        k = encoding.digitize(np.array([[centres[0][i], centres[1][j]]]))[0]  # basis-state order
        assert probs[k] == pytest.approx(rectangle, abs=1e-5)


def test_gaussian_marginals_are_exact_normal_marginals(train: pd.DataFrame, encoding) -> None:
    probs = gaussian_baseline(train, encoding)
    for a, column in enumerate(train.columns):
        edges = np.asarray(encoding.contract.bin_edges[a])
        cdf = stats.norm.cdf(edges[1:-1], loc=train[column].mean(), scale=train[column].std(ddof=1))
        np.testing.assert_allclose(encoding.marginal(probs, a), np.diff(np.r_[0.0, cdf, 1.0]), atol=2e-5)


def test_gaussian_baseline_agrees_with_a_histogram_of_samples(train: pd.DataFrame, encoding) -> None:
    probs = gaussian_baseline(train, encoding)
    sample = gaussian_sampler(train)(1_000_000, np.random.default_rng(2))
    np.testing.assert_allclose(encoding.histogram(sample), probs, atol=2e-3)


def test_bootstrap_baseline_is_the_training_histogram(train: pd.DataFrame, encoding) -> None:
    np.testing.assert_array_equal(bootstrap_baseline(train, encoding), encoding.target)


def test_samplers_are_seeded_and_faithful(train: pd.DataFrame) -> None:
    gauss = gaussian_sampler(train)
    a, b = gauss(200_000, np.random.default_rng(3)), gauss(200_000, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.mean(axis=0), train.mean().to_numpy(), atol=0.01)
    np.testing.assert_allclose(np.cov(a, rowvar=False), np.cov(train.to_numpy(), rowvar=False), atol=0.02)
    boot = bootstrap_sampler(train)
    rows = boot(500, np.random.default_rng(4))
    assert rows.shape == (500, 2)
    training_rows = {tuple(r) for r in train.to_numpy()}
    assert all(tuple(r) in training_rows for r in rows)
    np.testing.assert_array_equal(rows, boot(500, np.random.default_rng(4)))


def test_bad_training_data_is_rejected(train: pd.DataFrame, encoding) -> None:
    with pytest.raises(ValueError, match=r"one column per encoded asset; expected 2, received 3"):
        gaussian_baseline(np.zeros((10, 3)), encoding)
    with pytest.raises(ValueError, match=r"more observations than assets .* received 2 rows for 2 assets"):
        gaussian_sampler(np.ones((2, 2)))
    duplicated = np.column_stack([train["X"], train["X"]])
    with pytest.raises(ValueError, match=r"training covariance is singular .* drop duplicate or perfectly correlated"):
        gaussian_sampler(duplicated)
    gappy = train.to_numpy().copy()
    gappy[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"train must be finite; row 7 holds NaN or inf"):
        bootstrap_baseline(gappy, encoding)
