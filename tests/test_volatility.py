"""GARCH(1,1)-t fits, filtering and re-simulation, checked against ``arch`` itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from quantum_scenarios.scenarios.volatility import GarchFit, fit_garch

TRUE = {"A": (0.05, 0.05, 0.10, 0.85, 6.0), "B": (0.02, 0.10, 0.08, 0.88, 8.0)}  # mu, omega, alpha, beta, nu


def simulate_garch_t(n: int, params: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """Percent returns from a GARCH(1,1) with unit-variance Student-t shocks."""
    mu, omega, alpha, beta, nu = params
    z = rng.standard_t(nu, size=n) * np.sqrt((nu - 2) / nu)
    y = np.empty(n)
    s2 = omega / (1 - alpha - beta)
    for t in range(n):
        eps = np.sqrt(s2) * z[t]
        y[t] = mu + eps
        s2 = omega + alpha * eps**2 + beta * s2
    return y


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    index = pd.bdate_range("2000-01-03", periods=2500)
    data = {name: simulate_garch_t(2500, p, rng) / 100.0 for name, p in TRUE.items()}
    return pd.DataFrame(data, index=index)


@pytest.fixture(scope="module")
def fit(returns: pd.DataFrame) -> GarchFit:
    return fit_garch(returns.iloc[:2000])


def test_fit_recovers_parameters_and_matches_arch(returns: pd.DataFrame, fit: GarchFit) -> None:
    assert fit.assets == ("A", "B")
    assert list(fit.params.columns) == ["mu", "omega", "alpha", "beta", "nu"]
    for asset, (mu, omega, alpha, beta, nu) in TRUE.items():
        row = fit.params.loc[asset]
        assert row["alpha"] + row["beta"] == pytest.approx(alpha + beta, abs=0.05)
        assert row["mu"] == pytest.approx(mu, abs=0.12)  # about 3.5 standard errors
        assert 3.0 < row["nu"] < 20.0
        reference = arch_model(returns[asset].iloc[:2000] * 100, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(
            disp="off"
        )
        np.testing.assert_allclose(fit.residuals[asset], reference.std_resid, rtol=1e-10)
        np.testing.assert_allclose(fit.conditional_volatility[asset], reference.conditional_volatility, rtol=1e-10)
        # The one-step state equals arch's own one-day variance forecast.
        forecast = reference.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]
        assert fit.next_variance()[list(fit.assets).index(asset)] == pytest.approx(forecast, rel=1e-10)
    pd.testing.assert_index_equal(fit.residuals.index, returns.index[:2000])
    assert not fit.residuals.isna().any().any()


def test_standardised_residuals_have_unit_variance(fit: GarchFit) -> None:
    assert fit.residuals.std().to_numpy() == pytest.approx([1.0, 1.0], abs=0.05)
    assert fit.residuals.mean().to_numpy() == pytest.approx([0.0, 0.0], abs=0.06)


def test_filter_continues_the_recursion_like_arch_with_fixed_parameters(returns: pd.DataFrame, fit: GarchFit) -> None:
    z, vol = fit.filter(returns.iloc[2000:])
    for asset in fit.assets:
        p = fit.params.loc[asset]
        fixed = arch_model(returns[asset] * 100, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fix(
            [p["mu"], p["omega"], p["alpha"], p["beta"], p["nu"]]
        )
        np.testing.assert_allclose(vol[asset], fixed.conditional_volatility.iloc[2000:], rtol=1e-9)
        np.testing.assert_allclose(z[asset], fixed.std_resid.iloc[2000:], rtol=1e-8)


def test_extend_moves_the_state_to_the_end_of_new_data(returns: pd.DataFrame, fit: GarchFit) -> None:
    extended = fit.extend(returns.iloc[2000:])
    pd.testing.assert_frame_equal(extended.params, fit.params)
    assert len(extended.residuals) == len(returns)
    for asset in fit.assets:
        p = fit.params.loc[asset]
        fixed = arch_model(returns[asset] * 100, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fix(
            [p["mu"], p["omega"], p["alpha"], p["beta"], p["nu"]]
        )
        forecast = fixed.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]
        assert extended.next_variance()[list(fit.assets).index(asset)] == pytest.approx(forecast, rel=1e-9)


def test_one_step_simulation_is_exact(fit: GarchFit) -> None:
    z = np.random.default_rng(0).standard_normal((4, 1, 2))
    r = fit.simulate(z)
    expected = (fit.params["mu"].to_numpy() + np.sqrt(fit.next_variance()) * z[:, 0, :]) / 100.0
    np.testing.assert_allclose(r[:, 0, :], expected, rtol=1e-12)
    shocked = fit.simulate(z, volatility_factor=2.0)
    np.testing.assert_allclose(
        shocked[:, 0, :] * 100 - fit.params["mu"].to_numpy(), 2.0 * (r[:, 0, :] * 100 - fit.params["mu"].to_numpy())
    )


def test_simulated_variance_matches_arch_multi_step_forecast(returns: pd.DataFrame, fit: GarchFit) -> None:
    horizon = 5
    z = np.random.default_rng(1).standard_normal((200_000, horizon, 2))
    eps = fit.simulate(z) * 100 - fit.params["mu"].to_numpy()
    for i, asset in enumerate(fit.assets):
        p = fit.params.loc[asset]
        fixed = arch_model(returns[asset].iloc[:2000] * 100, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fix(
            [p["mu"], p["omega"], p["alpha"], p["beta"], p["nu"]]
        )
        forecast = fixed.forecast(horizon=horizon, reindex=False).variance.iloc[-1].to_numpy()
        np.testing.assert_allclose((eps[:, :, i] ** 2).mean(axis=0), forecast, rtol=0.02)


def test_bad_inputs_are_rejected(returns: pd.DataFrame, fit: GarchFit) -> None:
    gappy = returns.iloc[:300].copy()
    gappy.iloc[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"asset 'B' on 2000-01-10 is nan; drop or fill missing days"):
        fit_garch(gappy)
    with pytest.raises(ValueError, match=r"dist must be one of \['normal', 't'\]; received 'skewt'"):
        fit_garch(returns, dist="skewt")
    with pytest.raises(ValueError, match=r"at least 100 observations per asset to fit; received 50 rows"):
        fit_garch(returns.iloc[:50])
    with pytest.raises(TypeError, match=r"wide pandas DataFrame .* received ndarray"):
        fit_garch(returns.to_numpy())
    with pytest.raises(ValueError, match=r"returns lack the fitted assets \['B'\]"):
        fit.filter(returns.iloc[2000:][["A"]])
    with pytest.raises(ValueError, match=r"residuals must have shape \(n_paths, horizon, 2\)"):
        fit.simulate(np.zeros((3, 2)))


def test_normal_distribution_fit_has_infinite_nu(returns: pd.DataFrame) -> None:
    fit = fit_garch(returns.iloc[:500], dist="normal")
    assert np.isinf(fit.params["nu"]).all()
    assert fit.dist == "normal"


def test_filter_refuses_rows_inside_the_fitted_sample(returns: pd.DataFrame, fit: GarchFit) -> None:
    with pytest.raises(ValueError, match=r"after the last fitted day 2007-08-31; received returns starting 2000-01-03"):
        fit.filter(returns)
