"""Model selection on a validation split of the training period (quantum_scenarios.models.selection)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from quantum_scenarios.config import ModelConfig, PipelineConfig
from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation.distances import classical_fidelity, kl_divergence
from quantum_scenarios.models import CopulaModel, JointModel
from quantum_scenarios.models import selection as selection_module
from quantum_scenarios.models.selection import Candidate, select_from_config, select_model

FAST = {"discriminator_steps": 1, "batch_size": 32, "seed": 0}
TINY = {"epochs": 40, "check_every": 20, "patience": 1, "training": FAST, "circuit": {"seed": 0}, "n_samples": 5000}
GRID = (Candidate("joint", 2, 2), Candidate("joint", 1, 3), Candidate("copula", 2, 2))


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dated() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    g = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=400)
    values = stats.t.ppf(stats.norm.cdf(g), df=5)
    return pd.DataFrame(values, columns=["a", "b"], index=pd.bdate_range("2001-01-01", periods=400, name="date"))


class Recorder:
    """Wraps a model class: records, in build order, what each model was given and fitted on."""

    def __init__(self, cls, built: list):
        self.cls, self.built = cls, built

    def __call__(self, **options):
        model = self.cls(**options)
        record = {"options": options, "mode": model.mode}
        self.built.append(record)
        fit = model.fit

        def recording_fit(train):
            record["train"] = np.asarray(train, dtype=float).copy()
            return fit(train)

        model.fit = recording_fit
        return model


def test_selection_sees_only_the_training_period_and_splits_chronologically(dated, monkeypatch) -> None:
    built: list = []
    monkeypatch.setattr(selection_module, "JointModel", Recorder(JointModel, built))
    monkeypatch.setattr(selection_module, "CopulaModel", Recorder(CopulaModel, built))
    train = dated.loc[:"2002-06-28"]  # the rest of `dated` plays the test period
    result = select_model(train, GRID, validation_fraction=0.25, last_training_date="2002-06-28", **TINY)
    n = len(train)
    k = int(round(0.25 * n))
    assert (result.n_fit, result.n_validation) == (n - k, k)
    assert result.validation_dates == (str(train.index[n - k].date()), "2002-06-28")
    assert [r["mode"] for r in built] == [c.mode for c in GRID] + [result.choice.mode]  # candidates, then the refit
    for record in built:  # nothing past the cut-off ever reached a model
        np.testing.assert_array_equal(record["train"], train.to_numpy())
    for record in built[:-1]:  # candidates hold out the chronologically last k rows and do not refit on them
        assert record["options"]["validation_fraction"] == 0.25 and record["options"]["refit"] is False
    assert built[-1]["options"]["validation_fraction"] == 0.0
    for model in result.candidates.values():
        assert model.selection.validation[-1][0] == model.selection.epochs_run
        assert model.fit_result is model.selection  # no refit: the validation block was never trained on
    candidate = result.candidates["joint q2 reps2 renyi"]
    fit_grid = encode(train.iloc[: n - k], num_qubits=2)
    np.testing.assert_allclose(candidate.grid.target, fit_grid.target)
    # a candidate's empirical draws replay fitting rows only, never validation rows
    draws = candidate.draw(2000, np.random.default_rng(0))
    fit_points = {tuple(r) for r in train.iloc[: n - k].to_numpy()}
    validation_points = {tuple(r) for r in train.iloc[n - k:].to_numpy()}
    replayed = {tuple(r) for r in draws} & (fit_points | validation_points)
    assert replayed and replayed <= fit_points


def test_refuses_rows_after_the_cut_off_and_unsorted_dates(dated) -> None:
    with pytest.raises(ValueError, match=r"after the last training date 2002-06-28: \d+ rows from 2002-07-01"):
        select_model(dated, GRID, last_training_date="2002-06-28", **TINY)
    with pytest.raises(ValueError, match="needs the training values as a DataFrame with a DatetimeIndex"):
        select_model(dated.to_numpy(), GRID, last_training_date="2002-06-28", **TINY)
    with pytest.raises(ValueError, match="date order"):
        select_model(dated.iloc[::-1], GRID, **TINY)
    with pytest.raises(ValueError, match="validation_fraction must be > 0"):
        select_model(dated, GRID, validation_fraction=0.0, **TINY)
    four = dated.assign(c=dated["a"] * 0.5, d=dated["b"] * 0.5)
    with pytest.raises(ValueError, match="more than 16 qubits for 4 assets"):
        select_model(four, [Candidate("joint", 5, 2)], **TINY)
    with pytest.raises(ValueError, match="candidates must differ"):
        select_model(dated, [GRID[0], GRID[0]], **TINY)
    with pytest.raises(ValueError, match="n_bootstrap must be >= 0"):
        select_model(dated, GRID, n_bootstrap=-1, **TINY)
    with pytest.raises(ValueError, match="candidate mode must be one of"):
        Candidate("factor", 2, 2)


def test_candidate_table_is_complete_and_the_choice_is_its_best_row(dated) -> None:
    train = dated.iloc[:300]
    result = select_model(train, GRID, validation_fraction=0.2, **TINY)
    table = result.table
    assert list(table["candidate"]) == [c.label for c in GRID]
    for column in ("validation_kl", "validation_fidelity", "validation_kl_se", "validation_kl_own_grid", "best_epoch",
                   "epochs_run", "seconds", "validation_kl_gap", "validation_kl_gap_se"):
        assert table[column].notna().all(), column
    assert ((table["validation_fidelity"] > 0) & (table["validation_fidelity"] <= 1 + 1e-12)).all()
    assert table["chosen"].sum() == 1
    best = table.loc[table["validation_kl"].idxmin()]
    assert bool(best["chosen"]) and best["candidate"] == result.choice.label
    # the common-grid scores are the candidates' draws against the validation rows, recomputed here
    fit_rows, validation_rows = train.iloc[:240].to_numpy(), train.iloc[240:].to_numpy()
    grid = encode(pd.DataFrame(fit_rows, columns=["a", "b"]), num_qubits=3)
    h_val = grid.histogram(validation_rows)
    # the bootstrap: resampled validation days (the same resamples for every candidate)
    resamples = np.random.default_rng(0).integers(0, 60, size=(200, 60))
    boot_hists = [grid.histogram(validation_rows[r]) for r in resamples]
    boot = {}
    for _, row in table.iterrows():
        p = grid.histogram(result.candidates[row["candidate"]].draw(5000, np.random.default_rng(0)))
        assert row["validation_kl"] == pytest.approx(kl_divergence(h_val, p))
        assert row["validation_fidelity"] == pytest.approx(classical_fidelity(h_val, p))
        boot[row["candidate"]] = np.array([kl_divergence(h, p) for h in boot_hists])
        assert row["validation_kl_se"] == pytest.approx(boot[row["candidate"]].std(ddof=1))
        own = result.candidates[row["candidate"]].selection
        assert row["best_epoch"] == own.best_epoch and row["validation_kl_own_grid"] == pytest.approx(
            min(s for _, s, _ in own.validation))
    chosen = result.choice.label
    for _, row in table.iterrows():
        assert row["validation_kl_gap"] == pytest.approx(row["validation_kl"] - best["validation_kl"])
        assert row["validation_kl_gap_se"] == pytest.approx((boot[row["candidate"]] - boot[chosen]).std(ddof=1))
    assert table.loc[table["chosen"], "validation_kl_gap_se"].iloc[0] == 0.0
    by_fidelity = select_model(train, GRID, validation_fraction=0.2, criterion="fidelity", **TINY)
    assert by_fidelity.choice.label == by_fidelity.table.loc[by_fidelity.table["validation_fidelity"].idxmax(), "candidate"]


def test_refit_uses_the_chosen_settings_on_the_whole_training_period(dated) -> None:
    train = dated.iloc[:300]
    result = select_model(train, GRID, validation_fraction=0.2, **TINY)
    model, choice = result.model, result.choice
    assert model.mode == choice.mode and model.num_qubits == choice.num_qubits
    assert model.options["circuit"]["reps"] == choice.reps and model.options["training"]["loss"] == choice.loss
    assert model.validation_fraction == 0.0
    assert result.epochs == max(int(result.table.loc[result.table["chosen"], "best_epoch"].iloc[0]), 1)
    assert model.fit_result.epochs_run == result.epochs  # trained for exactly the selected epoch count
    if choice.mode == "joint":  # its grid is the whole training period's
        np.testing.assert_allclose(model.grid.target, encode(train, num_qubits=choice.num_qubits).target)
    assert model.draw(10, np.random.default_rng(1)).shape == (10, 2)
    record = json.loads(json.dumps(result.summary()))
    assert record["choice"] == choice.label and len(record["candidates"]) == len(GRID)
    assert select_model(train, GRID[:1], validation_fraction=0.2, refit=False, **TINY).model is None


def test_config_field_and_select_from_config(dated) -> None:
    assert ModelConfig().selection == "none"
    assert PipelineConfig(model={"selection": "validation"}).model.selection == "validation"
    with pytest.raises(ValueError):
        ModelConfig(selection="test")
    section = ModelConfig(selection="validation", check_every=20, patience=1).model_dump()
    result = select_from_config(dated.iloc[:300], section, epochs=40, circuit={"seed": 0},
                                training={**FAST, "epochs": 999}, candidates=GRID[:2])
    assert result.n_validation == 60 and result.table["epochs_run"].max() <= 40
    with pytest.raises(ValueError, match="validation_fraction > 0"):
        select_from_config(dated, {**section, "validation_fraction": 0.0}, candidates=GRID[:1])
