"""Model modes: marginals, copula, factor, hybrid, joint, selection on a validation split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from qiskit.quantum_info import Statevector
from scipy import ndimage, stats

from quantum_scenarios.encoding import encode
from quantum_scenarios.models import CopulaModel, FactorModel, HybridModel, JointModel, choose_mode, make_model
from quantum_scenarios.models.copula import pseudo_observations
from quantum_scenarios.models.factor import principal_factors
from quantum_scenarios.models.marginals import EmpiricalMarginal, StudentTMarginal, fit_marginals
from quantum_scenarios.models.training import chronological_split, fit_grid_generator, smooth_histogram

FAST = {"discriminator_steps": 1, "batch_size": 32}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def correlated() -> np.ndarray:
    rng = np.random.default_rng(0)
    g = rng.multivariate_normal([0, 0], [[1, 0.7], [0.7, 1]], size=1200)
    return stats.t.ppf(stats.norm.cdf(g), df=4)


def test_empirical_marginal_is_an_interpolated_inverse_pair() -> None:
    x = np.random.default_rng(1).standard_t(3, size=500)
    m = EmpiricalMarginal(x)
    s = np.sort(x)
    np.testing.assert_allclose(m.cdf(s), np.arange(1, 501) / 501)
    np.testing.assert_allclose(m.ppf(m.cdf(x)), x, atol=1e-12)
    assert m.ppf(0.0) == s[0] and m.ppf(1.0) == s[-1]
    t = StudentTMarginal(x)
    assert (t.df, t.loc, t.scale) == pytest.approx(stats.t.fit(x))
    np.testing.assert_allclose(t.ppf(t.cdf(x)), x, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="marginal must be one of"):
        fit_marginals(x[:, None], "kde")


def test_split_and_smoothing() -> None:
    x = np.arange(200.0)[:, None]
    fit, val = chronological_split(x, 0.25)
    assert fit[-1, 0] == 149 and val[0, 0] == 150 and len(val) == 50
    assert chronological_split(x, 0.0)[1] is None
    with pytest.raises(ValueError, match="too few rows"):
        chronological_split(x[:30], 0.5)
    target = np.zeros(64)
    target[[3, 40]] = 0.5
    smoothed = smooth_histogram(target, (8, 8), 1.0)
    expected = ndimage.gaussian_filter(target.reshape(8, 8), 1.0, mode="nearest").ravel()
    np.testing.assert_allclose(smoothed, expected / expected.sum())
    np.testing.assert_array_equal(smooth_histogram(target, (8, 8), 0.0), target)


def test_fit_grid_generator_selects_on_validation_and_stops_early(correlated: np.ndarray) -> None:
    frame = pd.DataFrame(correlated[:, :2], columns=["a", "b"])
    grid = encode(frame, num_qubits=2)
    # a validation histogram unlike the training one: training soon stops improving on it
    validation = np.full(16, 1 / 16)
    fit = fit_grid_generator(grid, validation_target=validation, epochs=400, check_every=20, patience=2,
                             training=FAST, measure_memory=False)
    scores = [s for _, s, _ in fit.validation]
    assert fit.best_epoch == fit.validation[int(np.argmin(scores))][0]
    assert fit.epochs_run < 400 and fit.epochs_run == fit.validation[-1][0]
    assert fit.probabilities.shape == (16,) and abs(fit.probabilities.sum() - 1) < 1e-9


def test_copula_model_keeps_marginals_and_learns_dependence(correlated: np.ndarray) -> None:
    model = CopulaModel(num_qubits=3, epochs=150, check_every=50, training=FAST, measure_memory=False).fit(correlated)
    u = pseudo_observations(correlated, model.marginals)
    assert ((u > 0) & (u < 1)).all()
    draws = model.draw(40_000, np.random.default_rng(2))
    for j in range(2):  # inverse empirical marginals: draws follow the training marginal
        assert stats.ks_2samp(draws[:5000, j], correlated[:, j]).statistic < 0.06
    tau_data = stats.kendalltau(correlated[:, 0], correlated[:, 1]).statistic
    tau_model = stats.kendalltau(draws[:5000, 0], draws[:5000, 1]).statistic
    assert tau_model > 0.5 * tau_data  # started from independence (tau 0), learned most of it
    summary = model.summary()
    assert summary["mode"] == "copula" and summary["epochs_to_convergence"] >= 50
    empirical = CopulaModel(num_qubits=3, epochs=50, check_every=50, validation_fraction=0.0,
                            training=FAST, measure_memory=False).fit(correlated).set_dequantise("empirical")
    rows = {tuple(r) for r in correlated.round(12)}
    sample = empirical.draw(200, np.random.default_rng(3)).round(12)
    assert np.mean([tuple(r) in rows for r in sample]) > 0.9  # mostly replays training days


def test_principal_factors_closed_form() -> None:
    rng = np.random.default_rng(4)
    z = rng.standard_normal((3000, 5)) @ rng.standard_normal((5, 5))
    z = (z - z.mean(0)) / z.std(0, ddof=1)
    loadings, scores, values = principal_factors(z, 5)
    corr = np.corrcoef(z, rowvar=False)
    np.testing.assert_allclose(loadings @ loadings.T, corr, atol=1e-10)  # all factors: exact
    np.testing.assert_allclose(np.cov(scores, rowvar=False), np.eye(5), atol=1e-10)
    np.testing.assert_allclose(values, np.sort(np.linalg.eigvalsh(corr))[::-1])


def test_factor_model_rebuilds_correlation_from_loadings() -> None:
    rng = np.random.default_rng(5)
    d, T = 8, 2000
    B = np.column_stack([rng.uniform(0.5, 0.9, d), rng.uniform(-0.4, 0.4, d)])
    f = rng.standard_t(5, (T, 2)) / np.sqrt(5 / 3)
    x = f @ B.T + 0.4 * rng.standard_t(5, (T, d)) / np.sqrt(5 / 3)
    model = FactorModel(factors=2, copula={"num_qubits": 3, "epochs": 60, "check_every": 30, "training": FAST,
                                            "measure_memory": False}).fit(pd.DataFrame(x))
    implied = model.implied_correlation()
    np.testing.assert_allclose(np.diag(implied), 1.0)
    draws = model.draw(100_000, np.random.default_rng(6))
    real = np.corrcoef(x, rowvar=False)
    assert np.abs(np.corrcoef(draws, rowvar=False) - real).max() < 0.04
    # B B' + Psi (full residual covariance) is the sample correlation exactly
    np.testing.assert_allclose(implied, real, atol=1e-10)
    ev = model.explained_variance()
    assert ev[0] > ev[1] > 0 and model.summary()["factors"] == 2
    assert set(model.asset_r2()) == set(model.assets)
    with pytest.raises(ValueError, match="between 1 and d - 1 = 1"):
        FactorModel(factors=2).fit(x[:, :2])


def test_hybrid_latent_is_the_circuit_distribution_and_decodes_continuously(correlated: np.ndarray) -> None:
    model = HybridModel(latent_qubits=3, reps=2, epochs=60, check_every=30, batch_size=128, samples_per_state=16).fit(
        correlated
    )
    p = model.latent_probabilities()
    bound = model.circuit.bind(model.theta.detach().numpy())
    np.testing.assert_allclose(p, Statevector(bound).probabilities(), atol=1e-10)
    draws = model.draw(2000, np.random.default_rng(7))
    assert draws.shape == (2000, 2) and len(np.unique(draws[:, 0])) == 2000  # continuous, no grid
    s = model.summary()
    assert s["mode"] == "hybrid" and s["epochs_run"] <= 60 and s["best_epoch"] in (30, 60)


def test_joint_model_and_mode_choice(correlated: np.ndarray) -> None:
    model = JointModel(num_qubits=2, epochs=40, check_every=20, training=FAST, measure_memory=False).fit(correlated)
    assert model.draw(10, np.random.default_rng(0)).shape == (10, 2)
    assert choose_mode("auto", 3) == "joint" and choose_mode("auto", 5) == "factor"
    assert choose_mode("auto", 5, factor_threshold=6) == "joint" and choose_mode("copula", 20) == "copula"
    assert isinstance(make_model("auto", 12, factors=3), FactorModel)
    with pytest.raises(ValueError, match="model mode must be one of"):
        choose_mode("vine", 3)
    with pytest.raises(ValueError, match="is not fitted"):
        CopulaModel().draw(3, np.random.default_rng(0))


def test_config_section_builds_the_model_and_generation_uses_it() -> None:
    from quantum_scenarios.config import ModelConfig, PipelineConfig
    from quantum_scenarios.models import model_from_config
    from quantum_scenarios.scenarios.generation import fit_scenario_model, generate_scenarios, prepare_model_inputs

    assert PipelineConfig().model == ModelConfig()
    section = ModelConfig().model_dump()
    assert isinstance(model_from_config(3, section), JointModel)
    factor = model_from_config(6, {**section, "factors": 9})
    assert isinstance(factor, FactorModel) and factor.factors == 5
    assert isinstance(model_from_config(2, {**section, "mode": "hybrid"}), HybridModel)
    with pytest.raises(ValueError):
        ModelConfig(validation_fraction=0.95)

    rng = np.random.default_rng(8)
    index = pd.bdate_range("2010-01-01", periods=700)
    returns = pd.DataFrame(0.01 * rng.standard_t(5, (700, 2)), index=index, columns=["A", "B"])
    prices = 100 * np.exp(returns.cumsum())
    inputs = prepare_model_inputs(returns, mode="iid", split_date=index[499].date())
    model = fit_scenario_model(inputs, {**section, "mode": "copula", "copula_qubits": 2, "check_every": 20},
                               epochs=40, training=FAST)
    assert isinstance(model, CopulaModel) and model.assets == ("A", "B")
    grid = encode(inputs.train_values, num_qubits=2)
    scenarios = generate_scenarios(grid, None, inputs, prices, n_paths=300, horizon=5, draw=model, seed=1)
    assert scenarios.base.log_returns.shape == (300, 5, 2)
    from quantum_scenarios.evaluation import evaluate_run

    scored = evaluate_run(grid, None, inputs, model=model, model_name="qgan_copula", rivals=("gaussian", "fhs"),
                          n_correlation_draws=20_000, acf_paths=4, acf_horizon=300, backtest_samples=2000)
    assert list(scored.comparison["model"]) == ["qgan_copula", "gaussian", "fhs"]
    assert scored.correlation_max_abs_error < 0.1
    with pytest.raises(ValueError, match="grid probabilities or a fitted model"):
        evaluate_run(grid, None, inputs)
