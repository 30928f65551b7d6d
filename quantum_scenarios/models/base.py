"""What every scenario model offers: fit on training values, then draw joint one-day values."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["ScenarioModel", "check_values"]


def check_values(train: ArrayLike | pd.DataFrame, *, min_rows: int = 50) -> tuple[np.ndarray, tuple[str, ...]]:
    """Training values as ``(m, d)`` floats plus asset names; rejects NaN and tiny samples."""
    assets = tuple(str(c) for c in train.columns) if isinstance(train, pd.DataFrame) else None
    x = np.asarray(train, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"training values must have shape (m, d): one row per day; received {x.shape}")
    if x.shape[0] < min_rows:
        raise ValueError(f"training values need at least {min_rows} rows; received {x.shape[0]}")
    if not np.isfinite(x).all():
        row = int(np.argwhere(~np.isfinite(x))[0, 0])
        raise ValueError(f"training values must be finite; row {row} holds NaN or inf")
    return x, assets or tuple(f"x{j}" for j in range(x.shape[1]))


class ScenarioModel(ABC):
    """A generative model of joint one-day values (GARCH residuals or log returns).

    ``fit(train)`` learns from the training period (its last ``validation_fraction`` is held
    out for model selection); ``draw(k, rng)`` returns ``(k, d)`` values, so a fitted model is
    also a draw callable for :mod:`quantum_scenarios.scenarios` and for evaluation.
    """

    mode: str = "model"
    model_selection: dict[str, Any] | None = None
    """Set on a model chosen by :func:`~quantum_scenarios.models.selection.select_model`: what was tried and why."""

    def __init__(self) -> None:
        self.assets: tuple[str, ...] = ()
        self.fitted = False

    @abstractmethod
    def fit(self, train: ArrayLike | pd.DataFrame) -> "ScenarioModel": ...

    @abstractmethod
    def _draw(self, k: int, rng: np.random.Generator) -> np.ndarray: ...

    def draw(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` joint draws of shape ``(k, d)``; all randomness from ``rng``."""
        if not self.fitted:
            raise ValueError(f"the {self.mode} model is not fitted; call fit(train) first")
        if isinstance(k, bool) or int(k) != k or k < 1:
            raise ValueError(f"k must be a positive number of draws; received {k!r}")
        return self._draw(int(k), rng)

    __call__ = draw

    def summary(self) -> dict[str, Any]:
        """Training figures (epochs, time, memory, selection) and fitted structure, JSON-ready."""
        return {"mode": self.mode}
