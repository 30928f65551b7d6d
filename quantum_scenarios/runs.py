"""Run folders: where one pipeline run writes, and how it commits atomically.

A run writes everything into *staging* folders next to its final ones
(``data/runs/.<run_id>.partial`` and ``reports/.<run_id>.partial``). Only when
every stage succeeded does :meth:`RunLayout.commit` swap them into place,
replacing an older run with the same id as a whole. A failed run is discarded
with :meth:`RunLayout.discard`, so it never leaves a half-written output and
never mixes with an earlier run.

Note:
    The quarantine file of a ``repair``-mode validation is part of the run: it
    is committed with the rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunLayout", "new_run_id"]


def new_run_id(config: dict[str, Any] | None = None, *, now: dt.datetime | None = None) -> str:
    """A sortable run id: UTC time plus a short hash of the config.

    Args:
        config: JSON-serialisable configuration; its hash makes ids of different configs differ.
        now: timestamp to use (tests pass one); defaults to the current UTC time.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    digest = hashlib.sha256(json.dumps(config or {}, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{now:%Y%m%dT%H%M%S}-{digest}"


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run. ``staged=True`` points every path into the staging folders.

    Args:
        workdir: folder holding ``data/runs/`` and ``reports/``.
        run_id: the run's folder name.
        staged: whether paths point at the staging folders (while the run is in progress).
    """

    workdir: Path
    run_id: str
    staged: bool = True

    def __post_init__(self) -> None:
        if not self.run_id or any(c in self.run_id for c in "/\\") or self.run_id in {".", ".."}:
            raise ValueError(f"run_id must be a plain folder name without '/', got {self.run_id!r}")

    # -- roots ---------------------------------------------------------------
    @property
    def final_run_dir(self) -> Path:
        return Path(self.workdir) / "data" / "runs" / self.run_id

    @property
    def final_report_dir(self) -> Path:
        return Path(self.workdir) / "reports" / self.run_id

    @property
    def run_dir(self) -> Path:
        root = self.final_run_dir
        return root.with_name(f".{self.run_id}.partial") if self.staged else root

    @property
    def report_dir(self) -> Path:
        root = self.final_report_dir
        return root.with_name(f".{self.run_id}.partial") if self.staged else root

    # -- files ---------------------------------------------------------------
    @property
    def market_dir(self) -> Path:
        return self.run_dir / "market"

    @property
    def model_dir(self) -> Path:
        return self.run_dir / "model"

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def scenarios_dir(self) -> Path:
        return self.run_dir / "scenarios"

    @property
    def quarantine_path(self) -> Path:
        return self.run_dir / "quarantine.parquet"

    @property
    def manifest_path(self) -> Path:
        return self.run_dir / "manifest.json"

    @property
    def docs_dir(self) -> Path:
        return self.report_dir / "validation"

    @property
    def report_path(self) -> Path:
        return self.report_dir / "report.html"

    def final(self) -> "RunLayout":
        """The same run with paths pointing at the committed folders."""
        return RunLayout(self.workdir, self.run_id, staged=False)

    def to_final(self, path: Path) -> Path:
        """Map a staged path to where it will be after :meth:`commit`."""
        path = Path(path)
        for staged, final in ((self.run_dir, self.final_run_dir), (self.report_dir, self.final_report_dir)):
            try:
                return final / path.relative_to(staged)
            except ValueError:
                continue
        return path

    # -- lifecycle -----------------------------------------------------------
    def open(self, *, keep_existing: bool = False) -> "RunLayout":
        """Create staging folders (an abandoned staging folder of the same id is removed).

        Args:
            keep_existing: start from a copy of the committed run of the same id (``qscen train``
                adds a model to an existing run); by default a run starts empty and replaces the old one.
        """
        if not self.staged:
            raise ValueError("open() needs a staged layout")
        for staged, final in ((self.run_dir, self.final_run_dir), (self.report_dir, self.final_report_dir)):
            if staged.exists():
                shutil.rmtree(staged)
            if keep_existing and final.exists():
                shutil.copytree(final, staged)
            else:
                staged.mkdir(parents=True)
        return self

    def commit(self) -> "RunLayout":
        """Swap staging folders into place, replacing an earlier run of the same id whole."""
        if not self.staged:
            raise ValueError("commit() needs a staged layout")
        for staged, final in ((self.run_dir, self.final_run_dir), (self.report_dir, self.final_report_dir)):
            if not staged.exists():
                continue
            old = final.with_name(f".{self.run_id}.old")
            if old.exists():
                shutil.rmtree(old)
            if final.exists():
                os.replace(final, old)
            os.replace(staged, final)
            if old.exists():
                shutil.rmtree(old)
        return self.final()

    def discard(self, *, keep_validation_docs: bool = False) -> None:
        """Remove the staging folders of this run (after a failure).

        Args:
            keep_validation_docs: publish the Data Docs of a run that failed validation as
                ``reports/<run_id>/validation/`` (replacing that run's report folder) so the
                analyst can read why; nothing under ``data/runs/`` is kept.
        """
        if not self.staged:
            return
        if keep_validation_docs and self.docs_dir.exists():
            final = self.final_report_dir
            if final.exists():
                shutil.rmtree(final)
            final.mkdir(parents=True)
            os.replace(self.docs_dir, final / "validation")
        for folder in (self.run_dir, self.report_dir):
            if folder.exists():
                shutil.rmtree(folder)


def run_summary(
    layout: RunLayout,
    prices: Any,
    validation: str,
    *,
    headline: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The short summary a command prints and a flow returns.

    Args:
        layout: the run.
        prices: the wide price frame the run used.
        validation: one-paragraph validation outcome.
        headline: a few named figures.
        outputs: output name -> path (strings).
    """
    return {
        "run_id": layout.run_id,
        "assets": [str(c) for c in prices.columns],
        "start": str(prices.index.min().date()),
        "end": str(prices.index.max().date()),
        "rows": int(len(prices)),
        "validation": validation,
        "headline": dict(headline or {}),
        "outputs": {name: str(path) for name, path in (outputs or {}).items()},
    }
