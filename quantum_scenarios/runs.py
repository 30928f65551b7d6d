"""Run folders: where one pipeline run writes, who may write it, and how it commits atomically.

One writer per run
    :class:`RunLock` is an OS file lock (``fcntl.flock``) on
    ``data/runs/.<run_id>.lock``, held for the whole run by the process that
    writes it. A second writer fails at once with :class:`RunLockedError`
    naming the holder (pid, command, start time), or waits (``--wait``). The
    kernel drops the lock when its process dies, however it dies, so a lock
    left by a killed run is *stale*: the next writer takes it over, says so and
    removes the dead attempt's staging folders. The lock is re-entrant inside
    one process (the ``qscen`` command takes it before the flow opens the run).

Staging
    A run writes everything into staging folders unique to its attempt
    (``data/runs/.<run_id>.partial-<pid>-<token>`` and
    ``reports/.<run_id>.partial-<pid>-<token>``). Only when every stage
    succeeded does :meth:`RunLayout.commit` swap them into place, replacing an
    older run with the same id as a whole. A failed run is discarded with
    :meth:`RunLayout.discard`, so it never leaves a half-written output and
    never mixes with an earlier run.

Checkpoints
    Training checkpoints live beside the staging folders in
    ``data/runs/.<run_id>.checkpoints/``: they survive a killed attempt so that
    the next attempt with the same id and config resumes from them
    (:func:`resume_checkpoint`), and are removed when the run commits.

Finished runs
    :func:`check_writable` refuses a command that would damage a finished run
    (``qscen validate`` or ``qscen train`` on a run that already has a model,
    scenarios or a report). ``qscen run`` with the same id replaces the whole
    run atomically.

Note:
    The quarantine file of a ``repair``-mode validation is part of the run: it
    is committed with the rest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantum_scenarios.errors import QuantumScenariosError

__all__ = [
    "RunExistsError",
    "RunLayout",
    "RunLock",
    "RunLockedError",
    "acquire_run_lock",
    "check_writable",
    "commit_in_progress",
    "committed_runs",
    "defer_signal",
    "discard_attempts",
    "held_run_locks",
    "new_run_id",
    "release_run_lock",
    "resume_checkpoint",
    "run_summary",
]


class RunLockedError(QuantumScenariosError):
    """Another live process is writing the same run id."""


class RunExistsError(QuantumScenariosError):
    """A command would overwrite part of a finished run."""


def new_run_id(config: dict[str, Any] | None = None, *, now: dt.datetime | None = None) -> str:
    """A sortable run id: UTC time plus a short hash of the config.

    Args:
        config: JSON-serialisable configuration; its hash makes ids of different configs differ.
        now: timestamp to use (tests pass one); defaults to the current UTC time.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    digest = hashlib.sha256(json.dumps(config or {}, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{now:%Y%m%dT%H%M%S}-{digest}"


def _check_run_id(run_id: str) -> None:
    if (not isinstance(run_id, str) or not run_id or any(c in run_id for c in "/\\")
            or run_id in {".", ".."} or any(ord(c) < 32 or ord(c) == 127 for c in run_id)):
        raise ValueError(f"run_id must be a plain folder name without '/' or control characters, got {run_id!r}")


# --------------------------------------------------------------------------- the lock


class RunLock:
    """An exclusive OS file lock on one run id (``data/runs/.<run_id>.lock``).

    The lock file holds a JSON line naming the holder (pid, command, start time)
    and is removed on release. The lock itself is ``flock`` on that file: the
    kernel releases it when the holder's process exits for any reason, so a file
    left by a dead process never blocks anyone; :attr:`stale_holder` reports
    such a takeover.

    Args:
        workdir: folder holding ``data/runs/``.
        run_id: the run.
        command: what holds the lock (shown to a second writer).
    """

    def __init__(self, workdir: str | os.PathLike, run_id: str, *, command: str = "qscen") -> None:
        _check_run_id(run_id)
        self.workdir = Path(workdir)
        self.run_id = run_id
        self.command = command
        self.path = self.workdir / "data" / "runs" / f".{run_id}.lock"
        self.stale_holder: dict[str, Any] | None = None
        self._fd: int | None = None

    def _holder(self) -> dict[str, Any]:
        try:
            text = self.path.read_text().strip()
            return json.loads(text) if text else {}
        except (OSError, ValueError):
            return {}

    def _describe(self, holder: dict[str, Any]) -> str:
        if not holder:
            return "another process"
        return f"{holder.get('command', 'a qscen command')} (pid {holder.get('pid', '?')}, since {holder.get('started', '?')})"

    def acquire(self, *, wait: bool | float = False, poll: float = 0.2) -> "RunLock":
        """Take the lock.

        Args:
            wait: False fails at once when another process holds it; True waits without
                limit; a number waits at most that many seconds.
            poll: seconds between attempts while waiting.

        Raises:
            RunLockedError: another live process holds the lock (and ``wait`` is False or ran out).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = None if wait is True else time.monotonic() + (float(wait) if wait else 0.0)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if deadline is not None and time.monotonic() >= deadline:
                    holder = self._describe(self._holder())
                    how = f"waited {float(wait):g} s; " if wait else ""
                    raise RunLockedError(
                        f"run {self.run_id!r} is being written by {holder}; {how}only one writer per run id. "
                        "Wait for it to finish, pass --wait to queue behind it, or choose another --run-id."
                    ) from None
                time.sleep(poll)
                continue
            try:  # the holder unlinks the file on release: make sure we locked the file that is there now
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous = self._holder()
        if previous.get("pid") and previous.get("pid") != os.getpid():
            self.stale_holder = previous  # its process died holding the lock: the kernel dropped its flock
        record = {"pid": os.getpid(), "command": self.command,
                  "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        except OSError:
            pass  # a full disk: the flock alone is the lock; the holder record is informative
        self._fd = fd
        return self

    def release(self) -> None:
        """Release the lock (safe to call twice)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still locked: the next writer finds no stale record
        except OSError:
            pass  # a read-only folder: the flock below is released anyway
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


_HELD: dict[Path, list[Any]] = {}  # lock path -> [RunLock, count]: re-entrant within this process
_HELD_GUARD = threading.Lock()


def acquire_run_lock(
    workdir: str | os.PathLike, run_id: str, *, wait: bool | float = False, command: str = "qscen"
) -> RunLock:
    """Take the run's lock, or count one more holder if this process already has it.

    Every call must be paired with :func:`release_run_lock`.
    """
    lock = RunLock(Path(workdir).resolve(), run_id, command=command)
    with _HELD_GUARD:
        entry = _HELD.get(lock.path)
        if entry is not None:
            entry[1] += 1
            return entry[0]
    lock.acquire(wait=wait)
    with _HELD_GUARD:
        _HELD[lock.path] = [lock, 1]
    if lock.stale_holder:
        _clean_dead_attempts(Path(workdir).resolve(), run_id)
        print(
            f"qscen: run {run_id!r}: took over the lock of a dead writer "
            f"(pid {lock.stale_holder.get('pid')}, {lock.stale_holder.get('command', '?')}); "
            "its staging folders were removed, nothing it wrote was committed",
            file=sys.stderr,
        )
    return lock


def release_run_lock(workdir: str | os.PathLike, run_id: str) -> None:
    """Drop one holder of the run's lock; the last one releases the OS lock."""
    path = Path(workdir).resolve() / "data" / "runs" / f".{run_id}.lock"
    with _HELD_GUARD:
        entry = _HELD.get(path)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _HELD[path]
    entry[0].release()


def held_run_locks() -> list[tuple[Path, str]]:
    """(workdir, run_id) of every run lock this process holds."""
    with _HELD_GUARD:
        return [(lock.workdir, lock.run_id) for lock, _ in _HELD.values()]


def _clean_dead_attempts(workdir: Path, run_id: str) -> list[Path]:
    """Remove staging folders of earlier attempts (call only while holding the run's lock)."""
    removed = []
    for root in (workdir / "data" / "runs", workdir / "reports"):
        if not root.is_dir():
            continue
        for path in root.glob(f".{run_id}.partial*"):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def discard_attempts(workdir: str | os.PathLike, run_id: str) -> list[Path]:
    """Remove every staging folder of ``run_id`` (the caller holds the run's lock)."""
    return _clean_dead_attempts(Path(workdir), run_id)


_COMMIT_STATE: dict[str, Any] = {"active": 0, "pending": None, "committed": []}


def commit_in_progress() -> bool:
    """Whether this process is swapping a run into place right now (a signal handler must not exit)."""
    return bool(_COMMIT_STATE["active"])


def defer_signal(signum: int) -> None:
    """Re-send ``signum`` to this process as soon as the commit in progress has finished."""
    _COMMIT_STATE["pending"] = signum


def committed_runs() -> list[str]:
    """Run ids this process has committed."""
    return list(_COMMIT_STATE["committed"])


# --------------------------------------------------------------------------- finished runs


def _finished_parts(workdir: Path, run_id: str) -> list[str]:
    final = RunLayout(workdir, run_id, staged=False)
    parts = []
    if (final.run_dir / "model").is_dir():
        parts.append("a model")
    if (final.run_dir / "scenarios").is_dir():
        parts.append("scenarios")
    if final.report_path.is_file():
        parts.append("a report")
    return parts


def check_writable(workdir: str | os.PathLike, run_id: str | None, command: str) -> None:
    """Refuse a command that would overwrite part of a finished run.

    ``run`` always replaces a run whole, so it is always allowed. ``validate``
    would replace a run by market data only, and ``train`` would put a new model
    beside older scenarios and report: both are refused on a run that already
    has a model, scenarios or a report.

    Raises:
        RunExistsError: naming the run, what it holds and the options.
    """
    if run_id is None or command == "run":
        return
    parts = _finished_parts(Path(workdir), run_id)
    if not parts:
        return
    effect = {
        "validate": "replace it with market data only and delete its report",
        "train": "put a new model beside its older scenarios and report",
    }.get(command, "overwrite part of it")
    raise RunExistsError(
        f"run {run_id!r} is finished (it has {', '.join(parts)}); `qscen {command}` would {effect}. "
        f"Choose another --run-id (or omit it for a new one), or rerun the whole pipeline with "
        f"`qscen run --run-id {run_id}`, which replaces it whole. Nothing was changed."
    )


# --------------------------------------------------------------------------- resume


CHECKPOINT_KEY_FILE = "training-key.txt"


def resume_checkpoint(directory: str | os.PathLike, key: str) -> Path | None:
    """The checkpoint a rerun of the same training resumes from, or None to start fresh.

    ``key`` fingerprints everything that decides the training trajectory (the encoding
    contract and target, the circuit, executor and training options, the training code);
    the train stage uses its cache key. The folder remembers the key of the training that
    wrote it (``training-key.txt``). When the keys match, the latest checkpoint is
    returned; otherwise the folder is emptied (another config under the same run id) so
    checkpoints of two configs never mix, and the new key is recorded.

    Args:
        directory: the run's checkpoint folder (:attr:`RunLayout.checkpoint_dir`).
        key: fingerprint of the training about to run.
    """
    from quantum_scenarios.gan.checkpoints import latest_checkpoint

    directory = Path(directory)
    marker = directory / CHECKPOINT_KEY_FILE
    try:
        same = marker.read_text().strip() == key
    except OSError:
        same = False
    if same:
        return latest_checkpoint(directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text(key + "\n")
    return None


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run. ``staged=True`` points every path into this attempt's staging folders.

    Args:
        workdir: folder holding ``data/runs/`` and ``reports/``.
        run_id: the run's folder name.
        staged: whether paths point at the staging folders (while the run is in progress).
        attempt: token of this attempt (set by :meth:`open`); it makes staging folders unique.
    """

    workdir: Path
    run_id: str
    staged: bool = True
    attempt: str = ""

    def __post_init__(self) -> None:
        _check_run_id(self.run_id)

    # -- roots ---------------------------------------------------------------
    @property
    def final_run_dir(self) -> Path:
        return Path(self.workdir) / "data" / "runs" / self.run_id

    @property
    def final_report_dir(self) -> Path:
        return Path(self.workdir) / "reports" / self.run_id

    def _staging(self, root: Path) -> Path:
        suffix = f"-{self.attempt}" if self.attempt else ""
        return root.with_name(f".{self.run_id}.partial{suffix}")

    @property
    def run_dir(self) -> Path:
        return self._staging(self.final_run_dir) if self.staged else self.final_run_dir

    @property
    def report_dir(self) -> Path:
        return self._staging(self.final_report_dir) if self.staged else self.final_report_dir

    # -- files ---------------------------------------------------------------
    @property
    def market_dir(self) -> Path:
        return self.run_dir / "market"

    @property
    def model_dir(self) -> Path:
        return self.run_dir / "model"

    @property
    def checkpoint_dir(self) -> Path:
        """Training checkpoints: kept across attempts of one run id (resume), removed on commit."""
        return self.final_run_dir.with_name(f".{self.run_id}.checkpoints")

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

    @property
    def rejected_report_dir(self) -> Path:
        """Where the Data Docs of a run that failed validation are published.

        ``reports/<run_id>/`` when no finished run of that id exists; otherwise
        ``reports/<run_id>-rejected/``, so a finished run's report is never touched.
        """
        final = self.final_report_dir
        if (final / "report.html").is_file():
            return final.with_name(f"{self.run_id}-rejected")
        return final

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
    def open(self, *, keep_existing: bool = False, wait: bool | float = False, command: str = "qscen") -> "RunLayout":
        """Take the run's lock and create this attempt's staging folders.

        Staging folders of dead attempts of the same id are removed (the lock proves
        nobody else writes them).

        Args:
            keep_existing: start from a copy of the committed run of the same id (``qscen train``
                adds a model to a run that holds market data only); by default a run starts
                empty and replaces the old one.
            wait: wait for another writer of the same id instead of failing (seconds, or True).
            command: what holds the lock (shown to a second writer).

        Returns:
            The layout of this attempt (unique staging folders).

        Raises:
            RunLockedError: another process writes the same run id.
            RunExistsError: ``keep_existing`` on a run that already has a model, scenarios or report.
        """
        if not self.staged:
            raise ValueError("open() needs a staged layout")
        acquire_run_lock(self.workdir, self.run_id, wait=wait, command=command)
        try:
            if keep_existing:
                check_writable(self.workdir, self.run_id, "train")
            _clean_dead_attempts(Path(self.workdir), self.run_id)
            attempt = dataclasses.replace(self, attempt=f"{os.getpid()}-{secrets.token_hex(3)}")
            for staged, final in ((attempt.run_dir, attempt.final_run_dir),
                                  (attempt.report_dir, attempt.final_report_dir)):
                if keep_existing and final.exists():
                    shutil.copytree(final, staged)
                else:
                    staged.mkdir(parents=True)
        except BaseException:
            release_run_lock(self.workdir, self.run_id)
            raise
        return attempt

    def commit(self) -> "RunLayout":
        """Swap staging folders into place, replacing an earlier run of the same id whole.

        Removes the run's checkpoints and releases its lock.
        """
        if not self.staged:
            raise ValueError("commit() needs a staged layout")
        _COMMIT_STATE["active"] += 1
        try:
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
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
            _COMMIT_STATE["committed"].append(self.run_id)
        finally:
            release_run_lock(self.workdir, self.run_id)
            _COMMIT_STATE["active"] -= 1
            pending, _COMMIT_STATE["pending"] = _COMMIT_STATE["pending"], None
            if pending is not None and not _COMMIT_STATE["active"]:
                os.kill(os.getpid(), pending)
        return self.final()

    def discard(self, *, keep_validation_docs: bool = False) -> None:
        """Remove this attempt's staging folders (after a failure) and release the run's lock.

        Checkpoints are kept, so a rerun with the same id and config resumes training.

        Args:
            keep_validation_docs: publish the Data Docs of a run that failed validation in
                :attr:`rejected_report_dir` (``reports/<run_id>/validation/``, or
                ``reports/<run_id>-rejected/validation/`` beside a finished run) so the
                analyst can read why; nothing under ``data/runs/`` is kept.
        """
        if not self.staged:
            return
        try:
            if keep_validation_docs and self.docs_dir.exists():
                target = self.rejected_report_dir
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir(parents=True)
                os.replace(self.docs_dir, target / "validation")
            for folder in (self.run_dir, self.report_dir):
                if folder.exists():
                    shutil.rmtree(folder)
        finally:
            release_run_lock(self.workdir, self.run_id)


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

    A committed run with a manifest also gets ``verification``: the outcome of
    :func:`quantum_scenarios.integrity.verify_run` (checksums, model files, probabilities
    re-derived with qiskit), shown by the command and in the run's Prefect artifact.
    """
    summary = {
        "run_id": layout.run_id,
        "assets": [str(c) for c in prices.columns],
        "start": str(prices.index.min().date()),
        "end": str(prices.index.max().date()),
        "rows": int(len(prices)),
        "validation": validation,
        "headline": dict(headline or {}),
        "outputs": {name: str(path) for name, path in (outputs or {}).items()},
    }
    final = RunLayout(layout.workdir, layout.run_id, staged=False)
    if final.manifest_path.is_file():  # a committed run with a manifest: verify it as `qscen verify` would
        from quantum_scenarios.integrity import verify_run

        report = verify_run(final.run_dir)
        summary["verification"] = report.headline() + "".join(
            f"; {c.name}: {c.detail}" for c in report.failures[:3])
    return summary
