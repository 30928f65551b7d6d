"""Prefect tasks for the generate and evaluate stages."""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.logging import get_run_logger
from prefect.task_runners import ProcessPoolTaskRunner

from quantum_scenarios import io
from quantum_scenarios.config import (
    CircuitConfig,
    EvaluationConfig,
    ModelConfig,
    ScenarioConfig,
    StressConfig,
    TrainingConfig,
)
from quantum_scenarios.encoding import Encoding
from quantum_scenarios.evaluation import Evaluation, ModelScores, evaluate_run, score_rivals
from quantum_scenarios.evaluation.grids import PairwiseDistribution, evaluation_grid
from quantum_scenarios.models import ScenarioModel
from quantum_scenarios.models.selection import select_from_config
from quantum_scenarios.scenarios.generation import (
    ModelInputs,
    ScenarioSet,
    fit_scenario_model,
    generate_scenarios,
    prepare_model_inputs,
)
from quantum_scenarios.threads import apply_process_policy
from tasks.operations import PROGRESS_LINES_ENV, install_progress_lines
from tasks.runs import RunContext

MODEL_RECORD = "fitted_model.json"
"""File (in the run folder) recording a copula/factor/hybrid model's fitted structure; not reloadable."""

GRID_DRAWS = 200_000
"""Draws of a non-joint model histogrammed on the encoding grid (the report's and metrics' distribution)."""


@task(name="prepare-model-inputs", cache_policy=NO_CACHE)
def prepare_inputs_task(returns: pd.DataFrame, scenarios: ScenarioConfig, evaluation: EvaluationConfig) -> ModelInputs:
    """Split at the cut-off; in GARCH mode fit GARCH(1,1)-t on the training period."""
    inputs = prepare_model_inputs(returns, mode=scenarios.mode, split_date=evaluation.split_date)
    get_run_logger().info(
        "train %d days (..%s), test %d days; qGAN learns %s",
        len(inputs.train_values), inputs.split_date, len(inputs.test_values), inputs.transform,
    )
    return inputs


@task(name="generate", cache_policy=NO_CACHE)
def generate_task(
    encoded: Encoding,
    probabilities: np.ndarray,
    inputs: ModelInputs,
    prices: pd.DataFrame,
    scenarios: ScenarioConfig,
    stress: StressConfig,
    model: ScenarioModel | None = None,
) -> ScenarioSet:
    """Draw trajectories from the trained generator (or ``model``, a fitted non-joint mode) and build the stress sets."""
    result = generate_scenarios(
        encoded,
        probabilities,
        inputs,
        prices,
        n_paths=scenarios.n_paths,
        horizon=scenarios.horizon,
        seed=scenarios.seed,
        weights=stress.weights,
        var_level=stress.var_level,
        vol_shock=stress.vol_shock,
        correlation_level=stress.correlation_level,
        replay_windows=stress.replay_windows,
        risk_levels=stress.risk_levels,
        risk_horizons=stress.risk_horizons,
        dequantise=scenarios.dequantise,
        draw=model,
    )
    logger = get_run_logger()
    for name, text in result.descriptions().items():
        logger.info("%s: %s", name, text)
    return result


@task(name="score-rivals", cache_policy=NO_CACHE)
def score_rivals_task(
    encoded: Encoding, inputs: ModelInputs, stress: StressConfig, evaluation: EvaluationConfig, scenarios: ScenarioConfig
) -> ModelScores:
    """Fit the classical rivals on the training period and score them (comparison, backtests, stylized facts).

    Needs no generator: the scenario pipeline runs it in its own process while the generator trains.
    """
    grid = evaluation_grid(encoded, inputs.train_values[list(encoded.assets)].to_numpy(),
                           max_assets=evaluation.joint_grid_max_assets)  # the grid evaluate_run scores on
    scores = score_rivals(
        grid, inputs, rivals=tuple(evaluation.rivals), rival_seconds=evaluation.rival_seconds,
        weights=stress.weights, backtest_level=evaluation.backtest_level, seed=scenarios.seed,
    )
    get_run_logger().info(
        "rivals scored: %s", {row["model"]: round(row["kl_out"], 4) for row in scores.comparison.to_dict("records")}
    )
    return scores


_QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def _rivals_worker_setup(parent: int) -> None:
    """Start of the rivals' process: one thread per pool, qscen's console lines, and it dies with the command.

    On Linux the kernel kills it when the thread that started it ends (``PR_SET_PDEATHSIG``).
    Prefect starts it from the runner's resolver thread, which lives until the runner has shut
    the pool down, so a killed or interrupted ``qscen`` leaves no process behind.
    """
    apply_process_policy()
    if os.environ.get(PROGRESS_LINES_ENV) == "1":  # qscen without -v: its compact lines, not Prefect's format
        install_progress_lines()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


@contextmanager
def rivals_in_background(
    encoded: Encoding, inputs: ModelInputs, stress: StressConfig, evaluation: EvaluationConfig, scenarios: ScenarioConfig
) -> Iterator[PrefectFuture[ModelScores] | None]:
    """Run :func:`score_rivals_task` in its own process for the duration of the block.

    Yields the task's future, or ``None`` when there is nothing to gain or it cannot be done:
    no rivals, ``evaluation.rivals_in_parallel`` off, or a daemonic process (a Dask worker may
    not start children); the evaluate stage then fits the rivals itself. The process starts
    with one thread per OpenMP/BLAS/torch pool (:func:`~quantum_scenarios.threads.apply_process_policy`),
    so it takes one core beside the training. Leaving the block early (an error) cancels it.
    """
    if not evaluation.rivals or not evaluation.rivals_in_parallel or multiprocessing.current_process().daemon:
        yield None
        return
    # The pool's queue starts multiprocessing's resource tracker. If qscen is interrupted (os._exit),
    # the tracker frees the queue's semaphores and warns about them on the console after qscen's last
    # line; it takes its warning filters from ours when it starts.
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)
    before = set(multiprocessing.active_children())
    with ProcessPoolTaskRunner(max_workers=1, initializer=_rivals_worker_setup, initargs=(os.getpid(),)) as runner:
        try:
            yield runner.submit(score_rivals_task, parameters={
                "encoded": encoded, "inputs": inputs, "stress": stress, "evaluation": evaluation,
                "scenarios": scenarios,
            })
        except BaseException:  # a failure, Ctrl-C or SIGTERM: do not wait for the rivals to finish
            for process in set(multiprocessing.active_children()) - before:
                process.kill()
            raise


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate_task(
    encoded: Encoding,
    probabilities: np.ndarray,
    inputs: ModelInputs,
    stress: StressConfig,
    evaluation: EvaluationConfig,
    scenarios: ScenarioConfig,
    model: ScenarioModel | None = None,
    rival_scores: ModelScores | None = None,
) -> Evaluation:
    """Metrics against both baselines in and out of sample, VaR backtest, correlation and clustering checks.

    With ``model`` (a fitted non-joint mode) its draws replace the grid generator's and its
    training figures enter the comparison table. With ``rival_scores`` (from
    :func:`score_rivals_task`) the rivals are not fitted again.
    """
    extra: dict[str, Any] = {}
    if model is not None:
        figures = model.summary()
        extra = {"model": model, "training": {k: figures[k] for k in ("epochs_to_convergence", "seconds",
                                                                       "peak_memory_mb") if k in figures}}
    result = evaluate_run(
        encoded, probabilities, inputs, weights=stress.weights, backtest_level=evaluation.backtest_level,
        seed=scenarios.seed, dequantise=scenarios.dequantise, rivals=tuple(evaluation.rivals),
        rival_seconds=evaluation.rival_seconds, rival_scores=rival_scores,
        joint_grid_max_assets=evaluation.joint_grid_max_assets, **extra,
    )
    get_run_logger().info("headline metrics: %s", {k: round(v, 4) for k, v in result.headline().items()})
    return result


@task(name="fit-model", cache_policy=NO_CACHE)
def fit_model_task(
    inputs: ModelInputs,
    encoded: Encoding,
    model: ModelConfig,
    circuit: CircuitConfig,
    training: TrainingConfig,
    scenarios: ScenarioConfig,
    evaluation: EvaluationConfig | None = None,
) -> tuple[ScenarioModel, np.ndarray | PairwiseDistribution]:
    """Fit a copula, factor or hybrid model (or the one ``model.selection`` picks) and its evaluation-grid distribution.

    With ``model.selection="validation"`` the mode, qubits, depth and epochs are chosen by
    :func:`~quantum_scenarios.models.selection.select_from_config` on the last
    ``model.validation_fraction`` of the training period, and the choice is refitted on all of
    it; the candidates' table goes into ``fitted_model.json`` (``selection``).

    The model keeps its own circuit and loss defaults (``ry_cz`` from the independence copula,
    Rényi-1/2): only ``training.epochs`` and the seeds of ``circuit`` and ``training`` carry over,
    and it trains with the exact statevector executor. Selection uses the last
    ``model.validation_fraction`` of the training period, never the test period.

    Returns:
        The fitted model and the histogram of ``GRID_DRAWS`` of its draws (seed
        ``scenarios.seed``) on the evaluation grid (:func:`~quantum_scenarios.evaluation.grids.evaluation_grid`
        with ``evaluation.joint_grid_max_assets``): ``encoded``'s joint grid, or every asset
        pair's 2-D grid (a :class:`~quantum_scenarios.evaluation.grids.PairwiseDistribution`),
        which the evaluation and the report compare with the data.
    """
    if model.selection == "validation":
        chosen = select_from_config(
            inputs.train_values, model.model_dump(), epochs=training.epochs, circuit={"seed": circuit.seed},
            training={"seed": training.seed}, last_training_date=inputs.split_date,
        )
        fitted = chosen.model
        fitted.model_selection = chosen.summary()
        get_run_logger().info(
            "selected %s on the validation block %s..%s (%d candidates; refit %d epochs on all %d training days)",
            chosen.choice.label, *(chosen.validation_dates or ("?", "?")), len(chosen.table), chosen.epochs,
            chosen.n_fit + chosen.n_validation,
        )
    else:
        fitted = fit_scenario_model(
            inputs, model.model_dump(), num_qubits=encoded.contract.num_qubits[0], epochs=training.epochs,
            circuit={"seed": circuit.seed}, training={"seed": training.seed},
        )
    figures = fitted.summary()
    get_run_logger().info(
        "%s model fitted in %.1f s (%s epochs, best %s)%s", fitted.mode, figures.get("seconds", float("nan")),
        figures.get("epochs_run"), figures.get("epochs_to_convergence"),
        f"; explained variance {[round(v, 3) for v in figures['explained_variance']]}"
        if "explained_variance" in figures else "",
    )
    grid = evaluation_grid(encoded, inputs.train_values[list(encoded.assets)].to_numpy(),
                           max_assets=(evaluation or EvaluationConfig()).joint_grid_max_assets)
    probabilities = grid.histogram(fitted(GRID_DRAWS, np.random.default_rng(scenarios.seed)))
    return fitted, probabilities


def model_stats(model: ScenarioModel) -> dict[str, Any]:
    """The report's "generator" items for a non-joint model: mode, size, training and fitted structure.

    Factor mode lists the share of variance each factor explains and, per asset, the share of
    its variance the factors explain (R²). The validation KL is on the model's own copula grid.
    """
    s = model.summary()
    inner = s.get("factor_copula", s)
    stats: dict[str, Any] = {"model_mode": model.mode, "executor": "exact"}
    for key in ("factors", "idiosyncratic", "marginal", "num_qubits", "num_parameters", "epochs_run",
                "epochs_to_convergence", "seconds", "peak_memory_mb"):
        if key in s:
            stats[key] = s[key]
        elif key in inner:
            stats[key] = inner[key]
    if "explained_variance" in s:
        stats["explained_variance"] = [round(v, 4) for v in s["explained_variance"]]
        stats["asset_r2"] = {a: round(v, 4) for a, v in s["asset_r2"].items()}
    selection = inner.get("selection", inner)  # copula/factor: the selection rounds before the refit
    if "validation_kl" in selection:
        stats["validation_kl_by_round"] = selection["validation_kl"]
    return stats


def model_record(model: ScenarioModel) -> dict[str, Any]:
    """What a non-joint model's fitted structure is, JSON-ready: summary plus its parameters.

    Factor mode adds loadings, means, scales and eigenvalues; copula and factor modes the
    copula generator's parameters and grid probabilities. Marginals (empirical or Student-t)
    are not recorded, so the record documents the model but cannot rebuild it.
    """
    record: dict[str, Any] = {"mode": model.mode, "assets": list(model.assets), "reloadable": False,
                              "summary": model.summary()}
    if model.model_selection is not None:
        record["selection"] = model.model_selection
    if hasattr(model, "loadings"):
        record["factor"] = {"loadings": model.loadings, "mean": model.mean, "scale": model.scale,
                            "eigenvalues": model.eigenvalues, "implied_correlation": model.implied_correlation()}
    copula = getattr(model, "factor_model", model)
    fit = getattr(copula, "fit_result", None)
    if fit is not None:
        record["copula"] = {"assets": list(copula.assets), "num_qubits_per_asset": copula.num_qubits,
                            "theta": fit.theta, "probabilities": fit.probabilities}
    return io.to_jsonable(record)


@task(name="record-model", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def record_model_task(run: RunContext, model: ScenarioModel) -> str:
    """Write ``fitted_model.json`` (atomically) into the run folder: the non-joint model as fitted.

    Only joint mode saves a reloadable ``model/`` folder (QPY circuit, checked by ``qscen verify``);
    this record is checksummed with every other run file by the manifest.
    """
    record = model_record(model)
    path = Path(run.layout.run_dir) / MODEL_RECORD
    return str(io.atomic_write(path, lambda tmp: tmp.write_text(json.dumps(record, allow_nan=False), encoding="utf-8")))
