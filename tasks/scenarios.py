"""Prefect tasks for the generate and evaluate stages."""

from __future__ import annotations

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from quantum_scenarios.config import EvaluationConfig, ScenarioConfig, StressConfig
from quantum_scenarios.encoding import Encoding
from quantum_scenarios.evaluation import Evaluation, evaluate_run
from quantum_scenarios.scenarios.generation import ModelInputs, ScenarioSet, generate_scenarios, prepare_model_inputs


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
) -> ScenarioSet:
    """Draw trajectories from the trained generator and build the stress sets."""
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
    )
    logger = get_run_logger()
    for name, text in result.descriptions().items():
        logger.info("%s: %s", name, text)
    return result


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate_task(
    encoded: Encoding,
    probabilities: np.ndarray,
    inputs: ModelInputs,
    stress: StressConfig,
    evaluation: EvaluationConfig,
    scenarios: ScenarioConfig,
) -> Evaluation:
    """Metrics against both baselines in and out of sample, VaR backtest, correlation and clustering checks."""
    result = evaluate_run(
        encoded, probabilities, inputs, weights=stress.weights, backtest_level=evaluation.backtest_level,
        seed=scenarios.seed, dequantise=scenarios.dequantise,
    )
    get_run_logger().info("headline metrics: %s", {k: round(v, 4) for k, v in result.headline().items()})
    return result
