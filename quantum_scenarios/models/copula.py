"""Copula mode: marginals apart, the qGAN learns the dependence on the unit cube.

Each asset's values go through a probability-integral transform to uniforms (empirical or
fitted Student-t marginal); the qGAN learns their joint distribution, the copula, on a
uniform grid of ``2**n`` bins per asset starting from the independence copula (a Hadamard
loader: with ``ry_cz`` at zero angles the generator *is* the uniform distribution). A draw
picks a cell from the generator, a uniform point inside it, and maps each coordinate back
through the inverse marginal. This is the variant QUTAC found best (arXiv:2301.09363).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios.encoding import encode, encode_like
from quantum_scenarios.models.base import ScenarioModel, check_values
from quantum_scenarios.models.marginals import fit_marginals
from quantum_scenarios.models.training import GridFit, chronological_split, fit_grid_generator
from quantum_scenarios.scenarios.trajectories import generator_draw

__all__ = ["CopulaModel", "pseudo_observations"]


def pseudo_observations(x: np.ndarray, marginals: list) -> np.ndarray:
    """Uniforms ``u_ij = F_j(x_ij)``, kept strictly inside ``(0, 1)``."""
    u = np.column_stack([m.cdf(x[:, j]) for j, m in enumerate(marginals)])
    return np.clip(u, 1e-9, 1 - 1e-9)


class CopulaModel(ScenarioModel):
    """Marginals + a qGAN copula on the uniform grid.

    Args:
        num_qubits: Qubits per asset on the uniform grid (``2**n`` bins each).
        marginal: ``"empirical"`` (default) or ``"t"``.
        dequantise: Where a draw lands inside its generated cell: ``"uniform"`` (default,
            independently uniform per asset) or ``"empirical"`` (a training point of that cell,
            uniform where it held none). ``"empirical"`` keeps the within-cell dependence but
            mostly replays training days on fine grids.
        validation_fraction: Last share of the training rows held out for early stopping.
        epochs, check_every, patience, max_seconds, smoothing: As
            :func:`~quantum_scenarios.models.training.fit_grid_generator`.
        circuit: Generator circuit options (``reps``, ``entanglement``, ``seed``...).
        training: ``train_qgan`` options (loss, learning rates, seed...).
        refit: After selecting the epoch count on the validation split, retrain on all training
            rows for that many epochs (the selection never sees the test period either way).
        measure_memory: Trace allocations while training.
    """

    mode = "copula"

    def __init__(
        self,
        *,
        num_qubits: int = 4,
        marginal: str = "empirical",
        dequantise: str = "uniform",
        validation_fraction: float = 0.2,
        epochs: int = 2000,
        check_every: int = 100,
        patience: int = 3,
        max_seconds: float | None = None,
        smoothing: float = 0.0,
        circuit: dict[str, Any] | None = None,
        training: dict[str, Any] | None = None,
        refit: bool = True,
        measure_memory: bool = True,
    ) -> None:
        super().__init__()
        self.num_qubits = int(num_qubits)
        self.marginal = marginal
        if dequantise not in ("uniform", "empirical"):
            raise ValueError(f"dequantise must be 'uniform' or 'empirical'; received {dequantise!r}")
        self.dequantise = dequantise
        self.validation_fraction = float(validation_fraction)
        self.options = {
            "epochs": int(epochs),
            "check_every": int(check_every),
            "patience": int(patience),
            "max_seconds": max_seconds,
            "smoothing": float(smoothing),
            "circuit": dict(circuit or {}),
            "training": dict(training or {}),
            "measure_memory": measure_memory,
        }
        self.refit = bool(refit)

    def _uniform_frame(self, u: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(u, columns=list(self.assets))

    def fit(self, train: ArrayLike | pd.DataFrame) -> "CopulaModel":
        x, self.assets = check_values(train)
        fit_rows, validation_rows = chronological_split(x, self.validation_fraction)
        marginals = fit_marginals(fit_rows, self.marginal)
        u_fit = pseudo_observations(fit_rows, marginals)
        grid = encode(
            self._uniform_frame(u_fit),
            num_qubits=self.num_qubits,
            bounds=[(0.0, 1.0)] * x.shape[1],
            loader="uniform",
            transform="copula_uniform",
        )
        validation = None
        if validation_rows is not None:
            validation = encode_like(self._uniform_frame(pseudo_observations(validation_rows, marginals)), grid.contract).target
        selection = fit_grid_generator(grid, validation_target=validation, **self.options)
        self.selection = selection
        final: GridFit = selection
        self.marginals = marginals
        self.grid = grid
        if self.refit and validation_rows is not None:
            self.marginals = fit_marginals(x, self.marginal)
            self.grid = encode_like(self._uniform_frame(pseudo_observations(x, self.marginals)), grid.contract)
            options = {**self.options, "epochs": max(selection.best_epoch, 1), "patience": 10**6}
            final = fit_grid_generator(self.grid, validation_target=None, **options)
            final.seconds += selection.seconds
            final.epochs_run += selection.epochs_run  # selection rounds + refit
        self.fit_result = final
        self._u_train = pseudo_observations(x, self.marginals)
        self.set_dequantise(self.dequantise)
        self.probabilities = final.probabilities
        self.fitted = True
        return self

    def set_dequantise(self, option: str) -> "CopulaModel":
        """Switch where draws land inside the generated cell (same trained generator)."""
        if option not in ("uniform", "empirical"):
            raise ValueError(f"dequantise must be 'uniform' or 'empirical'; received {option!r}")
        self.dequantise = option
        self._draw_cells = generator_draw(
            self.grid, self.fit_result.probabilities, reference=self._u_train if option == "empirical" else None
        )
        return self

    def draw_uniforms(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` draws of the learned copula, uniform within each generated cell."""
        return self._draw_cells(k, rng)

    def _draw(self, k: int, rng: np.random.Generator) -> np.ndarray:
        u = np.clip(self.draw_uniforms(k, rng), 1e-9, 1 - 1e-9)
        return np.column_stack([m.ppf(u[:, j]) for j, m in enumerate(self.marginals)])

    def summary(self) -> dict[str, Any]:
        out = {"mode": self.mode, "num_qubits_per_asset": self.num_qubits, "marginal": self.marginal, "dequantise": self.dequantise}
        out.update(self.fit_result.summary())
        out["selection"] = self.selection.summary()
        out["epochs_to_convergence"] = self.selection.best_epoch
        return out
