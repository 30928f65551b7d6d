"""Distances between distributions on the encoding grid, and between correlation matrices.

Distributions are 1-D arrays over basis-state indices (numpy arrays, lists, or torch tensors,
which are detached). Every distribution argument is checked (finite, non-negative, not all
zero) and normalised to sum 1 first, so counts can be passed as they are. Logarithms are
natural.

:func:`metric_table` gathers them for several models against the training histogram
(in-sample) and the test histogram (out-of-sample).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from quantum_scenarios.encoding import Encoding


def _as_array(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def as_distribution(p: Any, name: str = "p") -> np.ndarray:
    """``p`` as a float64 probability vector summing to 1.

    Raises:
        ValueError: If ``p`` is not 1-D, not finite, negative (beyond -1e-12), or sums to 0.
    """
    array = _as_array(p, name).astype(float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D distribution, received shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; received NaN or inf")
    if np.any(array < -1e-12):
        raise ValueError(f"{name} must be non-negative; received minimum {array.min():.3g}")
    array = np.clip(array, 0.0, None)
    total = array.sum()
    if total <= 0:
        raise ValueError(f"{name} must have positive total mass; received all zeros")
    return array / total


def _pair(p: Any, q: Any) -> tuple[np.ndarray, np.ndarray]:
    p, q = as_distribution(p, "p"), as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must be on the same grid; received shapes {p.shape} and {q.shape}")
    return p, q


def kl_divergence(p: Any, q: Any, *, epsilon: float = 1e-10) -> float:
    """Kullback-Leibler divergence ``KL(p‖q) = Σ_x p(x) ln(p(x)/q(x))``.

    Empty-bin rule: bins with ``p(x) = 0`` contribute 0 (``0 ln 0 = 0``). Where ``p(x) > 0``
    but ``q(x)`` is below ``epsilon``, ``q(x)`` is raised to ``epsilon`` and ``q`` is then
    renormalised to sum 1, so the result is finite (about ``p(x)·ln(p(x)/ε)`` per such bin)
    instead of infinite. For the reverse direction call ``kl_divergence(q, p)``.

    Args:
        p: First distribution (the reference, e.g. the data histogram).
        q: Second distribution (e.g. the generator's).
        epsilon: Floor for ``q`` on the support of ``p``; must be in ``(0, 1)``.
    """
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), received {epsilon!r}")
    p, q = _pair(p, q)
    support = p > 0
    q = np.where(support & (q < epsilon), epsilon, q)
    q = q / q.sum()
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_divergence(p: Any, q: Any) -> float:
    """Jensen-Shannon divergence ``½KL(p‖m) + ½KL(q‖m)``, ``m = (p+q)/2``; in ``[0, ln 2]``."""
    p, q = _pair(p, q)
    m = (p + q) / 2

    def half(a: np.ndarray) -> float:
        support = a > 0
        return float(np.sum(a[support] * np.log(a[support] / m[support])))

    return float(min(max(0.5 * half(p) + 0.5 * half(q), 0.0), np.log(2)))


def total_variation(p: Any, q: Any) -> float:
    """Total variation distance ``½ Σ_x |p(x) − q(x)|``; in ``[0, 1]``."""
    p, q = _pair(p, q)
    return float(0.5 * np.abs(p - q).sum())


def classical_fidelity(p: Any, q: Any) -> float:
    """Classical fidelity (squared Bhattacharyya coefficient) ``(Σ_x √(p(x) q(x)))²``; in ``[0, 1]``."""
    p, q = _pair(p, q)
    return float(min(np.sum(np.sqrt(p * q)) ** 2, 1.0))


def state_fidelity(p_target: Any, amplitudes: Any) -> float:
    """Quantum state fidelity ``|⟨ψ_target|ψ_gen⟩|²`` with ``ψ_target = Σ_x √p(x)|x⟩``.

    Note:
        ``amplitudes`` are the generator's complex *amplitudes* (not probabilities); they are
        normalised first. The phases of ``ψ_gen`` matter: with real non-negative amplitudes this
        equals :func:`classical_fidelity`, and it is never larger.

    Args:
        p_target: Target distribution.
        amplitudes: Generator statevector, same length.
    """
    p = as_distribution(p_target, "p_target")
    psi = _as_array(amplitudes, "amplitudes").astype(complex)
    if psi.shape != p.shape:
        raise ValueError(f"amplitudes must have shape {p.shape} like p_target, received {psi.shape}")
    norm = np.linalg.norm(psi)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("amplitudes must be finite and not all zero")
    return float(min(abs(np.vdot(np.sqrt(p), psi / norm)) ** 2, 1.0))


def wasserstein_per_asset(p: Any, q: Any, encoding: Encoding) -> dict[str, float]:
    """Per-asset Wasserstein-1 distance between the marginals of ``p`` and ``q``.

    Each marginal lives on the asset's equally spaced bin centres, so
    ``W1 = Δ · Σ_k |F_p(k) − F_q(k)|`` with ``F`` the marginal CDFs and ``Δ`` the bin width;
    in units of the encoded values.
    """
    p, q = _pair(p, q)
    widths = encoding.bin_widths()
    result = {}
    for a, asset in enumerate(encoding.assets):
        cdf_p, cdf_q = np.cumsum(encoding.marginal(p, a)), np.cumsum(encoding.marginal(q, a))
        result[asset] = float(widths[a] * np.abs(cdf_p - cdf_q)[:-1].sum())
    return result


def correlation_error(c1: Any, c2: Any) -> dict[str, float]:
    """Distance between two correlation matrices: Frobenius norm and max abs of ``c1 − c2``."""
    a, b = _as_array(c1, "c1").astype(float), _as_array(c2, "c2").astype(float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape != b.shape:
        raise ValueError(f"c1 and c2 must be square matrices of the same shape, received {a.shape} and {b.shape}")
    difference = a - b
    return {"frobenius": float(np.linalg.norm(difference, "fro")), "max_abs": float(np.max(np.abs(difference)))}


def grid_correlation(p: Any, encoding: Encoding) -> np.ndarray:
    """Pearson correlation matrix ``(d, d)`` of the asset values under a grid distribution ``p``.

    Values are the bin centres. An asset whose marginal has zero variance gives NaN entries
    (as :func:`numpy.corrcoef` does).
    """
    p = as_distribution(p, "p")
    values = encoding.values()
    if values.shape[0] != p.size:
        raise ValueError(f"p must have {values.shape[0]} entries for this encoding, received {p.size}")
    centred = values - p @ values
    covariance = centred.T @ (centred * p[:, None])
    std = np.sqrt(np.diag(covariance))
    with np.errstate(invalid="ignore", divide="ignore"):
        return covariance / np.outer(std, std)


def sample_kl(
    reference: Any, generated: Any, *, bins: int = 16, epsilon: float = 1e-6, bounds: Any = None
) -> float:
    """KL(reference ‖ generated) between two samples, binned the way QUTAC's ``qugen`` does.

    Both samples are histogrammed on ``bins`` equal-width bins per dimension over the
    reference sample's min/max per dimension (or ``bounds``); generated values outside that
    range are dropped, as ``numpy.histogramdd`` does. With ``p``, ``q`` the normalised
    histograms, ``KL = sum p log((p + epsilon) / (q + epsilon))``
    (``qugen.main.data.helper.kl_divergence_from_data``), so empty generated bins cost a
    finite amount.

    Args:
        reference: Shape ``(n, d)``, e.g. the training data.
        generated: Shape ``(m, d)``, the model's samples.
        bins: Bins per dimension.
        epsilon: Added to both histograms inside the logarithm.
        bounds: Optional ``(low, high)`` per dimension.

    Returns:
        The divergence (nats).
    """
    x = np.asarray(reference, dtype=float)
    y = np.asarray(generated, dtype=float)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"reference and generated must be (n, d) arrays with the same d; received {x.shape}, {y.shape}")
    ranges = [(x[:, j].min(), x[:, j].max()) for j in range(x.shape[1])] if bounds is None else list(bounds)
    p = np.histogramdd(x, bins=bins, range=ranges)[0]
    q = np.histogramdd(y, bins=bins, range=ranges)[0]
    if q.sum() == 0:
        raise ValueError("no generated value falls inside the reference range")
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log((p + epsilon) / (q + epsilon))))


METRIC_COLUMNS = ("kl", "kl_reverse", "js", "tv", "fidelity", "w1", "corr_max_abs", "corr_frobenius")


def _row(target: np.ndarray, model: np.ndarray, encoding: Any) -> dict[str, float]:
    w1 = wasserstein_per_asset(target, model, encoding)
    w1_values = np.asarray(list(w1.values()) if isinstance(w1, Mapping) else w1, dtype=float)
    corr = correlation_error(grid_correlation(target, encoding), grid_correlation(model, encoding))
    return {
        "kl": float(kl_divergence(target, model)),
        "kl_reverse": float(kl_divergence(model, target)),
        "js": float(js_divergence(target, model)),
        "tv": float(total_variation(target, model)),
        "fidelity": float(classical_fidelity(target, model)),
        "w1": float(w1_values.mean()),
        "corr_max_abs": float(corr["max_abs"]),
        "corr_frobenius": float(corr["frobenius"]),
    }


def metric_table(
    target_train: ArrayLike,
    target_test: ArrayLike,
    models: Mapping[str, ArrayLike],
    encoding: Any,
) -> pd.DataFrame:
    """Grid metrics of each model against the training and the test histograms.

    Args:
        target_train: Training histogram on the grid, shape ``(2**N,)`` (basis-state order).
        target_test: Test histogram on the same grid (e.g. ``encoding.histogram(test)``).
        models: Model name -> probabilities on the grid (``"qgan"``, ``"gaussian"``,
            ``"bootstrap"``, ...).
        encoding: The :class:`~quantum_scenarios.encoding.Encoding` defining the grid.

    Returns:
        One row per model and sample (``"in"`` = against the training histogram, ``"out"`` =
        against the test histogram), columns ``model, sample`` and :data:`METRIC_COLUMNS`:
        ``kl`` is ``KL(target || model)``, ``kl_reverse`` is ``KL(model || target)``, ``w1`` the
        mean over assets of the per-asset Wasserstein-1 distance, ``corr_*`` the error of the
        model's grid correlation matrix against the target's.
    """
    if not models:
        raise ValueError("metric_table needs at least one model; received none")
    size = 2 ** int(encoding.num_qubits_total)
    targets = {"in": np.asarray(target_train, dtype=float), "out": np.asarray(target_test, dtype=float)}
    for label, array in [("target_train", targets["in"]), ("target_test", targets["out"])] + [
        (f"model {name!r}", np.asarray(p, dtype=float)) for name, p in models.items()
    ]:
        if array.shape != (size,):
            raise ValueError(
                f"{label} must be probabilities on the {size}-state grid, shape ({size},); received {array.shape}"
            )
    rows = []
    for name, probabilities in models.items():
        p = np.asarray(probabilities, dtype=float)
        for sample, target in targets.items():
            rows.append({"model": name, "sample": sample, **_row(target, p, encoding)})
    return pd.DataFrame(rows, columns=["model", "sample", *METRIC_COLUMNS])


__all__ = [
    "METRIC_COLUMNS",
    "as_distribution",
    "classical_fidelity",
    "correlation_error",
    "grid_correlation",
    "js_divergence",
    "kl_divergence",
    "metric_table",
    "sample_kl",
    "state_fidelity",
    "total_variation",
    "wasserstein_per_asset",
]
