"""The ``qscen`` command.

Subcommands:
    qscen run        the whole pipeline (ingest → validate → encode → train → generate → evaluate → report)
    qscen validate   ingest and validate a file (or the bundled data) and write its Parquet + Data Docs
    qscen train      train a qGAN on a run's returns (or a source) and write the model folder
    qscen verify     check a finished run: manifest checksums, model files, probabilities re-derived with qiskit
    qscen config show  print the full default configuration as YAML (``--describe``: with each option's description)

How a command runs:

1. the configuration is resolved (YAML file, ``--set``, options) and the run's
   lock is taken (one writer per run id; ``--wait`` queues);
2. the input is ingested and checked against the configuration
   (:mod:`quantum_scenarios.preflight`) *before* any Prefect machinery starts,
   so a bad file or an impossible option fails in seconds;
3. a temporary Prefect server is started (:mod:`quantum_scenarios.server`),
   the flow runs against it, and the server is stopped on every exit path;
4. every failure becomes one message naming what to fix, and a non-zero exit
   status (1 for errors, 130 for Ctrl-C, 143 for SIGTERM); ``-v`` adds the
   traceback and Prefect's log.

Note:
    This module sits above the flows (DESIGN.md: ``qscen/``), outside the library,
    which never imports Prefect. It reaches Prefect only inside a command's body:
    the flows are imported when a command runs, so ``--help`` and ``config show``
    stay fast.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Sequence

import yaml

from quantum_scenarios import runs
from quantum_scenarios.config import PipelineConfig, describe_config, load_config
from quantum_scenarios.errors import QuantumScenariosError, ValidationFailedError

__all__ = ["main", "build_parser", "error_message"]

EXIT_ERROR = 1
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


def _add_common(parser: argparse.ArgumentParser, *, source_default: str | None = None) -> None:
    parser.add_argument("--config", type=Path, help="YAML config file (sections as in `qscen config show`)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one option, e.g. --set training.epochs=100 (repeatable); list options take "
        "comma lists: --set source.assets=SP500,WTI",
    )
    parser.add_argument("--run-id", help="run identifier (default: time + config hash)")
    parser.add_argument("--workdir", type=Path, help="folder for data/runs/... and reports/... (default: .)")
    parser.add_argument("--source", default=source_default, help="'bundled', 'yahoo' or a CSV/Parquet path")
    parser.add_argument("--assets", help="comma list of assets to keep, e.g. --assets SP500,WTI (source.assets)")
    parser.add_argument("--date-col", help="date column of the input file")
    parser.add_argument("--asset-col", help="asset column of a long input file")
    parser.add_argument("--price-col", help="price column of a long input file")
    parser.add_argument(
        "--wait", nargs="?", const=-1.0, type=float, default=None, metavar="SECONDS",
        help="if another command writes the same --run-id, wait for it (at most SECONDS) instead of failing",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and Prefect's task and flow log")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``qscen``."""
    parser = argparse.ArgumentParser(
        prog="qscen", description="Quantum-GAN market scenarios: trajectories and stress tests from market returns."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole pipeline")
    _add_common(run)
    run.add_argument("--mode", choices=["strict", "repair"], help="validation mode")
    run.add_argument("--no-progress", action="store_true", help="hide training progress")

    validate = sub.add_parser("validate", help="ingest + validate a file, write Parquet and Data Docs")
    validate.add_argument("path", help="CSV/Parquet file, or 'bundled'")
    validate.add_argument("--mode", choices=["strict", "repair"], default=None, help="validation mode (default strict)")
    _add_common(validate)

    train = sub.add_parser("train", help="train a qGAN and write data/runs/<run_id>/model/")
    _add_common(train)
    train.add_argument("--no-progress", action="store_true", help="hide training progress")

    sweep = sub.add_parser("sweep", help="train and score a grid of configurations on a Dask cluster")
    _add_common(sweep)
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=VALUES",
                       help="option and its values as a YAML list, e.g. --grid 'circuit.reps=[2,4]' (repeatable)")
    sweep.add_argument("--metric", default="qgan_fidelity_out", help="metric that ranks configurations")
    sweep.add_argument("--minimize", action="store_true", help="smaller metric is better (e.g. qgan_kl_out)")
    sweep.add_argument("--dask-address", help="scheduler of an existing Dask cluster (default: a local cluster)")
    sweep.add_argument("--workers", type=int, help="workers of the local cluster (default: one per core)")

    verify = sub.add_parser("verify", help="check a finished run's checksums and model files")
    verify.add_argument("run", help="run id (under --workdir) or the path of data/runs/<run_id>")
    verify.add_argument("--workdir", type=Path, help="folder holding data/runs/ (default: .)")
    verify.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")

    config = sub.add_parser("config", help="configuration helpers")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser("show", help="print the full default configuration (YAML)")
    show.add_argument("--describe", action="store_true", help="add each option's description, bounds and choices")
    show.add_argument("--config", type=Path, help="show this YAML file merged with the defaults")
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    show.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    return parser


# --------------------------------------------------------------------------- configuration


def _resolve_config(args: argparse.Namespace) -> PipelineConfig:
    overrides = list(getattr(args, "overrides", []) or [])
    source = getattr(args, "path", None) or getattr(args, "source", None)
    if source is not None:
        overrides.append(f"source.source={json.dumps(str(source))}")
    if getattr(args, "assets", None) is not None:
        names = [a.strip() for a in args.assets.split(",")]
        if not all(names):
            raise ValueError(f"--assets {args.assets!r} has an empty name; expected a comma list such as SP500,WTI")
        overrides.append(f"source.assets={json.dumps(names)}")
    for option, field in (("date_col", "date_col"), ("asset_col", "asset_col"), ("price_col", "price_col")):
        value = getattr(args, option, None)
        if value is not None:
            overrides.append(f"source.{field}={json.dumps(value)}")
    if getattr(args, "mode", None):
        overrides.append(f"validation.mode={args.mode}")
    if getattr(args, "run_id", None):
        overrides.append(f"output.run_id={json.dumps(args.run_id)}")
    if getattr(args, "workdir", None):
        overrides.append(f"output.workdir={json.dumps(str(args.workdir))}")
    return load_config(getattr(args, "config", None), overrides)


# --------------------------------------------------------------------------- error messages


def _pydantic_message(exc: Any) -> str:
    ours = {"PipelineConfig", *(f.annotation.__name__ for f in PipelineConfig.model_fields.values())}
    if getattr(exc, "title", None) not in ours:  # Prefect's own settings (environment variables PREFECT_...)
        details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')} (got {e.get('input')!r})"
                            for e in exc.errors())
        return f"invalid Prefect setting ({exc.title}): {details}; fix the PREFECT_... environment variable"
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error.get("loc", ()) if not isinstance(p, int))
        got = error.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        parts.append(f"option {loc or '?'}: {error.get('msg', 'invalid value')}{shown}")
    return "; ".join(parts) + ". See `qscen config show --describe` for every option, its bounds and choices."


def _os_message(exc: OSError) -> str | None:
    text = str(exc)
    where = exc.filename or ""
    code = exc.errno
    if code == errno.EFBIG or "File too large" in text:
        return (f"file too large{' writing ' + str(where) if where else ''} (a file-size limit or quota): raise "
                "the limit or choose another --workdir; nothing was committed")
    if code == errno.EEXIST and where and not Path(where).is_dir():
        return (f"{where} exists but is not a folder: point --workdir (or PREFECT_HOME) at a folder; "
                "nothing was committed")
    if code == errno.ENOTDIR:
        return f"{where or 'a path'} is not a folder: choose another --workdir; nothing was committed"
    if code == errno.ENOSPC or "No space left on device" in text:
        return (f"no space left on device{' writing ' + str(where) if where else ''}: free some space or choose "
                "another --workdir; nothing was committed")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "Read-only file system" in text \
            or "Permission denied" in text:
        reason = "read-only file system" if code == errno.EROFS or "Read-only" in text else "permission denied"
        return (f"cannot write {where or 'the output'} ({reason}): choose a writable --workdir or fix its "
                "permissions; nothing was committed")
    if isinstance(exc, FileNotFoundError):
        return text
    return None


def error_message(exc: BaseException) -> str:
    """The message ``qscen`` prints for an exception: what went wrong and what to change."""
    from pydantic import ValidationError

    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:  # an OS error underneath a wrapper says the most
        seen.add(id(cause))
        if isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError):
            found = _os_message(cause)
            if found:
                return found
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, ValidationError):
        return _pydantic_message(exc)
    if isinstance(exc, yaml.YAMLError):
        return f"invalid YAML: {' '.join(str(exc).split())}; fix the file or the --set value"
    if isinstance(exc, (QuantumScenariosError, ValueError, TypeError, KeyError, FileNotFoundError)):
        text = str(exc).strip() or type(exc).__name__
        return text if isinstance(exc, ValidationFailedError) else " ".join(text.split())
    if isinstance(exc, OSError):
        return _os_message(exc) or f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}"
    if isinstance(exc, MemoryError):
        return ("out of memory: lower encoding.num_qubits, scenarios.n_paths or training.batch_size, "
                "or select fewer assets (--assets)")
    if isinstance(exc, RuntimeError) and "ephemeral Prefect API server" in str(exc):
        return ("the temporary Prefect server did not start in time: raise "
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or set PREFECT_API_URL to a running server")
    text = " ".join(str(exc).split())[:300]
    return f"unexpected {type(exc).__name__}: {text} (run again with -v for the traceback, and report it)"


# --------------------------------------------------------------------------- signals and stages


_TASK_STAGES = {
    "ingest_task": "ingest", "validate_task": "validate", "write_market_task": "validate",
    "read_run_market_task": "ingest", "prepare_inputs_task": "encode", "encode_task": "encode",
    "train_task": "train", "save_model_task": "train", "evaluate_task": "evaluate",
    "generate_task": "generate", "write_scenarios_task": "generate", "render_report_task": "report",
    "write_manifest_task": "report", "publish_artifacts_task": "report", "commit_run_task": "commit",
    "open_run_task": "open", "discard_run_task": "discard",
}


def _stage_of(frames: list[FrameType]) -> str | None:
    """The pipeline stage a stack is in: the innermost ``tasks.*`` function on it, else the task
    Prefect's engine is running (its frames hold the task: between the engine's setup and the
    function call), else None."""
    engine_task = None
    for frame in frames:
        current: FrameType | None = frame
        while current is not None:
            module = current.f_globals.get("__name__", "")
            if module.startswith("tasks.") or module == "tasks":
                name = current.f_code.co_name
                return _TASK_STAGES.get(name, name.removesuffix("_task").replace("_", "-"))
            if engine_task is None and module.startswith("prefect.") and "engine" in module:
                owner = current.f_locals.get("self")
                task = getattr(owner, "task", None)
                name = getattr(task, "fn", None)
                if name is not None:
                    engine_task = getattr(name, "__name__", None)
            current = current.f_back
    if engine_task:
        return _TASK_STAGES.get(engine_task, engine_task.removesuffix("_task").replace("_", "-"))
    return None


class _Command:
    """One command's lifetime: its stage, its server, and what happens on SIGINT/SIGTERM."""

    def __init__(self, name: str, verbose: bool) -> None:
        self.name = name
        self.verbose = verbose
        self.stage = "configuration"
        self.server: Any = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def current_stage(self, frame: FrameType | None = None) -> str:
        frames = [frame] if frame is not None else []
        handling = sys.exc_info()[1]
        if handling is not None:  # Prefect turns SIGTERM into an exception, unwinds, then re-sends the signal:
            tb = handling.__traceback__  # the stage is where that exception was raised
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                frames.insert(0, tb.tb_frame)
        frames += list(sys._current_frames().values())  # noqa: SLF001 - tasks may run in worker threads
        return _stage_of(frames) or self.stage

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if runs.commit_in_progress():  # finish the swap first; the signal is re-sent when it ends
            runs.defer_signal(signum)
            return
        stage = self.current_stage(frame)
        word = "interrupted" if signum == signal.SIGINT else "terminated"
        committed = runs.committed_runs()
        outcome = (f"run {committed[-1]!r} had already been committed" if committed
                   else "nothing was committed")
        try:
            print(f"\nqscen {self.name}: {word} at stage {stage}; {outcome}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        self.cleanup()
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        # Skip Prefect's slow, noisy shutdown (event flushing against a stopped server): the lock is an
        # flock the kernel drops, the staging folders were removed, the server is gone.
        os._exit(EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM)

    def cleanup(self) -> None:
        """Remove this process's staging folders and stop the server (signal-safe enough: no Prefect calls)."""
        for child in multiprocessing.active_children():  # e.g. the rivals' process of the scenario pipeline
            child.kill()
        for workdir, run_id in runs.held_run_locks():
            runs.discard_attempts(workdir, run_id)
        if self.server is not None:
            self.server.stop(grace=1.0)  # a temporary server: its database is SQLite, safe to kill


@contextmanager
def _quiet_prefect(verbose: bool, progress_lines: bool) -> Iterator[None]:
    """Prefect's console log only with ``-v``; without a TTY, training progress as periodic lines."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "CRITICAL")
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()  # Prefect configures its loggers once, lazily: do it now, then adjust them

    noisy = ["httpx", "httpcore", "asyncio", "prefect", "prefect.server", "uvicorn", "great_expectations"]
    saved = {name: logging.getLogger(name).level for name in noisy}
    handler: logging.Handler | None = None
    if not verbose:
        for name in noisy:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    task_log = logging.getLogger("prefect.task_runs")
    task_state = (task_log.level, task_log.propagate)
    if progress_lines and not verbose:
        # Prefect re-applies its logging config when a run starts; this key survives that
        os.environ["PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL"] = "INFO"
        from tasks.operations import PROGRESS_LINES_ENV, install_progress_lines

        os.environ[PROGRESS_LINES_ENV] = "1"  # task processes (the rivals') print their lines the same way
        handler = install_progress_lines()
    try:
        yield
    finally:
        if handler is not None:
            task_log.removeHandler(handler)
            os.environ.pop("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", None)
            os.environ.pop(PROGRESS_LINES_ENV, None)
        task_log.setLevel(task_state[0])
        task_log.propagate = task_state[1]
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _api_configured() -> bool:
    """Whether Prefect already has a server: ``PREFECT_API_URL``, or a caller (a test harness, a notebook) set one."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect" in sys.modules:
        from prefect.settings import PREFECT_API_URL as configured

        return bool(configured.value())
    return False


def _launch_server(command: _Command) -> None:
    """Launch this command's temporary server now, without waiting for it (see :func:`_prefect_api`).

    It imports and migrates its database on another core while the command imports the flow
    (torch, qiskit, Prefect: seconds), instead of after it.
    """
    if command.server is None and not _api_configured():
        from quantum_scenarios.server import TEMPORARY_SERVER_ENV, TemporaryServer

        command.server = TemporaryServer().launch()
        # Before Prefect is imported: its settings (and the threads that ship logs and events) read
        # the URL once; without it they would start an ephemeral server of their own.
        os.environ["PREFECT_API_URL"] = command.server.api_url
        os.environ[TEMPORARY_SERVER_ENV] = "1"


@contextmanager
def _prefect_api(command: _Command) -> Iterator[None]:
    """Point Prefect at a server: the user's (``PREFECT_API_URL``) or one started for this command."""
    if command.server is None and _api_configured():
        yield
        return
    from quantum_scenarios.server import TEMPORARY_SERVER_ENV, TemporaryServer

    command.stage = "server start"
    if command.server is None:
        command.server = TemporaryServer()
    command.server.wait_ready()  # the URL changes only if the chosen port was taken meanwhile
    os.environ["PREFECT_API_URL"] = command.server.api_url
    os.environ[TEMPORARY_SERVER_ENV] = "1"
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: command.server.api_url}):
            yield
    finally:
        _drain_prefect()
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop(TEMPORARY_SERVER_ENV, None)
        server, command.server = command.server, None
        server.stop()


def _drain_prefect(timeout: float = 10.0) -> None:
    """Let Prefect's background log and event workers send what they hold before the server goes.

    Without this they retry against the stopped server at exit and print
    ``--- Error logging to API ---`` on the console.
    """
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):
            try:
                worker.drain_all(timeout=timeout)
            except Exception:  # noqa: BLE001 - best effort: never turn a finished run into an error
                pass
    except ImportError:
        pass
    finally:
        # a late flush after the server is gone stays off the console (the stdlib's production setting)
        logging.raiseExceptions = False


# --------------------------------------------------------------------------- commands


def _print_summary(title: str, summary: dict[str, Any], seconds: float) -> None:
    print(f"\n{title} finished in {seconds:.1f} s — run {summary['run_id']}")
    print(f"  assets      : {', '.join(summary['assets'])}")
    print(f"  dates       : {summary['start']} .. {summary['end']} ({summary['rows']} rows)")
    print(f"  validation  : {summary['validation']}")
    if summary.get("verification"):
        print(f"  integrity   : {summary['verification']}")
    for key, value in summary.get("headline", {}).items():
        print(f"  {key:<12}: {value}")
    print("  outputs:")
    for name, path in summary["outputs"].items():
        print(f"    {name:<12} {path}")


def _run_flow(flow: Any, **kwargs: Any) -> dict[str, Any]:
    """Run a flow in a worker thread; the main thread stays free to handle SIGINT/SIGTERM at once.

    In the main thread Prefect would swap in its own SIGTERM handler for the flow's duration, and
    a process blocked inside Prefect (waiting for a concurrency slot, say) would not react to
    SIGTERM. In a worker thread the command's handlers stay in charge.
    """
    import contextvars
    import inspect
    import threading

    accepted = inspect.signature(flow.fn).parameters
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            state = flow(return_state=True, **{k: v for k, v in kwargs.items() if k in accepted})
            outcome["summary"] = state.result(raise_on_failure=True)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            outcome["error"] = exc

    context = contextvars.copy_context()  # Prefect's settings context (e.g. a test harness's API URL)
    worker = threading.Thread(target=context.run, args=(target,), name="qscen-flow", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["summary"]


def _check_workdir(workdir: Path) -> None:
    """Fail early on a workdir that cannot be written (read-only, full)."""
    root = Path(workdir) / "data" / "runs"
    root.mkdir(parents=True, exist_ok=True)
    probe = root / f".qscen-write-test-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"x" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        probe.unlink(missing_ok=True)


def _preflight(args: argparse.Namespace, config: PipelineConfig, command: _Command) -> None:
    """Ingest and check the input against the configuration before any Prefect machinery."""
    from quantum_scenarios.market.sources import ingest
    from quantum_scenarios.preflight import preflight

    output = config.output
    if args.command == "train" and output.run_id and (
        runs.RunLayout(output.workdir.resolve(), output.run_id, staged=False).market_dir / "returns.parquet"
    ).is_file():
        return  # trains on the run's validated returns
    command.stage = "ingest"
    source = config.source
    data = ingest(
        source.source, assets=source.assets, start=source.start, end=source.end, date_col=source.date_col,
        asset_col=source.asset_col, price_col=source.price_col, align=source.align,
        ffill_limit=source.ffill_limit, return_kind=source.return_kind, tickers=source.tickers,
    )
    from quantum_scenarios.market.validation import quick_check

    command.stage = "preflight"
    quick_check(data, mode=config.validation.mode, max_gap_days=config.validation.max_gap_days)
    if args.command == "validate":
        return
    from quantum_scenarios.models import choose_mode

    if args.command == "train" and config.model.mode not in ("auto", "joint"):
        raise ValueError(
            f"qscen train trains and saves the joint generator only; model.mode={config.model.mode} is fitted by "
            "`qscen run` (its fitted model is recorded in the run, not saved for reloading). Drop "
            "--set model.mode or use qscen run"
        )
    mode = "joint" if args.command == "train" else choose_mode(
        config.model.mode, data.returns.shape[1], factor_threshold=config.model.factor_threshold
    )
    checked = preflight(
        data.returns, num_qubits=config.encoding.num_qubits, split_date=config.evaluation.split_date,
        quantiles=config.encoding.quantiles, margin=config.encoding.margin, mode=mode,
        factors=config.model.factors, copula_qubits=config.model.copula_qubits,
        latent_qubits=config.model.latent_qubits,
    )
    for line in checked.warnings:
        print(f"qscen {args.command}: warning: {line}", file=sys.stderr)


def _config_show(args: argparse.Namespace) -> int:
    config = load_config(args.config, list(args.overrides))
    if args.describe:
        print(describe_config(config), end="")
    else:
        print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), end="")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from quantum_scenarios.integrity import verify_run

    target = Path(args.run)
    if not target.is_dir():
        target = Path(args.workdir or ".") / "data" / "runs" / args.run
    if not target.is_dir():
        raise FileNotFoundError(
            f"run {args.run!r} not found: {target} does not exist; pass a run id (with --workdir) or the path "
            "of data/runs/<run_id>"
        )
    report = verify_run(target)
    print(report.describe())
    return 0 if report.ok else EXIT_ERROR


def _pipeline(args: argparse.Namespace, command: _Command) -> int:
    config = _resolve_config(args)
    output = config.output
    show_bar = not getattr(args, "no_progress", False) and sys.stderr.isatty()
    lines = not getattr(args, "no_progress", False)  # stage lines; with a TTY the epochs go to the bar
    lock_held = False
    try:
        if output.run_id:
            command.stage = "lock"
            runs.check_writable(output.workdir.resolve(), output.run_id, args.command)
            wait = args.wait
            runs.acquire_run_lock(output.workdir, output.run_id,
                                  wait=(True if wait is not None and wait < 0 else (wait or False)),
                                  command=f"qscen {args.command}")
            lock_held = True
            runs.check_writable(output.workdir.resolve(), output.run_id, args.command)  # may have changed while waiting
        command.stage = "workdir check"
        _check_workdir(output.workdir)
        if not os.environ.get("PREFECT_API_URL"):
            from quantum_scenarios.server import startup_timeout

            startup_timeout()  # a bad PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS fails before anything runs
        _preflight(args, config, command)
        _launch_server(command)  # starts on another core while the flow's modules import; stopped by main()
        with _quiet_prefect(args.verbose, lines):
            command.stage = "imports"
            if args.command == "validate":
                from flows.market_pipeline import market_flow as flow

                options = {"source": config.source, "validation": config.validation, "output": config.output}
            elif args.command == "train":
                from flows.training_pipeline import training_flow as flow

                options = {**dict(config), "show_progress": show_bar}
            else:
                from flows.scenario_pipeline import scenario_pipeline as flow

                options = {**dict(config), "show_progress": show_bar}
        with _quiet_prefect(args.verbose, lines), _prefect_api(command):
            command.stage = "pipeline"
            started = time.perf_counter()
            summary = _run_flow(flow, **options)
        _print_summary(args.command, summary, time.perf_counter() - started)
        return 0
    finally:
        if lock_held:
            runs.release_run_lock(output.workdir, output.run_id)


def _sweep(args: argparse.Namespace, command: _Command) -> int:
    """``qscen sweep``: the grid over the base configuration, mapped onto a Dask cluster."""
    from quantum_scenarios.config import SweepConfig

    config = _resolve_config(args)
    grid: dict[str, list[Any]] = {}
    for item in args.grid:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--grid {item!r} must look like section.field=[v1,v2], e.g. --grid 'circuit.reps=[2,4]'")
        values = yaml.safe_load(raw)
        grid[key.strip()] = values if isinstance(values, list) else [values]
    sweep = SweepConfig(grid=grid or SweepConfig().grid, metric=args.metric, maximize=not args.minimize,
                        dask_address=args.dask_address, workers=args.workers)
    with _quiet_prefect(args.verbose, False), _prefect_api(command):
        command.stage = "sweep"
        started = time.perf_counter()
        from flows.sweep_pipeline import sweep_pipeline

        result = _run_flow(sweep_pipeline, sweep=sweep, **dict(config))
    table = result["table"]
    print(f"\nsweep finished in {time.perf_counter() - started:.1f} s — {result['sweep_id']}: "
          f"{result['configurations']} configurations, {result['failed']} failed")
    shown = [c for c in [*sweep.grid, "status", sweep.metric, "seconds"] if c in table.columns]
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"  best by {sweep.metric}: {result['best']}")
    for name, path in result["outputs"].items():
        print(f"  {name:<8} {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qscen``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    from quantum_scenarios.threads import apply_process_policy

    apply_process_policy()  # one thread per OpenMP/BLAS pool unless set; training raises torch's where it helps
    command = _Command(args.command, getattr(args, "verbose", False))
    in_main_thread = sys.modules["threading"].current_thread() is sys.modules["threading"].main_thread()
    if in_main_thread:
        command.install()
    try:
        if args.command == "config":
            return _config_show(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "sweep":
            return _sweep(args, command)
        return _pipeline(args, command)
    except KeyboardInterrupt:  # a Ctrl-C that reached Python before the handler was installed
        print(f"\nqscen {args.command}: interrupted at stage {command.stage}; nothing was committed",
              file=sys.stderr)
        command.cleanup()
        return EXIT_SIGINT
    except Exception as exc:  # noqa: BLE001 - every failure becomes one message; -v shows the traceback
        if command.verbose:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"qscen {args.command}: error: {error_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if in_main_thread:
            command.restore()
        if command.server is not None:  # launched, but the command failed before it ran the flow
            from quantum_scenarios.server import TEMPORARY_SERVER_ENV

            command.server.stop(grace=1.0)
            if os.environ.pop(TEMPORARY_SERVER_ENV, None):
                os.environ.pop("PREFECT_API_URL", None)
            command.server = None


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
