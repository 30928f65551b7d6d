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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    "model_from_config",
]

MODEL_MODES = ("auto", "joint", "copula", "factor", "hybrid")
_MODULES = {"ScenarioModel": "base", "JointModel": "joint", "CopulaModel": "copula", "FactorModel": "factor",
            "HybridModel": "hybrid"}
_CLASSES = {"joint": "JointModel", "copula": "CopulaModel", "factor": "FactorModel", "hybrid": "HybridModel"}


def __getattr__(name: str) -> Any:
    """The model classes load on first use (PEP 562): they import torch and qiskit, which
    :func:`choose_mode` (the CLI's checks run it before anything trains) does not need."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
    return __getattr__(_CLASSES[resolved])(**options)


def model_from_config(
    n_assets: int,
    model: dict[str, Any],
    *,
    num_qubits: int = 3,
    epochs: int = 2000,
    circuit: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> ScenarioModel:
    """An unfitted model from the pipeline's ``model`` section (:class:`~quantum_scenarios.config.ModelConfig`).

    Args:
        n_assets: Number of assets (resolves ``mode="auto"``).
        model: The ``model`` section as a dict.
        num_qubits: Qubits per asset of joint mode (the ``encoding`` section).
        epochs: Largest number of epochs (the ``training`` section).
        circuit: ``build_generator`` options (the ``circuit`` section).
        training: ``train_qgan`` options (the ``training`` section, without ``epochs``).
    """
    m = dict(model)
    mode = choose_mode(m.get("mode", "auto"), n_assets, factor_threshold=int(m.get("factor_threshold", 4)))
    selection = {
        "validation_fraction": float(m.get("validation_fraction", 0.2)),
        "check_every": int(m.get("check_every", 100)),
        "patience": int(m.get("patience", 3)),
        "max_seconds": m.get("max_seconds"),
    }
    grid = {**selection, "epochs": int(epochs), "smoothing": float(m.get("smoothing", 0.0)),
            "circuit": dict(circuit or {}), "training": dict(training or {})}
    JointModel, CopulaModel, FactorModel, HybridModel = (  # noqa: N806 - the classes, loaded lazily
        __getattr__(name) for name in ("JointModel", "CopulaModel", "FactorModel", "HybridModel"))
    if mode == "joint":
        return JointModel(num_qubits=num_qubits, **grid)
    copula = {**grid, "num_qubits": int(m.get("copula_qubits", 4)), "marginal": m.get("marginal", "empirical")}
    if mode == "copula":
        return CopulaModel(**copula)
    if mode == "factor":
        factors = min(int(m.get("factors", 3)), n_assets - 1)
        return FactorModel(factors=factors, idiosyncratic=m.get("idiosyncratic", "t"), copula=copula)
    return HybridModel(latent_qubits=int(m.get("latent_qubits", 4)), epochs=int(epochs), **selection)
