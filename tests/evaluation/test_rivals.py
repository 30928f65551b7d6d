"""Gaussian and bootstrap baselines on the encoding grid, checked against scipy and sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantum_scenarios.evaluation import bootstrap_baseline, bootstrap_sampler, gaussian_baseline, gaussian_sampler
from quantum_scenarios.evaluation.rivals import (
    RIVALS,
    ClassicalGAN,
    DCCGarch,
    FilteredHistoricalSimulation,
    GaussianRival,
    StudentTCopula,
    _dcc_t_loglik,
    dcc_correlations,
    grid_probabilities,
    make_rival,
)
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


# --------------------------------------------------------------------------------------------
# The rival family: fit, then draw
# --------------------------------------------------------------------------------------------


def _t_copula_sample(n: int, rho: float, nu: float, marginal_df: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    corr = np.array([[1.0, rho], [rho, 1.0]])
    g = rng.multivariate_normal([0, 0], corr, size=n)
    u = stats.t.cdf(g / np.sqrt(rng.chisquare(nu, size=(n, 1)) / nu), df=nu)
    return stats.t.ppf(u, df=marginal_df, loc=0.1, scale=0.5)


def test_every_rival_fits_then_draws_reproducibly(train: pd.DataFrame, encoding) -> None:
    for name in RIVALS:
        options = {"epochs": 5} if name == "classical_gan" else {}
        rival = make_rival(name, **options)
        with pytest.raises(ValueError, match="is not fitted; call fit"):
            rival.draw(3, np.random.default_rng(0))
        rival.fit(train)
        a, b = rival.draw(400, np.random.default_rng(5)), rival.draw(400, np.random.default_rng(5))
        assert a.shape == (400, 2) and np.isfinite(a).all(), name
        np.testing.assert_array_equal(a, b)
        p = grid_probabilities(rival, encoding, n_samples=2_000, seed=1)
        assert p.shape == encoding.target.shape and abs(p.sum() - 1) < 1e-12
    with pytest.raises(ValueError, match="unknown rival 'vine'"):
        make_rival("vine")


def test_gaussian_rival_and_fhs_match_their_closed_forms(train: pd.DataFrame) -> None:
    x = train.to_numpy()
    g = GaussianRival().fit(x)
    np.testing.assert_allclose(g.cov, np.cov(x, rowvar=False))
    draws = g.draw(300_000, np.random.default_rng(0))
    np.testing.assert_allclose(np.cov(draws, rowvar=False), np.cov(x, rowvar=False), atol=0.02)
    fhs = FilteredHistoricalSimulation().fit(x)
    rows = fhs.draw(20_000, np.random.default_rng(1))
    # every draw is a whole training day; each day is drawn with probability 1/m
    index = {tuple(r): i for i, r in enumerate(x)}
    counts = np.bincount([index[tuple(r)] for r in rows], minlength=len(x))
    assert stats.chisquare(counts).pvalue > 1e-3


def test_t_copula_recovers_kendall_tau_marginals_and_tail_dependence() -> None:
    x = _t_copula_sample(4000, rho=0.6, nu=4.0, marginal_df=5.0, seed=3)
    rival = StudentTCopula().fit(x)
    for j in range(2):  # marginals are scipy's own t fit
        np.testing.assert_allclose(rival.marginals[j], stats.t.fit(x[:, j]))
    tau = stats.kendalltau(x[:, 0], x[:, 1]).statistic
    assert rival.corr[0, 1] == pytest.approx(np.sin(np.pi * tau / 2), abs=1e-12)
    assert rival.corr[0, 1] == pytest.approx(0.6, abs=0.04)
    assert 2.5 < rival.nu < 7.0
    draws = rival.draw(200_000, np.random.default_rng(9))
    # Kendall's tau of an elliptical copula: 2/pi arcsin(rho)
    sub = draws[:20_000]
    assert stats.kendalltau(sub[:, 0], sub[:, 1]).statistic == pytest.approx(
        2 / np.pi * np.arcsin(rival.corr[0, 1]), abs=0.02
    )
    # lower-tail dependence of the t copula: 2 t_{nu+1}(-sqrt((nu+1)(1-rho)/(1+rho)))
    nu, rho = rival.nu, rival.corr[0, 1]
    closed = 2 * stats.t.cdf(-np.sqrt((nu + 1) * (1 - rho) / (1 + rho)), df=nu + 1)
    u = stats.rankdata(draws, axis=0) / (len(draws) + 1)
    q = 0.01
    empirical = np.mean((u[:, 0] <= q) & (u[:, 1] <= q)) / q
    assert empirical == pytest.approx(closed, abs=0.08)


def test_dcc_recursion_and_likelihood_against_direct_forms() -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal((300, 3)) @ np.linalg.cholesky(np.array([[1, .5, .2], [.5, 1, .3], [.2, .3, 1]])).T
    a, b = 0.07, 0.88
    R, q_next = dcc_correlations(z, a, b)
    S = z.T @ z / len(z)
    Q = S.copy()
    for t in range(len(z)):
        s = np.sqrt(np.diag(Q))
        np.testing.assert_allclose(R[t], Q / np.outer(s, s), atol=1e-12)
        Q = (1 - a - b) * S + a * np.outer(z[t], z[t]) + b * Q
    np.testing.assert_allclose(q_next, Q, atol=1e-12)
    # a = b = 0: constant correlation, the normalised second moment
    R0, _ = dcc_correlations(z, 0.0, 0.0)
    s = np.sqrt(np.diag(S))
    np.testing.assert_allclose(R0, np.broadcast_to(S / np.outer(s, s), R0.shape), atol=1e-12)
    # the standardised multivariate-t log density equals scipy's with shape R (nu-2)/nu
    nu = 6.5
    expected = sum(
        stats.multivariate_t(loc=np.zeros(3), shape=R[t] * (nu - 2) / nu, df=nu).logpdf(z[t]) for t in range(len(z))
    )
    assert _dcc_t_loglik(z, R, nu) == pytest.approx(expected, rel=1e-10)


def test_dcc_estimation_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(11)
    a, b, nu, T = 0.06, 0.90, 8.0, 2500
    S = np.array([[1.0, 0.5], [0.5, 1.0]])
    Q = S.copy()
    z = np.empty((T, 2))
    for t in range(T):
        s = np.sqrt(np.diag(Q))
        R = Q / np.outer(s, s)
        g = np.linalg.cholesky(R) @ rng.standard_normal(2)
        z[t] = g / np.sqrt(rng.chisquare(nu) / nu) * np.sqrt((nu - 2) / nu)
        Q = (1 - a - b) * S + a * np.outer(z[t], z[t]) + b * Q
    rival = DCCGarch().fit(z)
    assert rival.a == pytest.approx(a, abs=0.03)
    assert rival.b == pytest.approx(b, abs=0.06)
    assert 5.0 < rival.nu < 14.0
    draws = rival.draw(5000, np.random.default_rng(0))
    assert np.corrcoef(draws, rowvar=False)[0, 1] == pytest.approx(0.5, abs=0.1)


def test_dcc_draw_chains_follow_the_recursion_from_the_end_of_the_sample() -> None:
    rng = np.random.default_rng(5)
    rival = DCCGarch().fit(rng.standard_t(6, size=(1500, 3)) * np.sqrt(4 / 6))
    rival.chain_length = 40
    draws = rival.draw(100, np.random.default_rng(3))  # chains of 40, 40 and 20 days
    assert draws.shape == (100, 3)
    # Written out with the scalar loop of Engle's recursion: one chain equals it draw for draw.
    rival.chain_length = 10**9
    one = rival.draw(60, np.random.default_rng(3))
    rg, Q, expected = np.random.default_rng(3), rival.q_next.copy(), []
    for _ in range(60):
        s = np.sqrt(np.diag(Q))
        g = np.linalg.cholesky(Q / np.outer(s, s)) @ rg.standard_normal(3)
        z = g / np.sqrt(rg.chisquare(rival.nu) / rival.nu) * np.sqrt((rival.nu - 2) / rival.nu)
        expected.append(z)
        Q = (1 - rival.a - rival.b) * rival.S + rival.a * np.outer(z, z) + rival.b * Q
    np.testing.assert_allclose(one, np.array(expected), rtol=0, atol=1e-12)
    # Every chain restarts from Q_{T+1}: day 0 of each chain has the same conditional correlation.
    rival.chain_length = 1
    firsts = rival.draw(200_000, np.random.default_rng(4))
    s = np.sqrt(np.diag(rival.q_next))
    np.testing.assert_allclose(np.corrcoef(firsts, rowvar=False), rival.q_next / np.outer(s, s), atol=0.01)


def test_classical_gan_learns_a_shifted_normal_within_its_budget() -> None:
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -0.5], [0.5, 1.0], size=(3000, 2))
    gan = ClassicalGAN(epochs=400, seed=1).fit(x)
    draws = gan.draw(20_000, np.random.default_rng(1))
    np.testing.assert_allclose(draws.mean(axis=0), [1.0, -0.5], atol=0.25)
    np.testing.assert_allclose(draws.std(axis=0), [0.5, 1.0], rtol=0.35)
    short = ClassicalGAN(epochs=10_000, max_seconds=0.5, seed=1).fit(x)
    assert short.epochs_run < 10_000
