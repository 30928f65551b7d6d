"""Stress scenarios: tail selection, volatility shock, correlation stress, historical replay, risk table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.scenarios.stress import (
    StressSet,
    correlation_stress,
    historical_replay,
    portfolio_losses,
    risk_table,
    stress_correlation,
    tail_scenarios,
    volatility_shock,
)
from quantum_scenarios.scenarios.trajectories import simulate_paths
from quantum_scenarios.scenarios.volatility import GarchFit
from quantum_scenarios.evaluation import expected_shortfall, var

ASSETS = ("A", "B", "C")
LAST = pd.Series({"A": 100.0, "B": 20.0, "C": 5.0})
COV = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]])


def make_garch() -> GarchFit:
    params = pd.DataFrame(
        {"mu": [0.05, 0.02, 0.0], "omega": [0.02, 0.1, 0.05], "alpha": [0.1] * 3, "beta": [0.85] * 3, "nu": [6.0] * 3},
        index=list(ASSETS),
    )
    empty = pd.DataFrame(columns=list(ASSETS), dtype=float)
    return GarchFit(
        assets=ASSETS,
        params=params,
        last_variance=pd.Series({"A": 1.5, "B": 4.0, "C": 2.0}),
        last_residual=pd.Series({"A": -2.0, "B": 1.0, "C": 0.5}),
        residuals=empty,
        conditional_volatility=empty,
    )


def correlated_draw(k: int, rng: np.random.Generator) -> np.ndarray:
    return rng.multivariate_normal(np.zeros(3), COV, size=k)


@pytest.fixture(scope="module")
def garch_paths():
    garch = make_garch()
    return garch, simulate_paths(correlated_draw, n_paths=1000, horizon=5, garch=garch, last_prices=LAST, assets=ASSETS)


def test_portfolio_losses_aggregate_simple_returns() -> None:
    r = np.array([[[0.01, -0.02], [0.03, 0.01]], [[-0.1, 0.0], [0.0, -0.05]]])
    w = np.array([0.25, 0.75])
    expected = [
        -(0.25 * (np.exp(0.04) - 1) + 0.75 * (np.exp(-0.01) - 1)),
        -(0.25 * (np.exp(-0.1) - 1) + 0.75 * (np.exp(-0.05) - 1)),
    ]
    np.testing.assert_allclose(portfolio_losses(r, w), expected, rtol=1e-12)
    np.testing.assert_allclose(portfolio_losses(r), -np.expm1(r.sum(axis=1)).mean(axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match=r"one weight per asset; expected 2, received 3"):
        portfolio_losses(r, [1, 0, 0])


def test_tail_scenarios_select_paths_beyond_var_ranked(garch_paths) -> None:
    _, paths = garch_paths
    tail = tail_scenarios(paths, level=0.99)
    losses = portfolio_losses(paths.log_returns)
    v = var(losses, 0.99)
    assert isinstance(tail, StressSet) and tail.name == "tail"
    assert tail.trajectories.n_paths == 10  # the 1% tail of 1000 paths
    np.testing.assert_array_equal(tail.extra["rank"], np.arange(1, 11))
    assert (tail.extra["loss"] > v).all() and tail.extra["loss"].is_monotonic_decreasing
    np.testing.assert_array_equal(tail.extra["path_id"], np.argsort(-losses)[:10])
    np.testing.assert_allclose(portfolio_losses(tail.log_returns), tail.extra["loss"], rtol=1e-12)
    assert tail.extra.attrs["var"] == v and tail.extra.attrs["es"] == expected_shortfall(losses, 0.99)
    frame = tail.to_frame("run")
    assert set(frame["scenario_type"]) == {"tail"} and set(frame["path_id"]) == set(tail.extra["path_id"])
    with pytest.raises(ValueError, match=r"no path has a portfolio loss beyond the 99.00% VaR .* simulate at least 200 paths"):
        tail_scenarios(paths.select(np.arange(50)), level=0.99)


def test_volatility_shock_scales_the_starting_volatility_and_keeps_the_draws(garch_paths) -> None:
    garch, paths = garch_paths
    shocked = volatility_shock(paths, garch=garch, factor=2.0)
    mu = garch.params["mu"].to_numpy()
    base_eps = paths.log_returns[:, 0, :] * 100 - mu
    np.testing.assert_allclose(shocked.log_returns[:, 0, :] * 100 - mu, 2.0 * base_eps, rtol=1e-10)
    np.testing.assert_array_equal(shocked.trajectories.draws, paths.draws)
    # Later steps follow the recursion from the shocked state: same as simulate() with the factor.
    np.testing.assert_allclose(shocked.log_returns, garch.simulate(paths.draws, volatility_factor=2.0))
    assert shocked.log_returns.std() > 1.5 * paths.log_returns.std()
    np.testing.assert_allclose(shocked.extra["base_loss"], portfolio_losses(paths.log_returns))
    unchanged = volatility_shock(paths, garch=garch, factor=1.0)
    np.testing.assert_allclose(unchanged.log_returns, paths.log_returns)
    with pytest.raises(ValueError, match=r"factor must be a positive volatility multiplier \(e.g. 2.0\); received 0"):
        volatility_shock(paths, garch=garch, factor=0)


def test_volatility_shock_in_iid_mode_scales_deviations_from_the_mean() -> None:
    draw = lambda k, rng: 0.001 + 0.01 * rng.standard_normal((k, 3))  # noqa: E731
    paths = simulate_paths(draw, n_paths=200, horizon=3, mode="iid", last_prices=LAST, assets=ASSETS)
    shocked = volatility_shock(paths, factor=3.0)
    mean = paths.log_returns.mean(axis=(0, 1))
    np.testing.assert_allclose(shocked.log_returns - mean, 3.0 * (paths.log_returns - mean), rtol=1e-12)


def test_stress_correlation_hits_the_target_exactly_without_rank_mapping() -> None:
    scales = np.sqrt([1.0, 2.0, 0.5])
    z = np.random.default_rng(0).multivariate_normal([0.1, -0.2, 0.0], COV * np.outer(scales, scales), 5000)
    stressed = stress_correlation(z, stress_level=0.9, intensity=1.0, preserve_marginals=False)
    corr = np.corrcoef(stressed, rowvar=False)
    np.testing.assert_allclose(corr[~np.eye(3, dtype=bool)], 0.9, atol=1e-10)
    np.testing.assert_allclose(stressed.mean(axis=0), z.mean(axis=0), atol=1e-10)
    np.testing.assert_allclose(stressed.std(axis=0), z.std(axis=0), rtol=1e-10)
    half = stress_correlation(z, stress_level=0.9, intensity=0.5, preserve_marginals=False)
    target = 0.5 * np.corrcoef(z, rowvar=False) + 0.5 * (0.9 + 0.1 * np.eye(3))
    np.testing.assert_allclose(np.corrcoef(half, rowvar=False), target, atol=1e-10)
    np.testing.assert_allclose(stress_correlation(z, intensity=0.0, preserve_marginals=False), z, atol=1e-10)


def test_stress_correlation_with_rank_mapping_keeps_marginals_exactly() -> None:
    rng = np.random.default_rng(1)
    z = rng.multivariate_normal(np.zeros(3), COV, 5000)
    z[:, 1] = rng.standard_t(4, 5000) * 0.5 + 0.2 * z[:, 0]  # a heavy-tailed, non-normal marginal
    stressed = stress_correlation(z, stress_level=0.8)
    np.testing.assert_array_equal(np.sort(stressed, axis=0), np.sort(z, axis=0))
    corr = np.corrcoef(stressed, rowvar=False)
    assert np.abs(corr[~np.eye(3, dtype=bool)] - 0.8).max() < 0.05


def test_stress_correlation_rejects_bad_arguments() -> None:
    z = np.random.default_rng(2).standard_normal((100, 3))
    with pytest.raises(ValueError, match=r"stress_level must lie in \(-0.5, 1\) .* received 1.0"):
        stress_correlation(z, stress_level=1.0)
    with pytest.raises(ValueError, match=r"at least two assets, shape \(m, d>=2\); received \(100, 1\)"):
        stress_correlation(z[:, :1])
    with pytest.raises(ValueError, match=r"intensity must lie in \[0, 1\]; received 1.5"):
        stress_correlation(z, intensity=1.5)
    z[:, 2] = 1.0
    with pytest.raises(ValueError, match=r"draws of asset column 2 are constant"):
        stress_correlation(z)


def test_correlation_stress_resimulates_the_paths_with_stressed_residuals(garch_paths) -> None:
    garch, paths = garch_paths
    stressed = correlation_stress(paths, garch=garch, stress_level=0.9, preserve_marginals=False)
    flat = stressed.trajectories.draws.reshape(-1, 3)
    np.testing.assert_allclose(np.corrcoef(flat, rowvar=False)[0, 1], 0.9, atol=1e-10)
    np.testing.assert_allclose(stressed.log_returns, garch.simulate(stressed.trajectories.draws), rtol=1e-12)
    assert stressed.name == "correlation_stress"
    assert np.asarray(stressed.extra.attrs["corr_after"])[0, 2] == pytest.approx(0.9)
    # Higher correlation fattens the equal-weight portfolio's loss tail.
    assert var(stressed.extra["loss"], 0.99) > var(stressed.extra["base_loss"], 0.99)


def test_historical_replay_finds_planted_crashes_without_overlap() -> None:
    rng = np.random.default_rng(3)
    index = pd.bdate_range("2008-01-01", periods=300)
    returns = pd.DataFrame(0.005 * rng.standard_normal((300, 3)), index=index, columns=list(ASSETS))
    returns.iloc[100:105] -= 0.04  # the worst crash
    returns.iloc[200:205] -= 0.02  # the second worst
    replay = historical_replay(returns, horizon=5, n_windows=4, last_prices=LAST)
    assert replay.name == "historical_replay" and replay.trajectories.n_paths == 4
    first, second = replay.extra.iloc[0], replay.extra.iloc[1]
    assert first["start"] == index[100] and first["end"] == index[104]
    assert second["start"] == index[200]
    starts = [index.get_loc(s) for s in replay.extra["start"]]
    assert all(abs(a - b) >= 5 for i, a in enumerate(starts) for b in starts[i + 1 :])
    np.testing.assert_array_equal(replay.log_returns[0], returns.iloc[100:105].to_numpy())
    crash_growth = np.exp(returns.iloc[100:105].sum().to_numpy())
    np.testing.assert_allclose(replay.trajectories.levels[0, -1], LAST.to_numpy() * crash_growth)
    assert replay.extra["loss"].is_monotonic_decreasing
    with pytest.raises(ValueError, match=r"needs at least 400 rows of returns; received 300"):
        historical_replay(returns, horizon=400)


def test_historical_replay_finds_autumn_2008_in_the_bundled_data() -> None:
    from arch.data import nasdaq, sp500

    prices = pd.concat({"SP500": sp500.load()["Adj Close"], "NASDAQ": nasdaq.load()["Adj Close"]}, axis=1)
    returns = np.log(prices).diff().dropna()
    replay = historical_replay(returns, horizon=10, n_windows=3)
    worst = replay.extra.iloc[0]
    assert pd.Timestamp("2008-09-01") <= worst["start"] <= pd.Timestamp("2008-11-30")
    assert worst["loss"] > 0.15


def test_risk_table_matches_direct_var_and_es(garch_paths) -> None:
    garch, paths = garch_paths
    shock = volatility_shock(paths, garch=garch, factor=2.0)
    table = risk_table({"base": paths, "vol_shock": shock}, levels=(0.95, 0.99), horizons=(1, 5, 10))
    assert list(table.columns) == ["scenario_type", "horizon", "level", "asset", "var", "es", "n_scenarios"]
    assert set(table["horizon"]) == {1, 5}  # 10 > the 5-step paths, left out
    assert len(table) == 2 * 2 * 2 * 4  # sets x horizons x levels x (portfolio + 3 assets)
    def pick(kind: str, horizon: int, level: float, asset: str) -> pd.Series:
        match = (table.scenario_type == kind) & (table.horizon == horizon) & (table.level == level)
        return table[match & (table.asset == asset)].iloc[0]

    row = pick("vol_shock", 5, 0.99, "portfolio")
    assert row["var"] == var(portfolio_losses(shock.log_returns), 0.99)
    assert row["es"] == expected_shortfall(portfolio_losses(shock.log_returns), 0.99)
    one_day_b = -np.expm1(paths.log_returns[:, 0, 1])
    row = pick("base", 1, 0.95, "B")
    assert row["var"] == var(one_day_b, 0.95) and row["n_scenarios"] == 1000
    assert (table["es"] >= table["var"]).all()
    by_list = risk_table([shock], horizons=(5,))
    assert set(by_list["scenario_type"]) == {"vol_shock"}
    with pytest.raises(ValueError, match=r"'base' has 5-step paths but no requested horizon fits"):
        risk_table({"base": paths}, horizons=(10, 20))
    with pytest.raises(TypeError, match=r"risk_table expects StressSet objects"):
        risk_table([paths])
