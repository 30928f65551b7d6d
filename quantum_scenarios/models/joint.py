"""Joint mode (the original pipeline's): the qGAN learns the d-asset joint histogram directly.

``n`` qubits per asset, ``2**(n d)`` cells, the multivariate-normal qiskit-finance prior
fitted to the data, draws dequantised by a training value of the generated cell (uniform
where it held none). Right for 1-4 assets; beyond that use factor mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios.encoding import encode, encode_like
from quantum_scenarios.models.base import ScenarioModel, check_values
from quantum_scenarios.models.training import chronological_split, fit_grid_generator
from quantum_scenarios.scenarios.trajectories import generator_draw

__all__ = ["JointModel"]


class JointModel(ScenarioModel):
    """The joint-histogram qGAN with validation early stopping.

    Args:
        num_qubits: Qubits per asset.
        loader: Prior loader (``"normal"`` default).
        quantiles, margin: Grid bounds as :func:`~quantum_scenarios.encoding.encode`.
        dequantise: ``"empirical"`` (default) or ``"uniform"`` within the generated cell.
        validation_fraction, epochs, check_every, patience, max_seconds, smoothing, circuit,
        training, refit, measure_memory: As :class:`~quantum_scenarios.models.copula.CopulaModel`.
    """

    mode = "joint"

    def __init__(
        self,
        *,
        num_qubits: int = 3,
        loader: str = "normal",
        quantiles: tuple[float, float] = (0.005, 0.995),
        margin: float = 0.1,
        dequantise: str = "empirical",
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
        if dequantise not in ("uniform", "empirical"):
            raise ValueError(f"dequantise must be 'uniform' or 'empirical'; received {dequantise!r}")
        self.num_qubits = int(num_qubits)
        self.encode_options = {"num_qubits": self.num_qubits, "loader": loader, "quantiles": quantiles, "margin": margin}
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

    def fit(self, train: ArrayLike | pd.DataFrame) -> "JointModel":
        x, self.assets = check_values(train)
        fit_rows, validation_rows = chronological_split(x, self.validation_fraction)
        frame = pd.DataFrame(fit_rows, columns=list(self.assets))
        grid = encode(frame, **self.encode_options)
        validation = None
        if validation_rows is not None:
            validation = encode_like(pd.DataFrame(validation_rows, columns=list(self.assets)), grid.contract).target
        self.selection = fit_grid_generator(grid, validation_target=validation, **self.options)
        final = self.selection
        self.grid = grid
        if self.refit and validation_rows is not None:
            self.grid = encode(pd.DataFrame(x, columns=list(self.assets)), **self.encode_options)
            options = {**self.options, "epochs": max(self.selection.best_epoch, 1), "patience": 10**6}
            final = fit_grid_generator(self.grid, validation_target=None, **options)
            final.seconds += self.selection.seconds
            final.epochs_run += self.selection.epochs_run  # selection rounds + refit
        self.fit_result = final
        self.probabilities = final.probabilities
        # the rows the final grid was built on: without a refit the validation rows stay unseen,
        # so empirical draws must not replay them either
        reference = fit_rows if final is self.selection else x
        self._draw_cells = generator_draw(
            self.grid, self.probabilities, reference=reference if self.dequantise == "empirical" else None
        )
        self.fitted = True
        return self

    def _draw(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self._draw_cells(k, rng)

    def summary(self) -> dict[str, Any]:
        out = {"mode": self.mode, "num_qubits_per_asset": self.num_qubits, "dequantise": self.dequantise}
        out.update(self.fit_result.summary())
        out["selection"] = self.selection.summary()
        out["epochs_to_convergence"] = self.selection.best_epoch
        return out
