"""Trajectories: iid and GARCH modes, levels, long-form frames and generator draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.encoding import encode
from quantum_scenarios.scenarios.trajectories import (
    Trajectories,
    generator_draw,
    paths_from_draws,
    simulate_paths,
)
from quantum_scenarios.scenarios.volatility import GarchFit

ASSETS = ("SPX", "OIL")
LAST = pd.Series({"OIL": 50.0, "SPX": 2500.0})  # deliberately not in asset order


def make_garch(alpha: float = 0.1, beta: float = 0.85) -> GarchFit:
    """A hand-set GARCH fit (no optimisation), percent units."""
    params = pd.DataFrame(
        {"mu": [0.05, 0.02], "omega": [0.02, 0.1], "alpha": [alpha, alpha], "beta": [beta, beta], "nu": [6.0, 7.0]},
        index=list(ASSETS),
    )
    empty = pd.DataFrame(columns=list(ASSETS), dtype=float)
    return GarchFit(
        assets=ASSETS,
        params=params,
        last_variance=pd.Series({"SPX": 1.5, "OIL": 4.0}),
        last_residual=pd.Series({"SPX": -2.0, "OIL": 1.0}),
        residuals=empty,
        conditional_volatility=empty,
    )


def normal_draw(k: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((k, 2))


def test_iid_paths_use_the_draws_in_order_and_build_levels_from_the_last_price() -> None:
    draws = np.arange(24, dtype=float).reshape(12, 2) / 1000.0
    paths = simulate_paths(lambda k, rng: draws[:k], n_paths=4, horizon=3, mode="iid", last_prices=LAST, assets=ASSETS)
    assert paths.log_returns.shape == (4, 3, 2)
    # draw p * horizon + t is step t of path p
    np.testing.assert_array_equal(paths.log_returns[1, 2], draws[1 * 3 + 2])
    for p in range(4):
        level = np.array([2500.0, 50.0])
        for t in range(3):
            level = level * np.exp(draws[p * 3 + t])
            np.testing.assert_allclose(paths.levels[p, t], level, rtol=1e-12)
    assert paths.mode == "iid" and paths.seed == 0
    np.testing.assert_array_equal(paths.path_ids, np.arange(4))


def test_garch_paths_apply_the_recursion_from_the_last_state() -> None:
    garch = make_garch()
    paths = simulate_paths(normal_draw, n_paths=5, horizon=4, garch=garch, last_prices=LAST, assets=ASSETS, seed=3)
    z = paths.draws
    np.testing.assert_array_equal(z.reshape(20, 2), normal_draw(20, np.random.default_rng(3)))
    # Independent scalar re-implementation of the recursion for every path and asset.
    p = garch.params
    for i, asset in enumerate(ASSETS):
        mu, omega, alpha, beta = (p.loc[asset, k] for k in ("mu", "omega", "alpha", "beta"))
        for n in range(5):
            eps_prev, s2_prev = garch.last_residual[asset], garch.last_variance[asset]
            for t in range(4):
                s2 = omega + alpha * eps_prev**2 + beta * s2_prev
                eps = np.sqrt(s2) * z[n, t, i]
                assert paths.log_returns[n, t, i] == pytest.approx((mu + eps) / 100.0, rel=1e-12)
                eps_prev, s2_prev = eps, s2
    np.testing.assert_allclose(
        paths.levels[:, -1, :], np.array([2500.0, 50.0]) * np.exp(paths.log_returns.sum(axis=1)), rtol=1e-12
    )


def test_same_seed_same_paths_different_seed_different_paths() -> None:
    garch = make_garch()
    kwargs = {"n_paths": 3, "horizon": 2, "garch": garch, "last_prices": LAST, "assets": ASSETS}
    a = simulate_paths(normal_draw, seed=1, **kwargs)
    b = simulate_paths(normal_draw, seed=1, **kwargs)
    c = simulate_paths(normal_draw, seed=2, **kwargs)
    np.testing.assert_array_equal(a.log_returns, b.log_returns)
    assert not np.allclose(a.log_returns, c.log_returns)


def test_garch_mode_clusters_volatility_and_iid_mode_does_not() -> None:
    garch = make_garch(alpha=0.1, beta=0.88)

    def abs_autocorr(r: np.ndarray, lag: int) -> float:
        a = np.abs(r) - np.abs(r).mean()
        return float((a[:, lag:] * a[:, :-lag]).mean() / a.var())

    kwargs = {"n_paths": 40, "horizon": 1500, "last_prices": LAST, "assets": ASSETS, "seed": 5}
    clustered = simulate_paths(normal_draw, garch=garch, **kwargs)
    iid = simulate_paths(lambda k, rng: 0.01 * rng.standard_normal((k, 2)), mode="iid", **kwargs)
    for lag in (1, 5):
        assert abs_autocorr(clustered.log_returns[:, :, 0], lag) > 0.05
        assert abs(abs_autocorr(iid.log_returns[:, :, 0], lag)) < 0.02


def test_to_frame_is_long_typed_and_complete() -> None:
    paths = simulate_paths(normal_draw, n_paths=3, horizon=4, garch=make_garch(), last_prices=LAST, assets=ASSETS)
    frame = paths.to_frame("run-1", "base")
    assert list(frame.columns) == ["run_id", "scenario_type", "path_id", "step", "asset", "log_return", "level"]
    assert len(frame) == 3 * 4 * 2
    assert frame["step"].min() == 1 and frame["step"].max() == 4
    assert isinstance(frame["asset"].dtype, pd.CategoricalDtype)
    assert list(frame["asset"].cat.categories) == list(ASSETS)
    assert frame["path_id"].dtype == np.int64
    assert not frame.isna().any().any()
    row = frame[(frame.path_id == 2) & (frame.step == 3) & (frame.asset == "OIL")].iloc[0]
    assert row["log_return"] == paths.log_returns[2, 2, 1]
    assert row["level"] == paths.levels[2, 2, 1]
    assert set(frame["run_id"]) == {"run-1"} and set(frame["scenario_type"]) == {"base"}


def test_select_keeps_the_original_path_ids() -> None:
    paths = simulate_paths(normal_draw, n_paths=6, horizon=2, mode="iid", last_prices=LAST, assets=ASSETS)
    subset = paths.select(np.array([4, 1]))
    np.testing.assert_array_equal(subset.path_ids, [4, 1])
    np.testing.assert_array_equal(subset.log_returns[0], paths.log_returns[4])
    frame = subset.to_frame("r", "tail")
    assert sorted(frame["path_id"].unique()) == [1, 4]


def test_generator_draw_samples_the_encoding_grid() -> None:
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, 0.7], [0.7, 1]], size=4000), columns=list(ASSETS))
    encoding = encode(data, num_qubits=2, margin=0.0)
    draw = generator_draw(encoding, encoding.target)
    paths = simulate_paths(draw, n_paths=2000, horizon=5, mode="iid", last_prices=LAST, assets=ASSETS, seed=9)
    flat = paths.draws.reshape(-1, 2)
    # Draws follow the target on the grid, and are spread within bins (dequantised).
    np.testing.assert_allclose(encoding.histogram(flat), encoding.target, atol=0.01)
    assert len(np.unique(flat[:, 0])) > 1000
    centres = generator_draw(encoding, encoding.target, dequantise=False)(50, np.random.default_rng(1))
    assert set(np.unique(centres[:, 0])) <= set(encoding.contract.bin_centres[0])


def test_generator_draw_with_reference_resamples_points_within_the_drawn_cells() -> None:
    rng = np.random.default_rng(2)
    data = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=3000)
    encoding = encode(pd.DataFrame(data, columns=list(ASSETS)), num_qubits=2, margin=0.0)
    # A generator that differs from the data: half of its mass on one cell, half spread evenly.
    probs = np.full(16, 0.5 / 16)
    probs[5] += 0.5
    draw = generator_draw(encoding, probs, reference=data)
    x = draw(40_000, np.random.default_rng(3))
    # Cell frequencies follow the generator, not the reference data.
    np.testing.assert_allclose(encoding.histogram(x), probs, atol=0.01)
    # Every draw in a cell holding reference points is one of those points.
    rows = {tuple(r) for r in data}
    visited = np.bincount(encoding.digitize(data), minlength=16) > 0
    in_visited = visited[encoding.digitize(x)]
    assert in_visited.sum() > 30_000
    assert all(tuple(r) in rows for r in x[in_visited])
    assert not any(tuple(r) in rows for r in x[~in_visited])
    # A cell the reference never visits falls back to uniform jitter inside that cell.
    empty = int(np.flatnonzero(np.bincount(encoding.digitize(data), minlength=16) == 0)[0])
    only_empty = np.zeros(16)
    only_empty[empty] = 1.0
    y = generator_draw(encoding, only_empty, reference=data)(500, np.random.default_rng(4))
    assert (encoding.digitize(y) == empty).all() and len(np.unique(y[:, 0])) == 500
    # With the histogram as generator, the reference keeps the strong correlation that uniform jitter dilutes.
    with_ref = generator_draw(encoding, encoding.target, reference=data)(50_000, np.random.default_rng(5))
    uniform = generator_draw(encoding, encoding.target)(50_000, np.random.default_rng(5))
    data_corr = np.corrcoef(data, rowvar=False)[0, 1]
    assert abs(np.corrcoef(with_ref, rowvar=False)[0, 1] - data_corr) < 0.01
    assert np.corrcoef(uniform, rowvar=False)[0, 1] < data_corr - 0.05
    with pytest.raises(ValueError, match=r"reference must hold values of shape \(m, 2\) .* received \(3,\)"):
        generator_draw(encoding, probs, reference=np.zeros(3))


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"mode='garch' needs the fitted GARCH models"):
        simulate_paths(normal_draw, n_paths=2, horizon=2, last_prices=LAST, assets=ASSETS)
    with pytest.raises(ValueError, match=r"mode must be one of \['garch', 'iid'\]; received 'ar'"):
        simulate_paths(normal_draw, mode="ar", last_prices=LAST, assets=ASSETS)
    with pytest.raises(ValueError, match=r"draw\(4, rng\) must return shape \(4, 2\) .* received \(4, 3\)"):
        simulate_paths(lambda k, rng: np.zeros((k, 3)), n_paths=2, horizon=2, mode="iid", last_prices=LAST, assets=ASSETS)
    with pytest.raises(ValueError, match=r"last_prices has no price for assets \['OIL'\]"):
        simulate_paths(normal_draw, n_paths=2, horizon=2, mode="iid", last_prices=LAST.drop("OIL"), assets=ASSETS)
    with pytest.raises(ValueError, match=r"last_prices must be positive and finite; received \[-1.0, 2.0\]"):
        paths_from_draws(np.zeros((1, 1, 2)), mode="iid", last_prices=[-1.0, 2.0], assets=ASSETS)
    with pytest.raises(ValueError, match=r"GARCH fit is for assets \['SPX', 'OIL'\] but the draws are for \['OIL', 'SPX'\]"):
        paths_from_draws(np.zeros((1, 1, 2)), garch=make_garch(), last_prices=LAST, assets=("OIL", "SPX"))
    with pytest.raises(ValueError, match=r"n_paths must be a positive integer; received 0"):
        simulate_paths(normal_draw, n_paths=0, mode="iid", last_prices=LAST, assets=ASSETS)
    with pytest.raises(ValueError, match=r"path_ids must have shape \(1,\)"):
        Trajectories(np.zeros((1, 1, 2)), np.ones((1, 1, 2)), ASSETS, "iid", 0, np.zeros((1, 1, 2)), np.ones(2), np.arange(2))
