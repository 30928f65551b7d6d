"""VaR, ES and the Kupiec backtest against closed forms, exact discrete cases and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantum_scenarios.evaluation import expected_shortfall, kupiec_test, var, var_backtest


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_var_and_es_match_the_normal_closed_form(level: float) -> None:
    sigma = 0.02
    losses = np.random.default_rng(0).normal(0.0, sigma, size=2_000_000)
    z = stats.norm.ppf(level)
    assert var(losses, level) == pytest.approx(sigma * z, rel=5e-3)
    assert expected_shortfall(losses, level) == pytest.approx(sigma * stats.norm.pdf(z) / (1 - level), rel=5e-3)


def test_var_is_the_inverted_cdf_quantile_of_a_sample() -> None:
    losses = np.random.default_rng(1).standard_t(4, size=1001)
    for level in (0.5, 0.9, 0.975, 0.999):
        assert var(losses, level) == np.quantile(losses, level, method="inverted_cdf")


def test_exact_discrete_cases() -> None:
    losses = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    # q = 0.5: VaR = 2; the tail {3, 4} carries exactly 1 - q.
    assert var(losses, 0.5) == 2.0
    assert expected_shortfall(losses, 0.5) == pytest.approx(3.5)
    # q = 0.6: VaR = 3 (F(2) = 0.5 < 0.6 <= F(3) = 0.75); ES splits the atom at 3:
    # (4 * 0.25 + 3 * (0.75 - 0.6)) / 0.4 = 3.625
    assert var(losses, 0.6) == 3.0
    assert expected_shortfall(losses, 0.6) == pytest.approx(3.625)
    # Weighted distribution: P(0) = 0.9, P(10) = 0.1. At q = 0.95 both VaR and ES are 10.
    assert var([0.0, 10.0], 0.95, probabilities=[0.9, 0.1]) == 10.0
    assert expected_shortfall([0.0, 10.0], 0.95, probabilities=[0.9, 0.1]) == pytest.approx(10.0)
    # At q = 0.85 VaR = 0 and ES = (10 * 0.1 + 0 * (0.9 - 0.85)) / 0.15.
    assert var([0.0, 10.0], 0.85, probabilities=[9, 1]) == 0.0
    assert expected_shortfall([0.0, 10.0], 0.85, probabilities=[9, 1]) == pytest.approx(1.0 / 0.15)


def test_weighted_es_equals_the_es_of_the_expanded_sample() -> None:
    values = np.array([-1.0, 0.5, 2.0, 7.0])
    counts = np.array([5, 3, 1, 1])
    expanded = np.repeat(values, counts)
    for level in (0.8, 0.85, 0.9, 0.95):
        assert var(values, level, probabilities=counts) == var(expanded, level)
        assert expected_shortfall(values, level, probabilities=counts) == pytest.approx(
            expected_shortfall(expanded, level)
        )


def test_bad_arguments_are_rejected_with_clear_messages() -> None:
    with pytest.raises(ValueError, match=r"level must be a confidence level strictly between 0 and 1.*received 1\.5"):
        var([1.0, 2.0], 1.5)
    with pytest.raises(ValueError, match="losses is empty"):
        expected_shortfall([], 0.9)
    with pytest.raises(ValueError, match=r"losses must be finite; element 1 is nan"):
        var([1.0, np.nan], 0.9)
    with pytest.raises(ValueError, match=r"one entry per loss; expected 2, received 3"):
        var([1.0, 2.0], 0.9, probabilities=[0.2, 0.3, 0.5])


def test_kupiec_matches_a_hand_calculation_and_scipy() -> None:
    n, x, level = 250, 7, 0.99
    p, rate = 0.01, 7 / 250
    hand = -2 * ((n - x) * np.log(1 - p) + x * np.log(p)) + 2 * ((n - x) * np.log(1 - rate) + x * np.log(rate))
    # The same statistic as a binomial likelihood ratio (coefficients cancel).
    via_binom = 2 * (stats.binom.logpmf(x, n, rate) - stats.binom.logpmf(x, n, p))
    result = kupiec_test(x, n, level)
    assert result["lr_stat"] == pytest.approx(hand, rel=1e-12)
    assert result["lr_stat"] == pytest.approx(via_binom, rel=1e-10)
    assert result["p_value"] == pytest.approx(stats.chi2.sf(hand, 1), rel=1e-12)
    assert result["expected"] == pytest.approx(2.5)
    assert result["observed"] == 7
    assert result["p_value"] < 0.05  # seven exceedances against 2.5 expected: rejected


def test_kupiec_edge_cases() -> None:
    perfect = kupiec_test(10, 1000, 0.99)
    assert perfect["lr_stat"] == pytest.approx(0.0, abs=1e-12)
    assert perfect["p_value"] == pytest.approx(1.0)
    none = kupiec_test(0, 500, 0.99)  # 0 log 0 = 0
    assert none["lr_stat"] == pytest.approx(-2 * 500 * np.log(0.99))
    every = kupiec_test(20, 20, 0.95)
    assert every["lr_stat"] == pytest.approx(-2 * 20 * np.log(0.05))
    with pytest.raises(ValueError, match=r"exceedances must be an integer between 0 and n=10; received 11"):
        kupiec_test(11, 10, 0.99)
    with pytest.raises(ValueError, match=r"n must be a positive integer number of days; received 0"):
        kupiec_test(0, 0, 0.99)


def test_var_backtest_counts_exceedances_and_reports_dates() -> None:
    dates = pd.bdate_range("2013-01-01", periods=5)
    losses = pd.Series([0.01, 0.05, -0.02, 0.03, 0.031], index=dates)
    result = var_backtest(losses, [0.02, 0.02, 0.02, 0.03, 0.03], 0.9)
    assert result["observed"] == 2  # 0.05 > 0.02 and 0.031 > 0.03; 0.03 is not beyond 0.03
    assert result["exceedance_dates"] == [dates[1], dates[4]]
    assert result["lr_stat"] == pytest.approx(kupiec_test(2, 5, 0.9)["lr_stat"])
    constant = var_backtest(np.array([0.0, 1.0, 2.0]), 1.5, 0.5)
    assert constant["observed"] == 1 and constant["exceedance_dates"] == [2]
    with pytest.raises(ValueError, match=r"one value per day; expected 3 values, received 2"):
        var_backtest(np.zeros(3), np.zeros(2), 0.99)


def test_var_backtest_of_a_correct_model_is_not_rejected() -> None:
    rng = np.random.default_rng(3)
    losses = rng.normal(size=20_000)
    result = var_backtest(losses, stats.norm.ppf(0.99), 0.99)
    assert abs(result["rate"] - 0.01) < 0.002
    assert result["p_value"] > 0.01


def test_var_es_rows_equal_the_row_by_row_definitions_with_ties() -> None:
    from quantum_scenarios.evaluation.risk import var_es_rows

    rng = np.random.default_rng(7)
    losses = np.vstack([
        rng.standard_t(4, size=1000),
        np.round(rng.normal(size=1000), 1),  # many ties, atoms at the VaR
        np.repeat([0.0, 1.0, 2.0, 5.0], 250),
        rng.normal(size=1000),
    ])
    for level in (0.9, 0.975, 0.99, 0.999):
        v, e = var_es_rows(losses, level)
        for i, row in enumerate(losses):
            assert v[i] == var(row, level)
            assert e[i] == pytest.approx(expected_shortfall(row, level), rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError, match="row 1, sample 3"):
        bad = losses.copy()
        bad[1, 3] = np.nan
        var_es_rows(bad, 0.99)
