"""Run folders: staging, atomic commit, replacement, discard."""

from __future__ import annotations

import datetime as dt

import pytest

from quantum_scenarios.runs import RunLayout, new_run_id


def test_run_id_is_sortable_and_config_dependent() -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    a = new_run_id({"x": 1}, now=now)
    assert a.startswith("20260102T030405-")
    assert a != new_run_id({"x": 2}, now=now)
    assert a == new_run_id({"x": 1}, now=now)


def test_commit_replaces_an_earlier_run_whole(tmp_path) -> None:
    first = RunLayout(tmp_path, "r1").open()
    (first.run_dir / "old_only.txt").write_text("old")
    first.commit()
    second = RunLayout(tmp_path, "r1").open()
    assert second.run_dir != second.final_run_dir
    (second.run_dir / "new.txt").write_text("new")
    final = second.commit()
    assert (final.run_dir / "new.txt").read_text() == "new"
    assert not (final.run_dir / "old_only.txt").exists()
    assert sorted(p.name for p in (tmp_path / "data" / "runs").iterdir()) == ["r1"]


def test_discard_leaves_nothing_and_keeps_the_committed_run(tmp_path) -> None:
    RunLayout(tmp_path, "r1").open().commit()
    failed = RunLayout(tmp_path, "r1").open()
    (failed.run_dir / "half.parquet").write_bytes(b"PAR1")
    failed.discard()
    assert sorted(p.name for p in (tmp_path / "data" / "runs").iterdir()) == ["r1"]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["r1"]


def test_to_final_maps_staged_paths(tmp_path) -> None:
    layout = RunLayout(tmp_path, "r2")
    assert layout.to_final(layout.market_dir / "prices.parquet") == tmp_path / "data/runs/r2/market/prices.parquet"
    assert layout.to_final(layout.report_path) == tmp_path / "reports/r2/report.html"


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x\\y"])
def test_bad_run_ids_are_refused(tmp_path, bad: str) -> None:
    with pytest.raises(ValueError, match="run_id must be a plain folder name"):
        RunLayout(tmp_path, bad)


def test_keep_existing_starts_from_the_committed_run(tmp_path) -> None:
    first = RunLayout(tmp_path, "r3").open()
    (first.run_dir / "market.txt").write_text("m")
    first.commit()
    again = RunLayout(tmp_path, "r3").open(keep_existing=True)
    (again.run_dir / "model.txt").write_text("x")
    final = again.commit()
    assert sorted(p.name for p in final.run_dir.iterdir()) == ["market.txt", "model.txt"]
