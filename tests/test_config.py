"""Configuration models: defaults, bounds, YAML loading and overrides."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from quantum_scenarios.config import PipelineConfig, SourceConfig, load_config


def test_defaults_are_complete_and_round_trip() -> None:
    config = PipelineConfig()
    assert config.source.source == "bundled"
    assert config.validation.mode == "strict"
    assert config.evaluation.split_date == dt.date(2012, 12, 31)
    assert PipelineConfig.model_validate(config.model_dump(mode="json")) == config


def test_every_field_has_a_description() -> None:
    for section in PipelineConfig.model_fields.values():
        model = section.annotation
        for name, field in model.model_fields.items():  # type: ignore[union-attr]
            assert field.description, f"{model.__name__}.{name} has no description"


def test_yaml_file_and_overrides(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  epochs: 12\nsource:\n  assets: [SP500, WTI]\n")
    config = load_config(path, ["scenarios.n_paths=50", "stress.weights=[0.25, 0.75]"])
    assert config.training.epochs == 12
    assert config.source.assets == ["SP500", "WTI"]
    assert config.scenarios.n_paths == 50
    assert config.stress.weights == [0.25, 0.75]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("epochs=3", "must look like section.field=value"),
        ("train.epochs=3", "unknown section 'train'"),
        ("training.epoch=3", "unknown field 'epoch' in section 'training'"),
        ("training.epochs=0", "greater than or equal to 1"),
        ("validation.mode=lenient", "'strict' or 'repair'"),
    ],
)
def test_bad_overrides_are_named(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="config file .*nope.yaml not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_yaml_key_is_refused(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  epocs: 12\n")
    with pytest.raises(ValidationError, match="epocs"):
        load_config(path)


def test_date_range_order_is_checked() -> None:
    with pytest.raises(ValidationError, match="start 2020-01-01 is after end 2019-01-01"):
        SourceConfig(start="2020-01-01", end="2019-01-01")


def test_run_id_must_be_a_folder_name() -> None:
    with pytest.raises(ValidationError, match="run_id must be a plain folder name"):
        load_config(None, ["output.run_id=a/b"])


def test_evaluation_rivals_are_named_and_can_be_switched_off() -> None:
    from quantum_scenarios.config import EvaluationConfig
    from quantum_scenarios.evaluation.rivals import RIVALS

    assert set(EvaluationConfig().rivals) == set(RIVALS)  # every rival by default
    assert load_config(overrides=["evaluation.rivals=[]"]).evaluation.rivals == []
    assert load_config(overrides=["evaluation.rivals=gaussian,dcc"]).evaluation.rivals == ["gaussian", "dcc"]
    with pytest.raises(ValueError, match="evaluation.rivals"):
        load_config(overrides=["evaluation.rivals=[garch_x]"])
