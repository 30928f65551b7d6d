"""Model selection on a validation split of the training period: mode, qubits, depth, loss, epochs.

:func:`select_model` is given the *training* values only. It holds out their chronologically
last ``validation_fraction`` (the same split as
:func:`~quantum_scenarios.models.training.chronological_split`), fits every candidate on the
rows before it with early stopping on the held-out rows (which fixes the epoch count), and
scores each fitted candidate on the held-out rows:

* on one common grid (``score_qubits`` per asset over the fitting rows, the pipeline's
  bounds), so candidates with different modes or qubit counts are compared on equal terms:
  ``KL(validation || model)`` and the classical fidelity of the model's draws;
* on its own grid, the early-stopping score (not comparable across grids; reported only).

The best candidate by the chosen criterion is then refitted on the whole training period
for the epoch count its validation optimum picked. The test period never reaches this
module: pass ``last_training_date`` to have a dated frame checked against the cut-off.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation.distances import classical_fidelity, kl_divergence
from quantum_scenarios.models.base import ScenarioModel, check_values
from quantum_scenarios.models.copula import CopulaModel
from quantum_scenarios.models.joint import JointModel
from quantum_scenarios.models.training import chronological_split

__all__ = [
    "DEFAULT_CANDIDATES",
    "Candidate",
    "ModelSelection",
    "select_from_config",
    "select_model",
]

SELECTION_MODES = ("joint", "copula")
MAX_QUBITS = 16  # the exact executor's comfortable size; above it a candidate grid is a factor-mode job


@dataclass(frozen=True)
class Candidate:
    """One setting of the candidate grid.

    Attributes:
        mode: ``"joint"`` (histogram of the values) or ``"copula"`` (uniform grid of the PIT).
        num_qubits: Qubits per asset.
        reps: Depth of the generator circuit (``ry_cz`` repetitions by default).
        loss: ``"renyi"`` (Rényi-α, ``training["renyi_alpha"]``, ½ by default) or ``"bce"``.
    """

    mode: str = "joint"
    num_qubits: int = 3
    reps: int = 10
    loss: str = "renyi"

    def __post_init__(self) -> None:
        if self.mode not in SELECTION_MODES:
            raise ValueError(f"candidate mode must be one of {SELECTION_MODES}; received {self.mode!r}")
        if not 1 <= int(self.num_qubits) <= 6:
            raise ValueError(f"candidate num_qubits must be 1-6 per asset; received {self.num_qubits}")
        if not 1 <= int(self.reps) <= 40:
            raise ValueError(f"candidate reps must be 1-40; received {self.reps}")
        if self.loss not in ("renyi", "bce"):
            raise ValueError(f"candidate loss must be 'renyi' or 'bce'; received {self.loss!r}")

    @property
    def label(self) -> str:
        return f"{self.mode} q{self.num_qubits} reps{self.reps} {self.loss}"


#: The grid :func:`select_model` searches by default: the pipeline's hand-picked joint setting
#: (3 qubits per asset, reps 10, Rényi-½), a shallower, a deeper and a coarser joint model, and
#: the copula mode at 3 and 4 qubits per asset (9 and 12 qubits for 3 assets). On the bundled
#: data each fit took 2-5 s per 300 epochs on one thread.
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    Candidate("joint", 3, 10, "renyi"),
    Candidate("joint", 3, 6, "renyi"),
    Candidate("joint", 3, 16, "renyi"),
    Candidate("joint", 2, 10, "renyi"),
    Candidate("copula", 3, 10, "renyi"),
    Candidate("copula", 4, 10, "renyi"),
)


@dataclass
class ModelSelection:
    """What :func:`select_model` tried, what it chose, and the chosen model refitted.

    Attributes:
        table: One row per candidate: its settings, ``validation_kl`` and
            ``validation_fidelity`` (common grid), ``validation_kl_se`` (bootstrap over the
            validation days), ``validation_kl_own_grid`` (early-stopping score),
            ``best_epoch``, ``epochs_run``, ``seconds``, ``chosen``, and
            ``validation_kl_gap`` / ``validation_kl_gap_se``: the candidate's KL minus the
            choice's, with its paired bootstrap standard error (a gap within about two of
            them is resampling noise, not a ranking).
        choice: The chosen candidate.
        epochs: The epoch count the refit used (the chosen candidate's validation optimum).
        model: The chosen candidate refitted on the whole training period (``None`` with
            ``refit=False``).
        candidates: Label -> candidate model fitted on the fitting rows only (before the
            validation block), for inspection.
        n_fit: Rows used for fitting the candidates (the first ones).
        n_validation: Rows held out (the last ones).
        validation_dates: First and last date of the held-out rows, where the values are dated.
        seconds: Wall time of the whole selection, refit included.
    """

    table: pd.DataFrame
    choice: Candidate
    epochs: int
    model: ScenarioModel | None
    candidates: dict[str, ScenarioModel] = field(default_factory=dict)
    n_fit: int = 0
    n_validation: int = 0
    validation_dates: tuple[str, str] | None = None
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The selection as JSON-ready values (the table as records)."""
        return {
            "choice": self.choice.label,
            "epochs": self.epochs,
            "n_fit": self.n_fit,
            "n_validation": self.n_validation,
            "validation_dates": list(self.validation_dates) if self.validation_dates else None,
            "seconds": self.seconds,
            "candidates": self.table.to_dict(orient="records"),
        }


def _build(
    candidate: Candidate,
    *,
    validation_fraction: float,
    epochs: int,
    check_every: int,
    patience: int,
    max_seconds: float | None,
    circuit: dict[str, Any],
    training: dict[str, Any],
    refit: bool,
) -> ScenarioModel:
    options = {
        "num_qubits": int(candidate.num_qubits),
        "validation_fraction": validation_fraction,
        "epochs": int(epochs),
        "check_every": int(check_every),
        "patience": int(patience),
        "max_seconds": max_seconds,
        "circuit": {**circuit, "reps": int(candidate.reps)},
        "training": {**training, "loss": candidate.loss},
        "refit": refit,
        "measure_memory": False,
    }
    if candidate.mode == "joint":
        return JointModel(**options)
    return CopulaModel(**options)


def _check_training_period(train: ArrayLike | pd.DataFrame, last_training_date: dt.date | str | None) -> tuple[str, ...] | None:
    """Dates of the rows where ``train`` is a dated frame; refuses unsorted dates and any after the cut-off."""
    if not isinstance(train, pd.DataFrame) or not isinstance(train.index, pd.DatetimeIndex):
        if last_training_date is not None:
            raise ValueError("last_training_date needs the training values as a DataFrame with a DatetimeIndex")
        return None
    index = train.index
    if not index.is_monotonic_increasing:
        raise ValueError("the training values must be in date order: the validation block is the chronologically last rows")
    if last_training_date is not None and len(index):
        cut = pd.Timestamp(last_training_date)
        if index[-1] > cut:
            later = index[index > cut]
            raise ValueError(
                f"the training values reach {later[-1].date()}, after the last training date {cut.date()}: "
                f"{len(later)} rows from {later[0].date()} belong to the test period; pass only the training period"
            )
    return tuple(str(t.date()) for t in index)


def select_model(
    train: ArrayLike | pd.DataFrame,
    candidates: tuple[Candidate, ...] | list[Candidate] | None = None,
    *,
    validation_fraction: float = 0.2,
    epochs: int = 2000,
    check_every: int = 100,
    patience: int = 3,
    max_seconds: float | None = None,
    circuit: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    criterion: Literal["kl", "fidelity"] = "kl",
    score_qubits: int = 3,
    n_samples: int = 100_000,
    seed: int = 0,
    n_bootstrap: int = 200,
    refit: bool = True,
    last_training_date: dt.date | str | None = None,
) -> ModelSelection:
    """Choose a scenario model on the last share of the training period, then refit it.

    Args:
        train: The training-period values ``(m, d)`` in date order (GARCH residuals or
            returns), nothing after the training cut-off.
        candidates: The settings to try (:data:`DEFAULT_CANDIDATES` when None).
        validation_fraction: Chronologically last share of ``train`` held out (``> 0``).
        epochs: Largest number of epochs per candidate; early stopping on the held-out rows
            picks the count.
        check_every, patience, max_seconds: Early stopping, as
            :func:`~quantum_scenarios.models.training.fit_grid_generator` (``max_seconds`` per
            candidate).
        circuit: Generator circuit options shared by every candidate (``reps`` comes from
            the candidate).
        training: ``train_qgan`` options shared by every candidate (``loss`` comes from the
            candidate).
        criterion: ``"kl"`` picks the lowest ``KL(validation || model)``, ``"fidelity"`` the
            highest fidelity, both on the common grid.
        score_qubits: Qubits per asset of the common scoring grid.
        n_samples: Draws per candidate for the common-grid scores.
        seed: Seed of those draws and of the bootstrap.
        n_bootstrap: Resamples (with replacement) of the validation days for the standard
            error of each candidate's validation KL and of its gap to the choice (the same
            resamples for every candidate, so the gap is paired); 0 skips them (NaN).
        refit: Refit the chosen candidate on the whole training period (for the chosen
            epoch count); False leaves ``model`` as None.
        last_training_date: The training cut-off; with a dated frame, any row after it is
            refused (a guard against handing over the test period).

    Raises:
        ValueError: no candidates or duplicate ones, ``validation_fraction`` of 0, unsorted
            dates, rows after ``last_training_date``, a negative ``n_bootstrap``, or too few
            rows on either side of the split.
    """
    started = time.perf_counter()
    dates = _check_training_period(train, last_training_date)
    x, assets = check_values(train)
    grid_of = tuple(candidates) if candidates is not None else DEFAULT_CANDIDATES
    if not grid_of:
        raise ValueError("select_model needs at least one candidate")
    if validation_fraction <= 0:
        raise ValueError("model selection needs a validation block: validation_fraction must be > 0 (e.g. 0.2)")
    if criterion not in ("kl", "fidelity"):
        raise ValueError(f"criterion must be 'kl' or 'fidelity'; received {criterion!r}")
    if int(n_bootstrap) < 0:
        raise ValueError(f"n_bootstrap must be >= 0 (0 skips the standard errors); received {n_bootstrap}")
    labels = [c.label for c in grid_of]
    if len(set(labels)) != len(labels):
        raise ValueError(f"candidates must differ; received duplicates in {labels}")
    too_wide = [c.label for c in grid_of if c.num_qubits * x.shape[1] > MAX_QUBITS]
    if too_wide:
        raise ValueError(
            f"candidates {too_wide} need more than {MAX_QUBITS} qubits for {x.shape[1]} assets; pass fewer qubits "
            "per asset in `candidates`, or use factor mode (model.mode='factor') for many assets"
        )
    fit_rows, validation_rows = chronological_split(x, validation_fraction)
    assert validation_rows is not None
    n_fit, n_validation = len(fit_rows), len(validation_rows)
    score_grid = encode(pd.DataFrame(fit_rows, columns=list(assets)), num_qubits=int(score_qubits))
    h_validation = score_grid.histogram(validation_rows)
    shared = {
        "epochs": epochs,
        "check_every": check_every,
        "patience": patience,
        "max_seconds": max_seconds,
        "circuit": dict(circuit or {}),
        "training": dict(training or {}),
    }
    cells = score_grid.digitize(validation_rows)
    resamples = np.random.default_rng(seed).integers(0, n_validation, size=(int(n_bootstrap), n_validation))
    h_boot = [np.bincount(cells[r], minlength=h_validation.size) / n_validation for r in resamples]
    rows, fitted, boot = [], {}, []
    for candidate in grid_of:
        clock = time.perf_counter()
        # fit() repeats the same chronological split: the candidate trains on the first n_fit
        # rows and stops early on the last n_validation, and (refit=False) never trains on them
        model = _build(candidate, validation_fraction=validation_fraction, refit=False, **shared)
        model.fit(pd.DataFrame(x, columns=list(assets)))
        p = score_grid.histogram(np.asarray(model.draw(int(n_samples), np.random.default_rng(seed)), dtype=float))
        fit = model.selection
        boot.append(np.array([kl_divergence(h, p) for h in h_boot]))
        rows.append(
            {
                "candidate": candidate.label,
                "mode": candidate.mode,
                "num_qubits": candidate.num_qubits,
                "reps": candidate.reps,
                "loss": candidate.loss,
                "validation_kl": float(kl_divergence(h_validation, p)),
                "validation_kl_se": float(boot[-1].std(ddof=1)) if n_bootstrap > 1 else float("nan"),
                "validation_fidelity": float(classical_fidelity(h_validation, p)),
                "validation_kl_own_grid": float(min(s for _, s, _ in fit.validation)),
                "best_epoch": int(fit.best_epoch),
                "epochs_run": int(fit.epochs_run),
                "seconds": time.perf_counter() - clock,
            }
        )
        fitted[candidate.label] = model
    table = pd.DataFrame(rows)
    scores = table["validation_kl"] if criterion == "kl" else -table["validation_fidelity"]
    best = int(np.argmin(scores.to_numpy()))
    table["chosen"] = np.arange(len(table)) == best
    # paired: how far each candidate is from the choice, and whether that gap exceeds resampling noise
    table["validation_kl_gap"] = table["validation_kl"] - table.loc[best, "validation_kl"]
    table["validation_kl_gap_se"] = [
        float((b - boot[best]).std(ddof=1)) if n_bootstrap > 1 else float("nan") for b in boot
    ]
    choice = grid_of[best]
    chosen_epochs = max(int(table.loc[best, "best_epoch"]), 1)
    final = None
    if refit:
        # the whole training period, for the epoch count the validation optimum picked
        final = _build(
            choice,
            validation_fraction=0.0,
            refit=False,
            **{**shared, "epochs": chosen_epochs, "patience": 10**6, "max_seconds": None},
        )
        final.fit(pd.DataFrame(x, columns=list(assets)))
    validation_dates = (dates[n_fit], dates[-1]) if dates else None
    return ModelSelection(
        table=table,
        choice=choice,
        epochs=chosen_epochs,
        model=final,
        candidates=fitted,
        n_fit=n_fit,
        n_validation=n_validation,
        validation_dates=validation_dates,
        seconds=time.perf_counter() - started,
    )


def select_from_config(
    train: ArrayLike | pd.DataFrame,
    model: dict[str, Any],
    *,
    epochs: int = 2000,
    circuit: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    candidates: tuple[Candidate, ...] | list[Candidate] | None = None,
    last_training_date: dt.date | str | None = None,
) -> ModelSelection:
    """:func:`select_model` driven by the pipeline's ``model`` section (:class:`~quantum_scenarios.config.ModelConfig`).

    Uses ``validation_fraction``, ``check_every``, ``patience`` and ``max_seconds`` from the
    section; ``epochs``, ``circuit`` and ``training`` are the pipeline's sections as dicts
    (``training`` without ``epochs``).

    Raises:
        ValueError: ``model.validation_fraction`` is 0 (selection needs a validation block).
    """
    m = dict(model)
    fraction = float(m.get("validation_fraction", 0.2))
    if fraction <= 0:
        raise ValueError("model.selection='validation' needs model.validation_fraction > 0 (e.g. 0.2)")
    options = {k: v for k, v in dict(training or {}).items() if k != "epochs"}
    return select_model(
        train,
        candidates,
        validation_fraction=fraction,
        epochs=int(epochs),
        check_every=int(m.get("check_every", 100)),
        patience=int(m.get("patience", 3)),
        max_seconds=m.get("max_seconds"),
        circuit=circuit,
        training=options,
        last_training_date=last_training_date,
    )
