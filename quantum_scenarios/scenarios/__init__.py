"""Scenario generation: GARCH volatility, multi-step trajectories and stress scenarios.

* :mod:`.volatility`: per-asset GARCH(1,1)-t fits (``arch``), filtering, re-simulation.
* :mod:`.trajectories`: paths of joint daily returns from a generator's draws.
* :mod:`.stress`: tail, volatility-shock, correlation-stress and historical-replay sets,
  and their VaR / ES table.
"""

from quantum_scenarios.scenarios.stress import (
    SCENARIO_TYPES,
    StressSet,
    correlation_stress,
    historical_replay,
    portfolio_losses,
    risk_table,
    stress_correlation,
    tail_scenarios,
    volatility_shock,
)
from quantum_scenarios.scenarios.trajectories import (
    Draw,
    Trajectories,
    generator_draw,
    paths_from_draws,
    simulate_paths,
)
from quantum_scenarios.scenarios.volatility import GarchFit, fit_garch

__all__ = [
    "SCENARIO_TYPES",
    "Draw",
    "GarchFit",
    "StressSet",
    "Trajectories",
    "correlation_stress",
    "fit_garch",
    "generator_draw",
    "historical_replay",
    "paths_from_draws",
    "portfolio_losses",
    "risk_table",
    "simulate_paths",
    "stress_correlation",
    "tail_scenarios",
    "volatility_shock",
]
