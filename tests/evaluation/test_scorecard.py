"""The evaluate stage: scorecard of a generator against baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
                          acf_paths=4, acf_horizon=1500, backtest_samples=4000,
                          rival_seconds=3.0)
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


def test_comparison_table_against_direct_computations() -> None:
    from scipy.stats import wasserstein_distance

    from quantum_scenarios.encoding import encode
    from quantum_scenarios.evaluation import COMPARISON_COLUMNS, comparison_table, lower_tail_dependence

    rng = np.random.default_rng(0)
    cov = [[1.0, 0.6], [0.6, 1.0]]
    train = rng.multivariate_normal([0, 0], cov, size=3000)
    test = rng.multivariate_normal([0, 0], cov, size=1000)
    enc = encode(pd.DataFrame(train, columns=["a", "b"]), num_qubits=3)

    def replay(k, r):
        return test[r.integers(0, len(test), size=k)]

    def collapsed(k, r):
        return np.zeros((k, 2))

    table = comparison_table(train, test, enc, {"replay": replay, "collapsed": collapsed},
                             training={"replay": {"epochs_to_convergence": 7, "seconds": 1.5, "peak_memory_mb": 2.0}},
                             n_samples=50_000)
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    rows = table.set_index("model")
    draws = replay(50_000, np.random.default_rng(0))
    p = enc.histogram(draws)
    assert rows.loc["replay", "kl_out"] == pytest.approx(kl_divergence(enc.histogram(test), p))
    assert rows.loc["replay", "fidelity_in"] == pytest.approx(classical_fidelity(enc.target, p))
    assert rows.loc["replay", "w1_out"] == pytest.approx(
        np.mean([wasserstein_distance(draws[:, j], test[:, j]) for j in range(2)])
    )
    lam = lower_tail_dependence(draws)[0, 1] - lower_tail_dependence(test)[0, 1]
    assert rows.loc["replay", "tail_dependence_error"] == pytest.approx(abs(lam))
    assert rows.loc["replay", "mode_coverage"] == 1.0 and rows.loc["replay", "epochs_to_convergence"] == 7
    # a collapsed model covers one cell of the test's occupied cells
    assert rows.loc["collapsed", "mode_coverage"] == pytest.approx(1 / np.count_nonzero(enc.histogram(test)))
    assert rows.loc["collapsed", "kl_out"] > 5 * rows.loc["replay", "kl_out"]
    assert np.isnan(rows.loc["collapsed", "train_seconds"])


def test_every_rival_is_compared_backtested_and_checked_for_stylized_facts(scored) -> None:
    _, _, result = scored
    names = ["qgan", "gaussian", "fhs", "t_copula", "dcc", "classical_gan"]
    assert list(result.comparison["model"]) == names
    # FHS on the grid is the training histogram, which is also this "generator": same figures
    rows = result.comparison.set_index("model")
    assert rows.loc["fhs", "kl_in"] == pytest.approx(rows.loc["qgan", "kl_in"], abs=0.02)
    assert list(zip(result.backtests["model"], result.backtests["horizon"])) == [
        (m, h) for h in (1, 10) for m in names
    ]
    assert list(result.stylized["series"]) == ["data", *names]
    assert result.rivals["dcc"]["a"] >= 0 and result.rivals["t_copula"]["copula_nu"] > 2
    h = result.headline()
    assert "compare_dcc_kl_out" in h and "backtest_fhs_10d_kupiec_p" in h


def test_rivals_scored_apart_join_the_generator_exactly(scored) -> None:
    """score_rivals (run while the generator trains) + evaluate_run equals one evaluate_run."""
    from quantum_scenarios.evaluation import score_rivals

    encoded, inputs, _ = scored
    options = dict(seed=5, acf_paths=4, acf_horizon=600, backtest_samples=4000)
    together = evaluate_run(encoded, encoded.target, inputs, n_correlation_draws=20_000, rivals=("gaussian", "dcc"),
                            **options)
    apart = score_rivals(encoded, inputs, rivals=("gaussian", "dcc"), **options)
    joined = evaluate_run(encoded, encoded.target, inputs, n_correlation_draws=20_000, rival_scores=apart,
                          rivals=("fhs",), **options)  # rivals= is ignored when rival_scores is given
    timed = ["train_seconds"]  # wall time of each fit: the one figure that differs between two fits
    pd.testing.assert_frame_equal(joined.comparison.drop(columns=timed), together.comparison.drop(columns=timed))
    pd.testing.assert_frame_equal(joined.backtests, together.backtests)
    pd.testing.assert_frame_equal(joined.stylized, together.stylized)
    assert joined.rivals.keys() == together.rivals.keys() and joined.rivals["dcc"] == together.rivals["dcc"]
    assert list(joined.comparison["model"]) == ["qgan", "gaussian", "dcc"]
