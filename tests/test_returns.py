"""Tests for quantum_scenarios.market.returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.market.returns import check_return_kind, compute_returns


def test_log_returns_match_difference_of_logs(make_prices):
    prices = make_prices(50, ("A", "B", "C"), seed=3)
    got = compute_returns(prices, "log")
    expected = np.diff(np.log(prices.to_numpy()), axis=0)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-14)
    assert list(got.columns) == ["A", "B", "C"]
    assert got.index.equals(prices.index[1:])
    assert (got.dtypes == np.float64).all()


def test_simple_returns_closed_form_and_link_to_log(make_prices):
    prices = make_prices(40, ("A", "B"), seed=4)
    simple = compute_returns(prices, "simple")
    p = prices.to_numpy()
    np.testing.assert_allclose(simple.to_numpy(), p[1:] / p[:-1] - 1.0, rtol=1e-15)
    # r = ln(1 + R)
    np.testing.assert_allclose(np.log1p(simple.to_numpy()), compute_returns(prices, "log").to_numpy(), atol=1e-14)


def test_hand_computed_values():
    prices = pd.DataFrame({"X": [100.0, 110.0, 99.0]}, index=pd.bdate_range("2020-01-01", periods=3))
    assert compute_returns(prices, "simple")["X"].tolist() == pytest.approx([0.10, -0.10])
    assert compute_returns(prices, "log")["X"].tolist() == pytest.approx([np.log(1.1), np.log(0.9)])


def test_non_positive_price_gives_non_finite_return_without_warning():
    prices = pd.DataFrame({"X": [100.0, -5.0, 100.0, 0.0]}, index=pd.bdate_range("2020-01-01", periods=4))
    with np.errstate(all="raise"):
        out = compute_returns(prices, "log")["X"].to_numpy()
    assert np.isnan(out[0]) and np.isnan(out[1]) and np.isneginf(out[2])


def test_single_row_gives_empty_frame():
    prices = pd.DataFrame({"X": [1.0]}, index=pd.bdate_range("2020-01-01", periods=1))
    out = compute_returns(prices)
    assert out.shape == (0, 1)


def test_unknown_kind_is_rejected(make_prices):
    with pytest.raises(ValueError, match=r"return kind must be one of \('log', 'simple'\); received 'pct'"):
        compute_returns(make_prices(5), "pct")
    assert check_return_kind(" LOG ") == "log"


def test_non_numeric_columns_are_rejected():
    prices = pd.DataFrame({"X": ["1", "2"]}, index=pd.bdate_range("2020-01-01", periods=2))
    with pytest.raises(TypeError, match=r"columns \['X'\] are not numeric"):
        compute_returns(prices)
    with pytest.raises(TypeError, match="prices must be a pandas DataFrame; received list"):
        compute_returns([1.0, 2.0])  # type: ignore[arg-type]
