"""Stylized facts against closed forms and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from quantum_scenarios.evaluation import (
    abs_autocorrelation,
    autocorrelation,
    hill_tail_index,
    leverage_effect,
    lower_tail_dependence,
    stylized_facts,
)


def test_autocorrelation_of_an_ar1_is_phi_to_the_lag() -> None:
    rng = np.random.default_rng(0)
    phi, n = 0.5, 200_000
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    acf = autocorrelation(x[:, None], max_lag=3)[:, 0]
    np.testing.assert_allclose(acf, phi ** np.arange(1, 4), atol=0.01)
    # the same estimator as statsmodels-style acf: sum of centred products over the total sum of squares
    c = x[:1000] - x[:1000].mean()
    assert autocorrelation(x[:1000, None], max_lag=1)[0, 0] == pytest.approx((c[1:] * c[:-1]).sum() / (c**2).sum())


def test_iid_noise_has_no_clustering_and_garch_has_some() -> None:
    rng = np.random.default_rng(1)
    iid = rng.standard_normal((20_000, 1))
    assert abs(abs_autocorrelation(iid).mean()) < 0.02
    s2, r = 1.0, np.empty(20_000)
    for t in range(r.size):
        r[t] = np.sqrt(s2) * rng.standard_normal()
        s2 = 0.05 + 0.1 * r[t] ** 2 + 0.85 * s2
    assert abs_autocorrelation(r[:, None]).mean() > 0.05


def test_leverage_effect_sign_and_value() -> None:
    rng = np.random.default_rng(2)
    n = 100_000
    e = rng.standard_normal(n)
    # r_t = sigma_t e_t with sigma_t = exp(-0.5 e_{t-1}): a fall raises the next day's volatility
    sigma = np.ones(n)
    sigma[1:] = np.exp(-0.5 * e[:-1])
    r = sigma * e
    lev = leverage_effect(np.column_stack([r]), max_lag=1)[0, 0]
    a, b = r[:-1] - r[:-1].mean(), np.abs(r[1:]) - np.abs(r[1:]).mean()
    assert lev == pytest.approx((a * b).sum() / np.sqrt((a**2).sum() * (b**2).sum()), rel=1e-12)
    assert lev < -0.1
    iid = rng.standard_normal((n, 1))
    assert abs(leverage_effect(iid, max_lag=1)[0, 0]) < 0.02


def test_hill_estimator_is_scipys_pareto_mle_and_recovers_the_index() -> None:
    rng = np.random.default_rng(3)
    losses = stats.pareto.rvs(3.0, size=100_000, random_state=rng)
    alpha = hill_tail_index(-losses, tail_fraction=0.05)[0]
    k = 5000
    ordered = np.sort(losses)[::-1]
    b, _, _ = stats.pareto.fit(ordered[:k], floc=0, fscale=ordered[k])
    assert alpha == pytest.approx(b, rel=1e-6)
    assert alpha == pytest.approx(3.0, rel=0.05)
    t4 = stats.t.rvs(4, size=400_000, random_state=rng)
    assert hill_tail_index(t4, tail_fraction=0.01)[0] == pytest.approx(4.0, rel=0.2)
    with pytest.raises(ValueError, match="fewer than 2 in the tail"):
        hill_tail_index(t4[:20], tail_fraction=0.05)


def test_lower_tail_dependence_closed_forms() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200_000, 2))
    lam = lower_tail_dependence(x, q=0.05)
    assert lam[0, 0] == pytest.approx(1.0) and lam[0, 1] == pytest.approx(0.05, abs=0.005)  # independence: q
    same = lower_tail_dependence(np.column_stack([x[:, 0], 2 * x[:, 0] + 1]), q=0.05)
    assert same[0, 1] == pytest.approx(1.0, abs=1e-3)  # comonotonic
    # Gaussian copula: P(U<=q, V<=q) / q from scipy's bivariate normal CDF
    rho = 0.7
    g = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=400_000)
    q = 0.05
    closed = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([stats.norm.ppf(q)] * 2) / q
    assert lower_tail_dependence(g, q=q)[0, 1] == pytest.approx(closed, abs=0.01)


def test_stylized_facts_row() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_t(4, size=(5000, 2))
    row = stylized_facts(x)
    assert set(row) == {"acf_r", "acf_abs", "leverage", "hill_lower", "tail_dependence"}
    assert abs(row["acf_r"]) < 0.03 and 2.5 < row["hill_lower"] < 6.5
    paths = rng.standard_normal((4, 500, 3))
    assert np.isfinite(list(stylized_facts(paths).values())).all()
