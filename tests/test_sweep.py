"""Sweeps: grid expansion, results table, report, and the sweep flow on a 2-worker Dask LocalCluster."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios import sweeps
from quantum_scenarios.config import PipelineConfig


def test_expand_grid_is_the_cartesian_product_in_grid_order() -> None:
    configurations = sweeps.expand_grid({"circuit.reps": [2, 4], "training.loss": ["renyi", "bce"], "circuit.seed": [1]})
    assert configurations == [
        {"circuit.reps": 2, "training.loss": "renyi", "circuit.seed": 1},
        {"circuit.reps": 2, "training.loss": "bce", "circuit.seed": 1},
        {"circuit.reps": 4, "training.loss": "renyi", "circuit.seed": 1},
        {"circuit.reps": 4, "training.loss": "bce", "circuit.seed": 1},
    ]


@pytest.mark.parametrize(("grid", "message"), [
    ({}, "sweep grid is empty"),
    ({"reps": [1]}, "must be 'section.field'"),
    ({"circuits.reps": [1]}, "must be 'section.field' with section one of"),
    ({"circuit.depth": [1]}, "unknown field 'depth' in section 'circuit'"),
    ({"circuit.reps": []}, "needs a non-empty list of values"),
    ({"circuit.reps": "2,4"}, "needs a non-empty list of values"),
])
def test_expand_grid_names_what_to_fix(grid, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        sweeps.expand_grid(grid)


def test_configure_applies_values_and_checks_bounds() -> None:
    base = PipelineConfig()
    config = sweeps.configure(base, {"circuit.reps": 3, "executor.name": "aer_mps", "encoding.bounds": [[-1, 1]]})
    assert (config.circuit.reps, config.executor.name, config.encoding.bounds) == (3, "aer_mps", [(-1.0, 1.0)])
    assert base.circuit.reps == 10  # the base is untouched
    with pytest.raises(ValueError, match="reps"):
        sweeps.configure(base, {"circuit.reps": 0})


def _table() -> pd.DataFrame:
    configurations = sweeps.expand_grid({"circuit.reps": [1, 2], "circuit.seed": [5, 6]})
    outcomes = [
        {"metrics": {"qgan_fidelity_out": 0.90, "qgan_kl_out": 0.20}, "seconds": 1.0},
        {"error": "ValueError: boom"},
        {"metrics": {"qgan_fidelity_out": 0.95, "qgan_kl_out": 0.15}, "seconds": 2.0},
        {"metrics": {"qgan_fidelity_out": 0.93, "qgan_kl_out": 0.10}, "seconds": 3.0},
    ]
    return sweeps.results_table(configurations, outcomes)


def test_results_table_records_failures_and_best_skips_them() -> None:
    table = _table()
    assert list(table["status"]) == ["completed", "failed", "completed", "completed"]
    assert table.loc[1, "error"] == "ValueError: boom" and np.isnan(table.loc[1, "qgan_fidelity_out"])
    assert sweeps.best_configuration(table, "qgan_fidelity_out")["configuration"] == 2
    assert sweeps.best_configuration(table, "qgan_kl_out", maximize=False)["configuration"] == 3
    with pytest.raises(ValueError, match="sweep metric 'fidelity' was not measured"):
        sweeps.best_configuration(table, "fidelity")
    everything_failed = sweeps.results_table([{"circuit.reps": 1}], [{"error": "x"}])
    assert sweeps.best_configuration(everything_failed, "qgan_fidelity_out") is None
    with pytest.raises(ValueError, match="2 configurations but 1 outcomes"):
        sweeps.results_table([{}, {}], [{}])


def test_sweep_report_plots_each_field_and_highlights_the_best(tmp_path) -> None:
    path = sweeps.render_sweep_report(_table(), ["circuit.reps", "circuit.seed"], "qgan_fidelity_out",
                                      tmp_path / "sweep.html", context={"sweep id": "s1"})
    page = path.read_text()
    assert page.count('<img alt="qgan_fidelity_out against') == 2
    assert "Best out of sample (highest <code>qgan_fidelity_out</code> = 0.95): configuration 2" in page
    assert page.count("<tr class=best>") == 1 and "ValueError: boom" in page
    assert "<script" not in page and "http" not in page.split("<body", 1)[1]  # self-contained


@pytest.mark.slow
def test_sweep_flow_on_a_two_worker_local_cluster(tmp_path) -> None:
    from distributed import LocalCluster
    from prefect.client.orchestration import get_client
    from prefect.testing.utilities import prefect_test_harness

    from flows.sweep_pipeline import sweep_pipeline
    from quantum_scenarios.config import SweepConfig

    base = PipelineConfig.model_validate({
        "source": {"assets": ["SP500", "NASDAQ"]}, "scenarios": {"mode": "iid"},
        "training": {"epochs": 3}, "circuit": {"reps": 1}, "output": {"workdir": str(tmp_path), "run_id": "grid"},
    })
    # 2 x 2 grid; bounds for one asset where the data has two: those configurations fail at encode
    grid = {"circuit.seed": [1, 2], "encoding.bounds": [None, [[-1.0, 1.0]]]}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            prefect_test_harness(server_startup_timeout=120):
        assert len(cluster.workers) == 2
        accepted = inspect.signature(sweep_pipeline.fn).parameters
        sections = {k: v for k, v in dict(base).items() if k in accepted}
        result = sweep_pipeline(sweep=SweepConfig(grid=grid, dask_address=cluster.scheduler_address), **sections)
        with get_client(sync_client=True) as client:
            keys = {a.key for a in client.read_artifacts()}
    table = result["table"]
    assert result["configurations"] == 4 and result["failed"] == 2
    assert list(table["status"]) == ["completed", "failed", "completed", "failed"]
    assert table.loc[1, "error"].startswith("ValueError: bounds has 1 entries; expected one")
    assert table.loc[[0, 2], "qgan_fidelity_out"].between(0, 1).all()
    assert result["best"]["configuration"] in {0, 2} and result["best"]["encoding.bounds"] is None
    written = pd.read_parquet(result["outputs"]["results"])
    assert len(written) == 4 and set(written["status"]) == {"completed", "failed"}
    assert (tmp_path / "reports" / "sweeps" / "grid" / "sweep.html").is_file()
    assert {"scenario-sweep-results", "scenario-sweep-summary"} <= keys
