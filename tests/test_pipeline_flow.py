"""The whole pipeline as one Prefect flow: outputs, atomic replacement, caching, UI form.

The end-to-end run is marked slow (it still runs in CI; it is the only one).
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import pyarrow.parquet as pq
import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.scenario_pipeline import scenario_pipeline
from qscen.cli import main


def test_flow_parameters_render_as_a_form_from_the_config_models() -> None:
    from prefect.utilities.callables import parameter_schema

    schema = parameter_schema(scenario_pipeline).model_dump()  # what a deployment sends to the UI
    properties = schema["properties"]
    assert {"source", "validation", "encoding", "circuit", "executor", "training", "scenarios", "stress",
            "evaluation", "output"} <= set(properties)
    training = schema["definitions"]["TrainingConfig"]["properties"]
    assert training["epochs"]["default"] == 2000 and training["epochs"]["minimum"] == 1
    assert "Training epochs" in training["epochs"]["description"]
    assert schema["definitions"]["ValidationConfig"]["properties"]["mode"]["enum"] == ["strict", "repair"]
    assert "qGAN optimiser" in properties["training"]["description"]  # from the flow's Google docstring


def _task_states(flow_name: str) -> dict[str, list[str]]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs()
    states: dict[str, list[str]] = {}
    for run in runs:
        states.setdefault(run.name.rsplit("-", 1)[0], []).append(run.state.name if run.state else "?")
    return states


@pytest.mark.slow
def test_qscen_run_end_to_end(tmp_path, capsys) -> None:
    args = [
        "run", "--workdir", str(tmp_path), "--run-id", "e2e", "--no-progress",
        "--set", "training.epochs=15", "--set", "scenarios.n_paths=400", "--set", "scenarios.horizon=5",
        "--set", "stress.risk_horizons=[1,5]",
    ]
    with prefect_test_harness(server_startup_timeout=120):
        assert main(args) == 0, capsys.readouterr().err
        first = capsys.readouterr().out
        assert "qgan_fidelity_out" in first and "report.html" in first

        run = tmp_path / "data" / "runs" / "e2e"
        dataset = run / "scenarios"
        rows = duckdb.sql(
            f"SELECT scenario_type, count(DISTINCT path_id) AS paths, count(*) AS n, max(step) AS h "
            f"FROM read_parquet('{dataset}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        by_type = {r[0]: r for r in rows}
        assert set(by_type) == {"base", "tail", "vol_shock", "correlation_stress", "historical_replay"}
        assert by_type["base"][1] == 400 and by_type["base"][2] == 400 * 5 * 3 and by_type["base"][3] == 5

        one_file = next(dataset.glob("scenario_type=base/*.parquet"))
        schema = pq.read_schema(one_file)
        assert str(schema.field("asset").type) == "dictionary<values=string, indices=int32, ordered=0>"
        assert not any(schema.field(c).nullable for c in ("run_id", "path_id", "step", "asset", "log_return", "level"))
        meta = json.loads(schema.metadata[b"quantum_scenarios"])
        assert {"config", "encoding", "metrics"} <= set(meta)
        assert meta["encoding"]["assets"] == ["SP500", "NASDAQ", "WTI"]

        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["files"], "manifest lists no files"
        for relative, entry in manifest["files"].items():
            digest = hashlib.sha256((run / relative).read_bytes()).hexdigest()
            assert digest == entry["sha256"], relative
        for name in ("circuit.qpy", "parameters.json", "probabilities.npy", "encoding.json", "target.npy",
                     "discriminator.pt"):
            assert (run / "model" / name).is_file()

        report = (tmp_path / "reports" / "e2e" / "report.html").read_text()
        assert "<script src" not in report and "https://" not in report.split("<body", 1)[1]
        assert (tmp_path / "reports" / "e2e" / "validation" / "index.html").is_file()

        # Same run id again with fewer paths: the old dataset is replaced, never mixed;
        # encode and train come from the cache.
        assert main([*args[:-6], "--set", "scenarios.n_paths=200", "--set", "scenarios.horizon=5",
                     "--set", "stress.risk_horizons=[1,5]", "--set", "training.epochs=15"]) == 0
        paths = duckdb.sql(
            f"SELECT count(DISTINCT path_id) FROM read_parquet('{dataset}/scenario_type=base/*.parquet')"
        ).fetchall()[0][0]
        assert paths == 200
        states = _task_states("scenario-pipeline")
        assert "Cached" in states["train"] and "Cached" in states["encode"]
        assert sorted(p.name for p in (tmp_path / "data" / "runs").iterdir()) == ["e2e"]
