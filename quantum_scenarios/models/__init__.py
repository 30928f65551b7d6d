"""Generative modes on top of the quantum core: joint, copula, factor, hybrid.

Every mode is a :class:`~quantum_scenarios.models.base.ScenarioModel`: ``fit(train)`` on the
training period (model selection on its last ``validation_fraction``, never the test period),
then ``draw(k, rng) -> (k, d)``.

* ``joint`` (:class:`JointModel`): the d-asset joint histogram, ``n`` qubits per asset;
* ``copula`` (:class:`CopulaModel`): marginals apart, the qGAN learns the copula on a uniform grid;
* ``factor`` (:class:`FactorModel`): PCA of the values, the copula qGAN on ``k`` factors,
  idiosyncratic Student-t or bootstrap; the automatic choice above ``factor_threshold`` assets;
* ``hybrid`` (:class:`HybridModel`): quantum latent + PyTorch decoder, continuous output.
"""

from __future__ import annotations

from typing import Any

from quantum_scenarios.models.base import ScenarioModel
from quantum_scenarios.models.copula import CopulaModel
from quantum_scenarios.models.factor import FactorModel
from quantum_scenarios.models.hybrid import HybridModel
from quantum_scenarios.models.joint import JointModel

__all__ = [
    "MODEL_MODES",
    "CopulaModel",
    "FactorModel",
    "HybridModel",
    "JointModel",
    "ScenarioModel",
    "choose_mode",
    "make_model",
]

MODEL_MODES = ("auto", "joint", "copula", "factor", "hybrid")
_CLASSES = {"joint": JointModel, "copula": CopulaModel, "factor": FactorModel, "hybrid": HybridModel}


def choose_mode(mode: str, n_assets: int, *, factor_threshold: int = 4) -> str:
    """Resolve ``"auto"``: ``joint`` up to ``factor_threshold`` assets, ``factor`` above."""
    if mode not in MODEL_MODES:
        raise ValueError(f"model mode must be one of {MODEL_MODES}; received {mode!r}")
    if n_assets < 1:
        raise ValueError(f"n_assets must be >= 1; received {n_assets}")
    if mode != "auto":
        if mode == "factor" and n_assets < 2:
            raise ValueError("factor mode needs at least 2 assets; use joint or copula for one asset")
        return mode
    return "factor" if n_assets > factor_threshold else "joint"


def make_model(mode: str, n_assets: int, *, factor_threshold: int = 4, **options: Any) -> ScenarioModel:
    """An unfitted model of the resolved mode with its options (see each class)."""
    resolved = choose_mode(mode, n_assets, factor_threshold=factor_threshold)
    return _CLASSES[resolved](**options)
