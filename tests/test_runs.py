"""Run folders: staging, atomic commit, replacement, discard."""

from __future__ import annotations

import datetime as dt

import pytest

from quantum_scenarios.runs import RunExistsError, RunLayout, check_writable, new_run_id, resume_checkpoint


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


def _finished_run(workdir, run_id: str) -> RunLayout:
    layout = RunLayout(workdir, run_id).open()
    for folder in (layout.market_dir, layout.model_dir, layout.scenarios_dir, layout.docs_dir):
        folder.mkdir(parents=True)
    layout.report_path.write_text("<html>report</html>")
    (layout.docs_dir / "index.html").write_text("old docs")
    layout.manifest_path.write_text("{}")
    return layout.commit()


def _tree(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("command", "effect"),
    [("validate", "replace it with market data only"), ("train", "put a new model beside its older scenarios")],
)
def test_validate_and_train_refuse_a_finished_run(tmp_path, command: str, effect: str) -> None:
    _finished_run(tmp_path, "k1")
    before = _tree(tmp_path)
    with pytest.raises(RunExistsError, match=rf"run 'k1' is finished \(it has a model, scenarios, a report\); "
                                             rf"`qscen {command}` would {effect}.*--run-id.*Nothing was changed"):
        check_writable(tmp_path, "k1", command)
    check_writable(tmp_path, "k1", "run")  # run replaces the whole run
    check_writable(tmp_path, "new", command)
    assert _tree(tmp_path) == before


def test_failed_validation_docs_never_replace_a_finished_report(tmp_path) -> None:
    final = _finished_run(tmp_path, "k2")
    before = _tree(final.report_dir)
    failed = RunLayout(tmp_path, "k2").open()
    failed.docs_dir.mkdir(parents=True)
    (failed.docs_dir / "index.html").write_text("why it failed")
    assert failed.rejected_report_dir == tmp_path / "reports" / "k2-rejected"
    failed.discard(keep_validation_docs=True)
    assert _tree(final.report_dir) == before  # the finished run's report and docs are untouched
    assert (tmp_path / "reports" / "k2-rejected" / "validation" / "index.html").read_text() == "why it failed"


def test_checkpoints_survive_a_failed_attempt_and_go_with_the_commit(tmp_path) -> None:
    attempt = RunLayout(tmp_path, "c").open()
    attempt.checkpoint_dir.mkdir(parents=True)
    (attempt.checkpoint_dir / "epoch-000005.pt").write_bytes(b"x")
    attempt.discard()
    again = RunLayout(tmp_path, "c").open()
    assert again.checkpoint_dir == attempt.checkpoint_dir
    assert (again.checkpoint_dir / "epoch-000005.pt").exists()  # a rerun can resume
    again.commit()
    assert not attempt.checkpoint_dir.exists()


def test_a_killed_training_resumes_from_its_checkpoint_and_ends_where_an_uninterrupted_one_does(tmp_path) -> None:
    """The train stage's resume path: resume_checkpoint picks the checkpoint, train_qgan continues from it."""
    import numpy as np

    from quantum_scenarios.encoding import encode
    from quantum_scenarios.gan.training import train_qgan
    from quantum_scenarios.quantum.circuits import build_generator
    import pandas as pd

    rng = np.random.default_rng(5)
    encoding = encode(pd.DataFrame(rng.normal(size=(400, 2)), columns=["AAA", "BBB"]), num_qubits=2)
    generator = build_generator(encoding.loader, ansatz="ry_cz", reps=1, entanglement="full", seed=3)
    settings = {"epochs": 12, "batch_size": 64, "discriminator_hidden": (8,), "seed": 1, "checkpoint_every": 5}
    full = train_qgan(encoding, generator, **settings, checkpoint_dir=tmp_path / "full")

    layout = RunLayout(tmp_path, "resume").open()
    assert resume_checkpoint(layout.checkpoint_dir, "key-1") is None  # first attempt starts fresh

    def killed_at_8(record) -> None:
        if record.epoch == 8:
            raise KeyboardInterrupt  # the process dies between checkpoints
    with pytest.raises(KeyboardInterrupt):
        train_qgan(encoding, generator, **settings, checkpoint_dir=layout.checkpoint_dir, progress=killed_at_8)
    layout.discard()

    again = RunLayout(tmp_path, "resume").open()
    start = resume_checkpoint(again.checkpoint_dir, "key-1")
    assert start is not None and start.name == "epoch-000005.pt"
    resumed = train_qgan(encoding, generator, **settings, checkpoint_dir=again.checkpoint_dir, resume_from=start)
    np.testing.assert_array_equal(resumed.theta, full.theta)
    assert [r.epoch for r in resumed.history] == list(range(1, 13))

    # another config under the same run id never resumes the old checkpoints, and they are cleared
    assert resume_checkpoint(again.checkpoint_dir, "key-2") is None
    assert [p.name for p in again.checkpoint_dir.iterdir()] == ["training-key.txt"]
    again.discard()
