"""The report of a run evaluated on asset pairs: per-asset marginals, the most correlated pairs, the grid named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation.grids import PairwiseGrid
from quantum_scenarios.report.contents import pairwise_view
from quantum_scenarios.report.html import ReportInputs, render_html


def _values(d: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    loadings = np.linspace(0.2, 1.5, d)
    return pd.DataFrame(rng.standard_normal((n, 1)) * loadings + rng.standard_normal((n, d)),
                        columns=[f"S{k:02d}" for k in range(d)])


def test_pairwise_view_and_page_of_a_twelve_asset_run() -> None:
    values = _values(12, 700, 1)
    encoding = encode(values, num_qubits=2, joint=False)
    grid = PairwiseGrid(encoding, values.to_numpy())
    model = grid.histogram(_values(12, 5_000, 2).to_numpy())
    corr = np.corrcoef(values.to_numpy(), rowvar=False)
    view = pairwise_view(grid, model, corr)

    # the six pairs with the largest |training correlation|: here the assets with the largest loadings
    off = np.abs(corr)[np.triu_indices(12, 1)]
    expected = [grid.pairs[k] for k in np.argsort(-off, kind="stable")[:6]]
    assert [pair for pair, *_ in view["pairs"]] == [(f"S{i:02d}", f"S{j:02d}") for i, j in expected]
    k = grid.pairs.index(expected[0])
    _, values0, real0, generated0 = view["pairs"][0]
    np.testing.assert_allclose(values0, grid.grids[k].values())
    np.testing.assert_allclose(real0, grid.target.probabilities[k])
    np.testing.assert_allclose(generated0, model.probabilities[k])
    # per-asset marginals: the training values' own 1-D histograms
    edges = encoding.contract.bin_edges
    for j in range(12):
        x = np.clip(values.iloc[:, j], edges[j][0], np.nextafter(edges[j][-1], -np.inf))
        counts, _ = np.histogram(x, bins=np.asarray(edges[j]))
        np.testing.assert_allclose(view["real"][j], counts / counts.sum(), atol=1e-15)
    assert view["note"].startswith("Showing 6 of the 66 asset pairs")

    assets = list(values.columns)
    metrics = pd.DataFrame({"model": ["qgan", "qgan"], "sample": ["in_sample", "out_of_sample"],
                            "kl": [0.02, 0.03], "fidelity": [0.98, 0.97]})
    inputs = ReportInputs(
        run_id="pairs", data_summary={"assets": ", ".join(assets)}, validation={"success": True, "mode": "strict"},
        encoding=encoding.contract.to_dict(), circuit_stats={"model_mode": "factor"}, num_qubits=[2] * 12,
        assets=assets, real_correlation=corr, generated_correlation=corr, metric_table=metrics,
        stress_table=pd.DataFrame({"scenario_type": ["base"], "var": [0.02]}), provenance={"run_id": "pairs"},
        evaluation_grid=grid.description, pairwise=view,
    )
    html = render_html(inputs)
    assert "Grid metrics taken on: <strong>pairwise mean over 66 pairs, 2 qubits per asset (16 cells per pair)" in html
    assert "Showing 6 of the 66 asset pairs" in html and "evaluated on asset pairs" in html
    assert html.count("data:image/png") == 1 + 1 + 6  # marginals, correlation, six pairs

    with pytest.raises(ValueError, match="pairwise\\['real'\\] of asset 'S00' must have shape \\(4,\\)"):
        render_html(ReportInputs(**{**inputs.__dict__, "pairwise": {**view, "real": [np.ones(3)] * 12}}))
    with pytest.raises(ValueError, match="grid_values, real_probabilities and generated_probabilities are needed"):
        render_html(ReportInputs(**{**inputs.__dict__, "pairwise": None}))
