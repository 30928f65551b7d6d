"""What goes into a run's report: gathered from the stages' outputs.

:func:`build_report_inputs` turns the typed outputs of the pipeline stages
(market data, validation result, encoding, generator, training history,
evaluation, scenario set) into the plain :class:`ReportInputs` the renderer
takes. It does no computation of its own beyond summaries and reshaping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantum_scenarios.report.html import ReportInputs

__all__ = ["PAIRS_SHOWN", "build_report_inputs", "data_summary", "pairwise_view", "validation_summary"]

PAIRS_SHOWN = 6
"""Asset pairs drawn in the report of a pairwise-evaluated run (the most correlated in training)."""


def data_summary(prices: pd.DataFrame, returns: pd.DataFrame, *, source: str, return_kind: str) -> dict[str, Any]:
    """Scalars and a per-asset statistics table of the returns."""
    stats = pd.DataFrame(
        {
            "mean": returns.mean(),
            "std": returns.std(),
            "skew": returns.skew(),
            "kurtosis": returns.kurt(),
            "min": returns.min(),
            "max": returns.max(),
            "last price": prices.iloc[-1],
        }
    )
    stats.index.name = "asset"
    return {
        "source": source,
        "assets": ", ".join(map(str, prices.columns)),
        "start": str(prices.index.min().date()),
        "end": str(prices.index.max().date()),
        "rows": len(prices),
        "return_kind": return_kind,
        "stats": stats,
    }


def validation_summary(result: Any, report_dir: Path) -> dict[str, Any]:
    """The validation outcome with a Data Docs link relative to the report folder."""
    docs = None
    if result.docs_index is not None:
        docs = os.path.relpath(Path(result.docs_index), Path(report_dir))
    return {
        "success": bool(result.success),
        "mode": result.mode,
        "summary": result.summary(),
        "failures": [
            {
                "suite": f.suite,
                "rule": f.rule,
                "asset": f.asset,
                "column": f.column,
                "count": f.count,
                "example_dates": list(f.example_dates),
            }
            for f in result.failures
        ],
        "quarantined_rows": int(len(result.quarantined)),
        "docs_index": docs,
    }


def build_report_inputs(
    *,
    run_id: str,
    prices: pd.DataFrame,
    returns: pd.DataFrame,
    source: str,
    return_kind: str,
    validation: Any,
    report_dir: Path,
    encoding: Any,
    circuit_stats: dict[str, Any],
    history: pd.DataFrame | None,
    probabilities: np.ndarray,
    evaluation: Any,
    scenarios: Any,
    provenance: dict[str, Any],
    dataset_path: str | None,
    noise: dict[str, Any] | None = None,
    verification: dict[str, Any] | None = None,
) -> ReportInputs:
    """Collect every stage's output into :class:`ReportInputs`.

    Args:
        run_id: the run.
        prices, returns: the validated market data (wide).
        source, return_kind: where the prices came from and the return definition.
        validation: the :class:`~quantum_scenarios.market.validation.ValidationResult`.
        report_dir: the folder the report will be read from (for relative links).
        encoding: the training :class:`~quantum_scenarios.encoding.Encoding`.
        circuit_stats: :meth:`GeneratorCircuit.stats` plus the executor name.
        history: training history frame (or ``None``).
        probabilities: the generator's grid distribution (joint, or a
            :class:`~quantum_scenarios.evaluation.grids.PairwiseDistribution` when the
            evaluation is pairwise).
        evaluation: :class:`~quantum_scenarios.evaluation.Evaluation`.
        scenarios: :class:`~quantum_scenarios.scenarios.generation.ScenarioSet`.
        provenance: run id, time, config, versions, seeds, durations, outputs.
        dataset_path: the scenario dataset folder.
        noise: the noise and mitigation figures of a noisy run (``mitigation.noise_report``), or None.
        verification: the saved model's integrity check (``integrity.verify_model(...).to_dict()``), or None.
    """
    contract = encoding.contract.to_dict()
    contract["clipped"] = dict(encoding.clipped)
    assets = list(encoding.contract.assets)
    grid = getattr(evaluation, "grid", None)
    pairwise = pairwise_view(grid, probabilities, evaluation.real_correlation) if getattr(grid, "kind", "") == "pairwise" else None
    joint = pairwise is None
    return ReportInputs(
        run_id=run_id,
        data_summary=data_summary(prices, returns, source=source, return_kind=return_kind),
        validation=validation_summary(validation, report_dir),
        encoding=contract,
        circuit_stats=circuit_stats,
        history=history,
        grid_values=encoding.values() if joint else None,
        num_qubits=list(encoding.contract.num_qubits),
        assets=assets,
        real_probabilities=np.asarray(encoding.target, dtype=float) if joint else None,
        generated_probabilities=np.asarray(probabilities, dtype=float) if joint else None,
        evaluation_grid=getattr(grid, "description", None),
        pairwise=pairwise,
        real_correlation=evaluation.real_correlation,
        generated_correlation=evaluation.generated_correlation,
        metric_table=evaluation.metrics,
        trajectories_levels=scenarios.base.levels,
        history_levels=prices[assets].iloc[-120:],
        stress_table=scenarios.risk,
        var_backtest=evaluation.backtest,
        provenance=provenance,
        dataset_path=dataset_path,
        noise=noise,
        verification=verification,
        comparison=getattr(evaluation, "comparison", None),
        backtests=getattr(evaluation, "backtests", None),
        stylized=getattr(evaluation, "stylized", None),
    )


def pairwise_view(grid: Any, probabilities: Any, real_correlation: np.ndarray, shown: int = PAIRS_SHOWN) -> dict[str, Any]:
    """The report's marginals and pair figures for a run evaluated on asset pairs.

    Args:
        grid: The run's :class:`~quantum_scenarios.evaluation.grids.PairwiseGrid`.
        probabilities: The generator's distribution (joint, or pairwise).
        real_correlation: ``(d, d)`` training correlation; the ``shown`` pairs with the largest
            absolute entry are drawn (ties in pair order).
        shown: How many pairs to draw.

    Returns:
        The ``pairwise`` item of :class:`ReportInputs`.
    """
    generated = grid.distribution(probabilities)
    corr = np.abs(np.asarray(real_correlation, dtype=float))
    order = sorted(range(len(grid.pairs)), key=lambda k: (-corr[grid.pairs[k]], k))[:shown]
    assets = list(grid.assets)
    pairs = [
        ((assets[grid.pairs[k][0]], assets[grid.pairs[k][1]]), grid.grids[k].values(),
         np.asarray(grid.target.probabilities[k], dtype=float), np.asarray(generated.probabilities[k], dtype=float))
        for k in order
    ]
    note = (f"Showing {len(pairs)} of the {len(grid.pairs)} asset pairs: those with the largest absolute training "
            "correlation, each on its own 2-D grid: this run's grid metrics are taken on asset pairs, the joint grid "
            f"of all {len(assets)} assets being too sparse to compare or too large to build.")
    return {
        "centres": [np.asarray(c, dtype=float) for c in grid.contract.bin_centres],
        "real": grid.marginals(grid.target),
        "generated": grid.marginals(generated),
        "pairs": pairs,
        "note": note,
    }
