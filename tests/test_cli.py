"""The qscen command: parsing, config display, error reporting (flows are tested in test_flows.py)."""

from __future__ import annotations

import yaml

from quantum_scenarios.cli import build_parser, main
from quantum_scenarios.config import PipelineConfig


def test_config_show_prints_the_full_default_config(capsys) -> None:
    assert main(["config", "show"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert PipelineConfig.model_validate(shown) == PipelineConfig()
    assert set(shown) == set(PipelineConfig.model_fields)


def test_common_options_are_accepted_by_every_command() -> None:
    parser = build_parser()
    for command in (["run"], ["validate", "x.csv"], ["train"]):
        args = parser.parse_args(
            [*command, "--run-id", "r", "--workdir", "w", "--source", "bundled", "--set", "training.epochs=2"]
        )
        assert args.run_id == "r" and str(args.workdir) == "w" and args.overrides == ["training.epochs=2"]


def test_bad_override_exits_non_zero_with_the_reason(capsys) -> None:
    assert main(["run", "--set", "training.epochz=3"]) == 1
    err = capsys.readouterr().err
    assert "qscen run: error" in err and "unknown field 'epochz'" in err


def test_missing_config_file_exits_non_zero(capsys, tmp_path) -> None:
    assert main(["validate", "bundled", "--config", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml not found" in capsys.readouterr().err
