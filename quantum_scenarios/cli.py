"""The ``qscen`` command.

Subcommands:
    qscen run        the whole pipeline (ingest → validate → encode → train → generate → evaluate → report)
    qscen validate   ingest and validate a file (or the bundled data) and write its Parquet + Data Docs
    qscen train      train a qGAN on a run's returns (or a source) and write the model folder
    qscen config show  print the full default configuration as YAML

Note:
    This module is the only one in the library that reaches Prefect, and only
    inside a command's body: the flows live in the ``flows`` package and are
    imported when a command runs, so ``import quantum_scenarios.cli`` never
    imports Prefect.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import yaml

from quantum_scenarios.config import PipelineConfig, load_config
from quantum_scenarios.errors import QuantumScenariosError

__all__ = ["main", "build_parser"]


def _add_common(parser: argparse.ArgumentParser, *, source_default: str | None = None) -> None:
    parser.add_argument("--config", type=Path, help="YAML config file (sections as in `qscen config show`)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one option, e.g. --set training.epochs=100 (repeatable)",
    )
    parser.add_argument("--run-id", help="run identifier (default: time + config hash)")
    parser.add_argument("--workdir", type=Path, help="folder for data/runs/... and reports/... (default: .)")
    parser.add_argument("--source", default=source_default, help="'bundled', 'yahoo' or a CSV/Parquet path")
    parser.add_argument("--date-col", help="date column of the input file")
    parser.add_argument("--asset-col", help="asset column of a long input file")
    parser.add_argument("--price-col", help="price column of a long input file")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Prefect's task and flow log")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``qscen``."""
    parser = argparse.ArgumentParser(
        prog="qscen", description="Quantum-GAN market scenarios: trajectories and stress tests from market returns."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole pipeline")
    _add_common(run)
    run.add_argument("--mode", choices=["strict", "repair"], help="validation mode")
    run.add_argument("--no-progress", action="store_true", help="hide the training progress bar")

    validate = sub.add_parser("validate", help="ingest + validate a file, write Parquet and Data Docs")
    validate.add_argument("path", help="CSV/Parquet file, or 'bundled'")
    validate.add_argument("--mode", choices=["strict", "repair"], default=None, help="validation mode (default strict)")
    _add_common(validate)

    train = sub.add_parser("train", help="train a qGAN and write data/runs/<run_id>/model/")
    _add_common(train)
    train.add_argument("--no-progress", action="store_true", help="hide the training progress bar")

    config = sub.add_parser("config", help="configuration helpers")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_sub.add_parser("show", help="print the full default configuration (YAML)")
    return parser


def _resolve_config(args: argparse.Namespace) -> PipelineConfig:
    overrides = list(args.overrides)
    source = getattr(args, "path", None) or args.source
    if source is not None:
        overrides.append(f"source.source={json.dumps(str(source))}")
    for option, field in (("date_col", "date_col"), ("asset_col", "asset_col"), ("price_col", "price_col")):
        value = getattr(args, option, None)
        if value is not None:
            overrides.append(f"source.{field}={json.dumps(value)}")
    if getattr(args, "mode", None):
        overrides.append(f"validation.mode={args.mode}")
    if args.run_id:
        overrides.append(f"output.run_id={json.dumps(args.run_id)}")
    if args.workdir:
        overrides.append(f"output.workdir={json.dumps(str(args.workdir))}")
    return load_config(args.config, overrides)


def _prepare_prefect_env(verbose: bool) -> None:
    """Run flows without a server unless the user configured one; no telemetry.

    Prefect's own console log is shown with ``--verbose``; otherwise the command prints
    its summary, a progress bar and, on failure, one error message.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "CRITICAL")


def _print_summary(title: str, summary: dict[str, Any], seconds: float) -> None:
    print(f"\n{title} finished in {seconds:.1f} s — run {summary['run_id']}")
    print(f"  assets      : {', '.join(summary['assets'])}")
    print(f"  dates       : {summary['start']} .. {summary['end']} ({summary['rows']} rows)")
    print(f"  validation  : {summary['validation']}")
    for key, value in summary.get("headline", {}).items():
        print(f"  {key:<12}: {value}")
    print("  outputs:")
    for name, path in summary["outputs"].items():
        print(f"    {name:<12} {path}")


def _run_flow(flow: Any, **kwargs: Any) -> dict[str, Any]:
    state = flow(return_state=True, **kwargs)
    return state.result(raise_on_failure=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qscen``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "config":
            print(yaml.safe_dump(PipelineConfig().model_dump(mode="json"), sort_keys=False), end="")
            return 0
        config = _resolve_config(args)
        _prepare_prefect_env(args.verbose)
        started = time.perf_counter()
        if args.command == "validate":
            from flows.market_pipeline import market_flow

            summary = _run_flow(market_flow, source=config.source, validation=config.validation, output=config.output)
            _print_summary("validate", summary, time.perf_counter() - started)
            return 0
        if args.command == "train":
            from flows.training_pipeline import training_flow

            summary = _run_flow(training_flow, **dict(config), show_progress=not args.no_progress)
            _print_summary("train", summary, time.perf_counter() - started)
            return 0
        if args.command == "run":
            from flows.scenario_pipeline import scenario_pipeline

            summary = _run_flow(scenario_pipeline, **dict(config), show_progress=not args.no_progress)
            _print_summary("run", summary, time.perf_counter() - started)
            return 0
    except (QuantumScenariosError, ValueError, FileNotFoundError) as exc:
        print(f"qscen {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
