"""The evaluate stage: scorecard of a generator against baselines."""

from __future__ import annotations

import numpy as np
import pytest

from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation import classical_fidelity, kl_divergence
from quantum_scenarios.scenarios.generation import prepare_model_inputs
from quantum_scenarios.evaluation import evaluate_run


@pytest.fixture(scope="module")
def scored(bundled_market):
    inputs = prepare_model_inputs(bundled_market.returns, mode="garch")
    encoded = encode(inputs.train_values, num_qubits=3, quantiles=(0.005, 0.995), margin=0.0,
                     transform=inputs.transform)
    # the training histogram as the "generator": then qgan == bootstrap by construction
    result = evaluate_run(encoded, encoded.target, inputs, seed=5, n_correlation_draws=50_000,
                          acf_paths=4, acf_horizon=1500, backtest_samples=4000)
    return encoded, inputs, result


def test_metric_table_rows_and_closed_form_agreement(scored) -> None:
    encoded, inputs, result = scored
    table = result.metrics.set_index(["model", "sample"])
    assert set(table.index) == {(m, s) for m in ("qgan", "gaussian", "bootstrap") for s in ("in_sample", "out_of_sample")}
    assert table.loc[("qgan", "in_sample"), "fidelity"] == pytest.approx(1.0)
    test_hist = encoded.histogram(inputs.test_values.to_numpy())
    assert table.loc[("qgan", "out_of_sample"), "fidelity"] == pytest.approx(classical_fidelity(test_hist, encoded.target))
    assert table.loc[("qgan", "out_of_sample"), "kl"] == pytest.approx(kl_divergence(test_hist, encoded.target))
    assert table.loc[("qgan", "out_of_sample"), "kl"] == pytest.approx(table.loc[("bootstrap", "out_of_sample"), "kl"])


def test_reference_baselines_out_of_sample(scored) -> None:
    # figures measured on this grid (GARCH-t residuals, 3 qubits, 0.5%/99.5% bounds)
    h = scored[2].headline()
    assert h["gaussian_fidelity_out"] == pytest.approx(0.895, abs=0.01)
    assert h["gaussian_kl_out"] == pytest.approx(0.18, abs=0.02)
    assert h["bootstrap_fidelity_out"] == pytest.approx(0.907, abs=0.01)
    assert h["bootstrap_kl_out"] == pytest.approx(0.22, abs=0.02)


def test_correlation_and_clustering_checks(scored) -> None:
    _, inputs, result = scored
    np.testing.assert_allclose(np.diag(result.generated_correlation), 1.0)
    assert result.correlation_max_abs_error < 0.05
    assert result.correlation_max_abs_error == pytest.approx(
        np.max(np.abs(result.real_correlation - result.generated_correlation))
    )
    assert (result.abs_acf_data > 0).all() and (result.abs_acf_paths > 0).all()
    assert set(result.backtest["model"]) == {"qgan", "gaussian", "bootstrap"}
    assert (result.backtest["n"] == len(inputs.test_returns)).all()
