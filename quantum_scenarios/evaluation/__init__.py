"""Evaluation: how good a scenario model is, against the data and against classical rivals.

Submodules, one concern each:

* :mod:`.distances`: divergences, fidelities, Wasserstein-1 and correlation errors on the
  encoding grid, and :func:`metric_table` for several models at once;
* :mod:`.risk`: Value-at-Risk and Expected Shortfall;
* :mod:`.backtests`: VaR/ES backtests and model VaR forecasts over a test period;
* :mod:`.rivals`: the classical models the quantum models are compared against;
* :mod:`.stylized`: stylized facts of return series (volatility clustering, ...);
* :mod:`.scorecard`: the evaluate stage of a run (:func:`evaluate_run`).

Every public name below can be imported from this package directly. The names are
resolved lazily (PEP 562): importing :mod:`quantum_scenarios.evaluation.risk` from the
scenario generators does not pull in the scorecard, which itself calls the generators,
so there is no import cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

from quantum_scenarios.market.splits import split_by_date

_EXPORTS: dict[str, str] = {
    # distances
    "METRIC_COLUMNS": "distances",
    "as_distribution": "distances",
    "classical_fidelity": "distances",
    "correlation_error": "distances",
    "grid_correlation": "distances",
    "js_divergence": "distances",
    "kl_divergence": "distances",
    "metric_table": "distances",
    "sample_kl": "distances",
    "state_fidelity": "distances",
    "total_variation": "distances",
    "wasserstein_per_asset": "distances",
    # risk measures
    "expected_shortfall": "risk",
    "var": "risk",
    # backtests
    "BACKTEST_COLUMNS": "backtests",
    "RiskForecast": "backtests",
    "backtest_table": "backtests",
    "christoffersen_test": "backtests",
    "es_backtest": "backtests",
    "risk_forecasts": "backtests",
    "traffic_light": "backtests",
    "kupiec_test": "backtests",
    "var_backtest": "backtests",
    "var_backtest_table": "backtests",
    "var_forecasts": "backtests",
    # rivals
    "RIVALS": "rivals",
    "ClassicalGAN": "rivals",
    "DCCGarch": "rivals",
    "FilteredHistoricalSimulation": "rivals",
    "GaussianRival": "rivals",
    "Rival": "rivals",
    "StudentTCopula": "rivals",
    "dcc_correlations": "rivals",
    "grid_probabilities": "rivals",
    "make_rival": "rivals",
    "bootstrap_baseline": "rivals",
    "bootstrap_sampler": "rivals",
    "gaussian_baseline": "rivals",
    "gaussian_sampler": "rivals",
    # stylized facts
    "abs_autocorrelation": "stylized",
    "autocorrelation": "stylized",
    "hill_tail_index": "stylized",
    "leverage_effect": "stylized",
    "lower_tail_dependence": "stylized",
    "stylized_facts": "stylized",
    # scorecard
    "COMPARISON_COLUMNS": "scorecard",
    "Evaluation": "scorecard",
    "comparison_table": "scorecard",
    "evaluate_run": "scorecard",
    "ModelScores": "scorecard",
    "score_models": "scorecard",
    "score_rivals": "scorecard",
}

__all__ = sorted([*_EXPORTS, "split_by_date"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
