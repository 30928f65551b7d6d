"""The evaluate stage: one scorecard of the trained generator for a run.

Combines the evaluation primitives (:mod:`quantum_scenarios.evaluation`): grid
metrics against the Gaussian and bootstrap baselines in and out of sample, the
one-day VaR backtest on the test period, the correlation of generated one-day
joint draws against the training data, and volatility clustering of long
simulated paths against the observed returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios.evaluation.rivals import bootstrap_baseline, bootstrap_sampler, gaussian_baseline, gaussian_sampler
from quantum_scenarios.evaluation.backtests import var_backtest_table
from quantum_scenarios.evaluation.distances import metric_table
from quantum_scenarios.evaluation.distances import classical_fidelity, kl_divergence
from quantum_scenarios.evaluation.grids import JOINT_GRID_MAX_ASSETS, PairwiseDistribution, as_grid, evaluation_grid
from quantum_scenarios.evaluation.backtests import backtest_table
from quantum_scenarios.evaluation.rivals import make_rival
from quantum_scenarios.evaluation.stylized import abs_autocorrelation, lower_tail_dependence, stylized_facts
from quantum_scenarios.scenarios.generation import scenario_draw
from quantum_scenarios.scenarios.trajectories import simulate_paths

__all__ = [
    "COMPARISON_COLUMNS", "DEFAULT_RIVALS", "Evaluation", "ModelScores", "comparison_table", "evaluate_run",
    "score_models", "score_rivals",
]

DEFAULT_RIVALS = ("gaussian", "fhs", "t_copula", "dcc", "classical_gan")
@dataclass
class Evaluation:
    """Everything the evaluate stage measures for one run.

    Attributes:
        metrics: :func:`metric_table` with ``sample`` spelled ``in_sample`` / ``out_of_sample``.
        backtest: :func:`var_backtest_table` on the test period.
        real_correlation: correlation of the training values (residuals in GARCH mode).
        generated_correlation: correlation of one-day joint draws from the generator.
        correlation_max_abs_error: largest absolute entry of their difference.
        abs_acf_data: mean autocorrelation of |r| over lags 1..10, per asset, observed returns.
        abs_acf_paths: the same for long simulated paths of the run's mode.
        baselines: grid probabilities of the Gaussian and bootstrap baselines.
        test_histogram: the test values' histogram on the grid.
        comparison: :func:`comparison_table` of the generator against every rival (or ``None``).
        backtests: :func:`~quantum_scenarios.evaluation.backtests.backtest_table` at 1 and 10
            days for the generator and every rival (or ``None``).
        stylized: stylized facts of the data and of each model's long simulated paths.
        rivals: fitted rival parameters worth reporting.
        grid: the :mod:`~quantum_scenarios.evaluation.grids` grid the grid metrics were taken on
            (joint, or the mean over asset pairs); ``grid.description`` names it.
    """

    metrics: pd.DataFrame
    backtest: pd.DataFrame
    real_correlation: np.ndarray
    generated_correlation: np.ndarray
    correlation_max_abs_error: float
    abs_acf_data: np.ndarray
    abs_acf_paths: np.ndarray
    baselines: dict[str, np.ndarray]
    test_histogram: np.ndarray
    comparison: pd.DataFrame | None = None
    backtests: pd.DataFrame | None = None
    stylized: pd.DataFrame | None = None
    rivals: dict[str, Any] | None = None
    grid: Any = None

    def headline(self) -> dict[str, float]:
        """A few numbers for logs, the CLI and the manifest."""
        table = self.metrics.set_index(["model", "sample"])
        out: dict[str, float] = {}
        for model in table.index.get_level_values("model").unique():
            out[f"{model}_fidelity_out"] = float(table.loc[(model, "out_of_sample"), "fidelity"])
            out[f"{model}_kl_out"] = float(table.loc[(model, "out_of_sample"), "kl"])
        out["qgan_fidelity_in"] = float(table.loc[("qgan", "in_sample"), "fidelity"])
        out["corr_max_abs_error"] = self.correlation_max_abs_error
        out["abs_acf_data"] = float(np.mean(self.abs_acf_data))
        out["abs_acf_paths"] = float(np.mean(self.abs_acf_paths))
        if self.comparison is not None:
            for row in self.comparison.to_dict(orient="records"):
                for key in ("kl_out", "fidelity_out", "w1_out", "tail_dependence_error", "mode_coverage"):
                    out[f"compare_{row['model']}_{key}"] = float(row[key])
        if self.backtests is not None:
            for row in self.backtests.to_dict(orient="records"):
                prefix = f"backtest_{row['model']}_{row['horizon']}d"
                out[f"{prefix}_kupiec_p"] = float(row["kupiec_p"])
                out[f"{prefix}_christoffersen_cc_p"] = float(row["christoffersen_cc_p"])
                out[f"{prefix}_es_p"] = float(row["es_p"])
        return out


def evaluate_run(
    encoding: Any,
    probabilities: ArrayLike | None,
    inputs: Any,
    *,
    weights: ArrayLike | None = None,
    backtest_level: float = 0.99,
    seed: int = 0,
    n_correlation_draws: int = 200_000,
    acf_paths: int = 16,
    acf_horizon: int = 2_500,
    backtest_samples: int = 20_000,
    dequantise: str = "empirical",
    model: Any = None,
    model_name: str = "qgan",
    training: dict[str, Any] | None = None,
    rivals: tuple[str, ...] = DEFAULT_RIVALS,
    rival_seconds: float = 10.0,
    horizons: tuple[int, ...] = (1, 10),
    rival_scores: "ModelScores | None" = None,
    joint_grid_max_assets: int = JOINT_GRID_MAX_ASSETS,
) -> Evaluation:
    """Score the trained generator against the data and both classical baselines.

    Args:
        encoding: the training :class:`~quantum_scenarios.encoding.Encoding`.
        probabilities: the generator's grid distribution.
        inputs: :class:`~quantum_scenarios.scenarios.generation.ModelInputs` (train/test values,
            GARCH fit, mode).
        weights: portfolio weights for the VaR backtest (equal by default).
        backtest_level: one-day VaR level of the Kupiec backtest.
        seed: seed of every sample drawn here.
        n_correlation_draws: one-day joint draws used for the generated correlation matrix.
        acf_paths, acf_horizon: long paths simulated to measure volatility clustering (the
            autocorrelation of |r| needs series much longer than a scenario horizon).
        backtest_samples: Monte Carlo draws per day for the one-day VaR forecasts (an eighth of them, at
            least 1,000, per window for the multi-horizon backtests of every model).
        dequantise: where generated draws land inside their grid cell, as in the scenarios.
        model: a fitted model of another mode (:mod:`quantum_scenarios.models`) whose draws
            replace the grid generator's; with ``probabilities=None`` the grid metrics use the
            histogram of ``n_correlation_draws`` of its draws.
        model_name: the generator's name in the comparison and backtest tables.
        training: the generator's ``epochs_to_convergence``, ``seconds``, ``peak_memory_mb``.
        rivals: classical rivals fitted on the training values and compared
            (:data:`~quantum_scenarios.evaluation.rivals.RIVALS` names); ``()`` skips the
            comparison, the multi-horizon backtests and the stylized-facts table.
        rival_seconds: training-time budget of the classical GAN rival.
        horizons: backtest horizons in days.
        rival_scores: the rivals already fitted and scored by :func:`score_rivals` (for example
            while the generator trained); ``rivals`` and ``rival_seconds`` are then ignored.
        joint_grid_max_assets: grid metrics on the joint grid up to this many assets, else the
            mean over asset pairs (:func:`~quantum_scenarios.evaluation.grids.evaluation_grid`);
            ``probabilities`` may then be a joint grid distribution (marginalised onto the pairs)
            or a :class:`~quantum_scenarios.evaluation.grids.PairwiseDistribution`.
    """
    assets = list(encoding.contract.assets)
    train = inputs.train_values[assets].to_numpy()
    test = inputs.test_values[assets].dropna().to_numpy()
    grid = evaluation_grid(encoding, train, max_assets=joint_grid_max_assets)
    if probabilities is None:
        if model is None:
            raise ValueError("evaluate_run needs the generator's grid probabilities or a fitted model (model=)")
        probabilities = grid.histogram(model(int(n_correlation_draws), np.random.default_rng(seed)))
    elif model is None and isinstance(probabilities, PairwiseDistribution):
        raise ValueError("pairwise probabilities cannot be drawn from: pass the fitted model (model=) as well")
    p = grid.distribution(probabilities)
    baselines = {"gaussian": grid.gaussian(train, seed=seed), "bootstrap": grid.histogram(train)}
    test_hist = grid.histogram(test)
    table = grid.metric_table(grid.target, test_hist, {"qgan": p, **baselines})
    table["sample"] = table["sample"].map({"in": "in_sample", "out": "out_of_sample"}).fillna(table["sample"])

    rng = np.random.default_rng(seed)
    qgan_draw = model if model is not None else scenario_draw(
        encoding, np.asarray(probabilities, dtype=float), inputs, dequantise=dequantise)
    draws = qgan_draw(n_correlation_draws, rng)
    real_corr = np.corrcoef(train, rowvar=False)
    gen_corr = np.corrcoef(draws, rowvar=False)
    corr_error = float(np.max(np.abs(real_corr - gen_corr)))

    backtest = var_backtest_table(
        inputs.test_returns[assets],
        {"qgan": qgan_draw, "gaussian": gaussian_sampler(train), "bootstrap": bootstrap_sampler(train)},
        weights=weights,
        level=backtest_level,
        garch=inputs.garch_train,
        n_samples=backtest_samples,
        seed=seed,
    )

    observed = pd.concat([inputs.train_returns, inputs.test_returns])[assets].to_numpy()
    acf_data = abs_autocorrelation(observed, max_lag=10).mean(axis=0)
    with np.errstate(over="ignore"):  # levels of 2,500-step paths are irrelevant here and may overflow
        long_paths = simulate_paths(
            qgan_draw,
            n_paths=acf_paths,
            horizon=acf_horizon,
            mode=inputs.mode,
            garch=inputs.garch,
            last_prices=np.ones(len(assets)),
            assets=assets,
            seed=seed + 1,
        )
    acf_paths_value = abs_autocorrelation(long_paths.log_returns, max_lag=10).mean(axis=0)
    result = Evaluation(table, backtest, real_corr, gen_corr, corr_error, acf_data, acf_paths_value, baselines, test_hist,
                        grid=grid)
    scoring = {"weights": weights, "backtest_level": backtest_level, "seed": seed, "acf_paths": acf_paths,
               "acf_horizon": acf_horizon, "backtest_samples": backtest_samples, "horizons": horizons}
    if rival_scores is None:
        if not rivals:
            return result
        rival_scores = score_rivals(grid, inputs, rivals=rivals, rival_seconds=rival_seconds, **scoring)
    elif not rival_scores.rivals:
        return result
    own = score_models(grid, inputs, {model_name: qgan_draw}, training={model_name: dict(training or {})}, **scoring)
    result.comparison = pd.concat([own.comparison, rival_scores.comparison], ignore_index=True)
    result.backtests = pd.concat([own.backtests, rival_scores.backtests], ignore_index=True).sort_values(
        "horizon", kind="stable").reset_index(drop=True)
    facts = {"data": stylized_facts(observed), **own.stylized, **rival_scores.stylized}
    result.stylized = pd.DataFrame(facts).T.rename_axis("series").reset_index()
    result.rivals = dict(rival_scores.summaries)
    return result


@dataclass
class ModelScores:
    """The comparison rows, backtest rows and stylized facts of some models, scored apart.

    Each model's figures depend only on its own draws (every model draws from its own
    generator seeded with ``seed``), so scores of the rivals computed in one place (for example
    in another process, while the qGAN trains) join the generator's exactly as if all had been
    scored together.

    Attributes:
        rivals: names of the models scored, in order.
        comparison: :func:`comparison_table` rows.
        backtests: :func:`~quantum_scenarios.evaluation.backtests.backtest_table` rows.
        stylized: model name -> :func:`stylized_facts` of its long simulated paths.
        summaries: model name -> fitted parameters worth reporting (rivals only).
    """

    rivals: tuple[str, ...]
    comparison: pd.DataFrame
    backtests: pd.DataFrame
    stylized: dict[str, dict[str, float]]
    summaries: dict[str, Any]


def score_models(
    encoding: Any,
    inputs: Any,
    models: dict[str, Any],
    *,
    training: dict[str, dict[str, Any]] | None = None,
    weights: ArrayLike | None = None,
    backtest_level: float = 0.99,
    seed: int = 0,
    acf_paths: int = 16,
    acf_horizon: int = 2_500,
    backtest_samples: int = 20_000,
    horizons: tuple[int, ...] = (1, 10),
) -> ModelScores:
    """Comparison rows, 1- and 10-day backtests and stylized facts of ``models`` (name -> draw)."""
    assets = list(encoding.contract.assets)
    train = inputs.train_values[assets].to_numpy()
    test = inputs.test_values[assets].dropna().to_numpy()
    comparison = comparison_table(train, test, encoding, models, training=training, seed=seed)
    backtests = backtest_table(
        inputs.test_returns[assets], models, horizons=horizons, weights=weights, level=backtest_level,
        garch=inputs.garch_train, n_samples=max(backtest_samples // 8, 1000), seed=seed,
    )
    stylized = {}
    for name, draw in models.items():
        with np.errstate(over="ignore"):
            paths = simulate_paths(draw, n_paths=max(acf_paths // 4, 1), horizon=acf_horizon, mode=inputs.mode,
                                   garch=inputs.garch, last_prices=np.ones(len(assets)), assets=assets, seed=seed + 1)
        stylized[name] = stylized_facts(paths.log_returns)
    return ModelScores(tuple(models), comparison, backtests, stylized, {})


def score_rivals(
    encoding: Any,
    inputs: Any,
    *,
    rivals: tuple[str, ...] = DEFAULT_RIVALS,
    rival_seconds: float = 10.0,
    **scoring: Any,
) -> ModelScores:
    """Fit the classical rivals on the training values and score them (see :func:`evaluate_run`).

    Needs only the training and test data, not the generator, so it can run while the
    generator trains; :func:`evaluate_run` takes the result as ``rival_scores``.

    Args:
        rivals: rival names (:data:`~quantum_scenarios.evaluation.rivals.RIVALS`).
        rival_seconds: training-time budget of the classical GAN.
        scoring: :func:`score_models`' options (weights, backtest_level, seed, acf_paths,
            acf_horizon, backtest_samples, horizons).
    """
    seed = scoring.get("seed", 0)
    train = inputs.train_values[list(encoding.contract.assets)].to_numpy()
    fitted: dict[str, Any] = {}
    info: dict[str, dict[str, Any]] = {}
    for name in rivals:
        options = {"max_seconds": rival_seconds, "seed": seed} if name == "classical_gan" else {}
        rival = make_rival(name, **options).fit(train)
        fitted[name] = rival
        info[name] = {"seconds": rival.seconds}
        if name == "classical_gan":
            info[name]["epochs_to_convergence"] = rival.epochs_run
    scores = score_models(encoding, inputs, fitted, training=info, **scoring)
    scores.summaries = {name: rival.summary() for name, rival in fitted.items()}
    return scores


COMPARISON_COLUMNS = (
    "model", "kl_in", "kl_out", "fidelity_in", "fidelity_out", "w1_out", "tail_dependence_error", "mode_coverage",
    "epochs_to_convergence", "train_seconds", "peak_memory_mb",
)


def comparison_table(
    train: ArrayLike,
    test: ArrayLike,
    encoding: Any,
    models: dict[str, Any],
    *,
    training: dict[str, dict[str, Any]] | None = None,
    n_samples: int = 200_000,
    tail_q: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per model: quality in and out of sample, tails, coverage, cost.

    Every model is judged by its draws (``n_samples`` of them, seeded), on the same grid:

    * ``kl_in`` / ``kl_out``: ``KL(train || model)`` / ``KL(test || model)`` on the grid;
    * ``fidelity_in`` / ``fidelity_out``: classical fidelity with the same histograms;
    * ``w1_out``: Wasserstein-1 between the draws and the test values per asset
      (``scipy.stats.wasserstein_distance``, continuous), mean over assets;
    * ``tail_dependence_error``: mean absolute error of the pairwise lower-tail dependence
      ``lambda_L(tail_q)`` of the draws against the test values (NaN for one asset);
    * ``mode_coverage``: share of the test histogram's occupied cells the model puts at
      least one draw in (``1 / n_samples`` of mass), i.e. the modes it did not collapse;
    * ``epochs_to_convergence``, ``train_seconds``, ``peak_memory_mb``: from ``training``.

    Args:
        train, test: Values ``(m, d)`` in the encoding's space and asset order.
        encoding: The comparison grid: an :mod:`~quantum_scenarios.evaluation.grids` grid, or an
            encoding (its joint grid up to four assets, the mean over asset pairs above).
        models: Name -> fitted model or ``draw(k, rng)`` callable.
        training: Name -> ``{"epochs_to_convergence", "seconds", "peak_memory_mb"}``.
        n_samples: Draws per model.
        tail_q: Quantile of the tail-dependence estimate.
        seed: Seed of every model's draws.
    """
    from scipy.stats import wasserstein_distance

    x_train, x_test = np.asarray(train, dtype=float), np.asarray(test, dtype=float)
    grid = as_grid(encoding, x_train)
    h_train, h_test = grid.histogram(x_train), grid.histogram(x_test)
    d = x_test.shape[1]
    off = ~np.eye(d, dtype=bool)
    lam_test = lower_tail_dependence(x_test, q=tail_q)
    training = training or {}
    rows = []
    for name, model in models.items():
        draws = np.asarray(model(int(n_samples), np.random.default_rng(seed)), dtype=float)
        p = grid.histogram(draws)
        lam = lower_tail_dependence(draws, q=tail_q)
        info = training.get(name, {})
        rows.append(
            {
                "model": name,
                "kl_in": grid.kl(h_train, p),
                "kl_out": grid.kl(h_test, p),
                "fidelity_in": grid.fidelity(h_train, p),
                "fidelity_out": grid.fidelity(h_test, p),
                "w1_out": float(np.mean([wasserstein_distance(draws[:, j], x_test[:, j]) for j in range(d)])),
                "tail_dependence_error": float(np.abs(lam - lam_test)[off].mean()) if d > 1 else float("nan"),
                "mode_coverage": grid.coverage(p, h_test, 1.0 / n_samples),
                "epochs_to_convergence": info.get("epochs_to_convergence", float("nan")),
                "train_seconds": info.get("seconds", float("nan")),
                "peak_memory_mb": info.get("peak_memory_mb", float("nan")),
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
