"""The scenario pipeline in a non-joint model mode (issue 9 wiring): fit, generate, evaluate, record.

The fast test runs the tasks' functions (``.fn``) the way the flow chains them in factor mode
(``model.mode=auto`` on five assets); the slow one runs ``qscen run`` on a nine-asset file, whose
joint grid (27 qubits) is never built: the metrics are taken over its 36 asset pairs.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest
from prefect.logging import disable_run_logger

from quantum_scenarios.config import (
    CircuitConfig,
    EncodingConfig,
    EvaluationConfig,
    ModelConfig,
    ScenarioConfig,
    StressConfig,
    TrainingConfig,
)
from quantum_scenarios.evaluation import evaluate_run
from quantum_scenarios.evaluation.grids import PairwiseDistribution, PairwiseGrid, joint_grid_needed
from quantum_scenarios.models import FactorModel, choose_mode

LOADINGS = np.array([[1.0, 0.2], [0.9, -0.3], [0.8, 0.5], [0.7, 0.0], [0.5, -0.6]])


def _factor_returns(n: int, seed: int = 3) -> pd.DataFrame:
    """Daily log returns of five assets from two Student-t factors plus Student-t noise."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(5 / 3)  # t(5) to unit variance
    factors = rng.standard_t(5, (n, 2)) / scale
    noise = 0.6 * rng.standard_t(5, (n, 5)) / scale
    index = pd.bdate_range("2010-01-04", periods=n, name="date")
    return pd.DataFrame(0.01 * (factors @ LOADINGS.T + noise), index=index, columns=list("ABCDE"))


def test_factor_mode_route_fits_generates_evaluates_and_records(monkeypatch, tmp_path) -> None:
    import tasks.scenarios as stage
    from tasks.quantum import encode_task

    # the evaluation's default sample sizes take about a minute here; the wiring is what is tested
    # (one rival, chosen through evaluation.rivals below)
    monkeypatch.setattr(stage, "evaluate_run", functools.partial(
        evaluate_run, n_correlation_draws=20_000, acf_paths=4, acf_horizon=300, backtest_samples=2_000,
    ))
    returns = _factor_returns(700)
    prices = 100 * np.exp(returns.cumsum())
    scenarios = ScenarioConfig(mode="iid", n_paths=200, horizon=5, seed=11)
    evaluation = EvaluationConfig(split_date=returns.index[499].date(), rivals=["gaussian"])
    stress = StressConfig(risk_horizons=[1, 5])
    model = ModelConfig(factors=2, copula_qubits=2, check_every=20, patience=1)
    assert choose_mode(model.mode, returns.shape[1], factor_threshold=model.factor_threshold) == "factor"

    # five assets > evaluation.joint_grid_max_assets (4): the encode stage builds the per-asset grid only
    assert not joint_grid_needed("factor", 5, 2, max_assets=evaluation.joint_grid_max_assets)
    with disable_run_logger():
        inputs = stage.prepare_inputs_task.fn(returns, scenarios, evaluation)
        encoded = encode_task.fn(inputs.train_values, EncodingConfig(num_qubits=2), inputs.transform, False)
        fitted, probabilities = stage.fit_model_task.fn(
            inputs, encoded, model, CircuitConfig(), TrainingConfig(epochs=40), scenarios, evaluation
        )
        generated = stage.generate_task.fn(encoded, probabilities, inputs, prices, scenarios, stress, fitted)
        scored = stage.evaluate_task.fn(encoded, probabilities, inputs, stress, evaluation, scenarios, fitted)

    assert isinstance(fitted, FactorModel) and fitted.assets == tuple("ABCDE") and fitted.factors == 2
    assert not encoded.joint and encoded.target.size == 0
    # the grid distribution is every pair's histogram of the model's seeded draws, as evaluate_run builds it
    assert isinstance(probabilities, PairwiseDistribution) and len(probabilities.pairs) == 10
    assert all(p.shape == (16,) and np.isclose(p.sum(), 1.0) for p in probabilities.probabilities)
    grid = PairwiseGrid(encoded, inputs.train_values.to_numpy())
    again = grid.histogram(fitted(stage.GRID_DRAWS, np.random.default_rng(scenarios.seed)))
    for a, b in zip(probabilities.probabilities, again.probabilities):
        np.testing.assert_array_equal(a, b)

    # generate: paths from the factor model's draws (i.i.d. mode: step returns are its draws)
    steps = generated.base.log_returns
    assert steps.shape == (200, 5, 5) and np.isfinite(steps).all()
    real = np.corrcoef(inputs.train_values.to_numpy(), rowvar=False)
    paths = np.corrcoef(steps.reshape(-1, 5), rowvar=False)
    assert np.max(np.abs(paths - real)) < 0.15
    assert {s.name for s in generated.stress} == {"tail", "vol_shock", "correlation_stress", "historical_replay"}
    assert set(generated.risk["horizon"]) == {1, 5}

    # evaluate: the model's draws on the pairwise grid, its training figures in the comparison
    assert scored.grid.description == "pairwise mean over 10 pairs, 2 qubits per asset (16 cells per pair)"
    out = scored.metrics.set_index(["model", "sample"]).loc[("qgan", "out_of_sample")]
    assert out["kl"] == pytest.approx(grid.kl(grid.histogram(inputs.test_values.to_numpy()), probabilities), abs=1e-12)
    assert scored.correlation_max_abs_error < 0.1
    assert list(scored.comparison["model"]) == ["qgan", "gaussian"]
    row = scored.comparison.set_index("model").loc["qgan"]
    assert row["train_seconds"] == pytest.approx(fitted.summary()["seconds"])
    assert "qgan_kl_out" in scored.headline() and "backtest_qgan_1d_kupiec_p" in scored.headline()

    # the report's items and the recorded structure
    stats = stage.model_stats(fitted)
    assert stats["model_mode"] == "factor" and len(stats["explained_variance"]) == 2
    assert set(stats["asset_r2"]) == set("ABCDE") and all(0 < v < 1 for v in stats["asset_r2"].values())
    record = json.loads(json.dumps(stage.model_record(fitted), allow_nan=False))
    assert record["mode"] == "factor" and record["reloadable"] is False
    np.testing.assert_allclose(record["factor"]["loadings"], fitted.loadings)
    assert len(record["copula"]["probabilities"]) == 2 ** (2 * 2)


def _many_asset_prices(d: int, n: int, seed: int = 5) -> pd.DataFrame:
    """Prices of ``d`` assets from two Student-t factors plus Student-t noise (loadings drawn once)."""
    rng = np.random.default_rng(seed)
    loadings = np.column_stack([rng.uniform(0.5, 1.0, d), rng.uniform(-0.5, 0.5, d)])
    scale = np.sqrt(5 / 3)
    returns = rng.standard_t(5, (n, 2)) / scale @ loadings.T + 0.6 * rng.standard_t(5, (n, d)) / scale
    index = pd.bdate_range("2010-01-04", periods=n, name="date")
    columns = [f"S{k}" for k in range(d)]
    return 100 * np.exp(pd.DataFrame(0.01 * returns, index=index, columns=columns).cumsum())


@pytest.mark.slow
def test_qscen_run_on_nine_assets_picks_factor_mode_and_scores_asset_pairs(tmp_path, capsys) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from qscen.cli import main
    from quantum_scenarios.integrity import verify_run

    # 9 assets x 3 qubits = 27 > 24: the old preflight refused the file; factor mode trains 2 x 2 qubits
    prices = _many_asset_prices(9, 600)
    csv = tmp_path / "nine.csv"
    prices.to_csv(csv)
    args = [
        "run", "--source", str(csv), "--workdir", str(tmp_path / "w"), "--run-id", "nine", "--no-progress",
        "--set", "training.epochs=40", "--set", "model.copula_qubits=2",
        "--set", "model.factors=2", "--set", "model.check_every=20", "--set", "model.patience=1",
        "--set", "scenarios.n_paths=200", "--set", "scenarios.horizon=5", "--set", "stress.risk_horizons=[1,5]",
        "--set", "evaluation.split_date=2011-08-31", "--set", "evaluation.rivals=[]",
        "--set", "evaluation.rivals_in_parallel=false",
    ]
    with prefect_test_harness(server_startup_timeout=120):
        assert main(args) == 0, capsys.readouterr().err
    assets = set(prices.columns)
    run = tmp_path / "w" / "data" / "runs" / "nine"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["model"]["mode"] == "factor" and manifest["model"]["reloadable"] is False
    assert len(manifest["model"]["explained_variance"]) == 2 and set(manifest["model"]["asset_r2"]) == assets
    assert manifest["config"]["model"]["factors"] == 2 and "quantum" not in manifest
    assert "fitted_model.json" in manifest["files"] and not (run / "model").exists()
    # grid metrics over the 36 asset pairs, named in the manifest and the report
    assert manifest["evaluation_grid"] == "pairwise mean over 36 pairs, 3 qubits per asset (64 cells per pair)"
    table = {(row["model"], row["sample"]): row for row in manifest["metric_table"]}
    assert set(table) == {(m, s) for m in ("qgan", "gaussian", "bootstrap") for s in ("in_sample", "out_of_sample")}
    assert 0 < table[("qgan", "out_of_sample")]["fidelity"] <= 1 and table[("qgan", "out_of_sample")]["kl"] > 0
    assert table[("bootstrap", "in_sample")]["kl"] == pytest.approx(0.0, abs=1e-12)  # the training pairs themselves
    assert manifest["metrics"]["corr_max_abs_error"] < 0.15
    assert verify_run(run).ok
    html = (tmp_path / "w" / "reports" / "nine" / "report.html").read_text()
    assert "Explained variance" in html and "factor" in html
    assert "pairwise mean over 36 pairs" in html and "Showing 6 of the 36 asset pairs" in html


def test_validation_selection_route_chooses_on_the_training_period_and_records_the_candidates() -> None:
    import tasks.scenarios as stage
    from quantum_scenarios.models.selection import Candidate
    from tasks.quantum import encode_task

    returns = _factor_returns(700)[["A", "B"]]
    scenarios = ScenarioConfig(mode="iid", seed=5)
    evaluation = EvaluationConfig(split_date=returns.index[499].date(), rivals=[])
    model = ModelConfig(selection="validation", check_every=20, patience=1)
    candidates = (Candidate("joint", 2, 2, "renyi"), Candidate("copula", 2, 2, "renyi"))
    original = stage.select_from_config
    seen = {}

    def spy(train, section, **options):  # the task's call, with two small candidates
        seen["train"], seen["options"] = train, options
        return original(train, section, candidates=candidates, **options)

    with disable_run_logger(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(stage, "select_from_config", spy)
        inputs = stage.prepare_inputs_task.fn(returns, scenarios, evaluation)
        encoded = encode_task.fn(inputs.train_values, EncodingConfig(num_qubits=2), inputs.transform, True)
        fitted, probabilities = stage.fit_model_task.fn(
            inputs, encoded, model, CircuitConfig(), TrainingConfig(epochs=60), scenarios, evaluation
        )
    # only the training period reaches the selection, and its cut-off is the run's
    assert seen["train"].index.max() <= pd.Timestamp(inputs.split_date)
    assert seen["options"]["last_training_date"] == inputs.split_date
    record = stage.model_record(fitted)
    chosen = record["selection"]
    assert chosen["choice"] in {c.label for c in candidates} and len(chosen["candidates"]) == 2
    assert sum(row["chosen"] for row in chosen["candidates"]) == 1 and fitted.mode == chosen["choice"].split()[0]
    assert probabilities.shape == (16,) and np.isclose(probabilities.sum(), 1.0)
    json.dumps(record)
