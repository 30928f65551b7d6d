"""Classical baselines the qGAN is compared against, on the same grid and as samplers.

* **Gaussian**: a multivariate normal fitted to the training data (sample mean and
  covariance), integrated exactly over each grid cell.
* **Bootstrap**: the historical distribution of the training data: on the grid this is
  the training histogram; as a sampler it resamples training rows with replacement.

Grid distributions are returned in basis-state order (the order of
``Encoding.target``), so every metric compares like with like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

__all__ = ["bootstrap_baseline", "bootstrap_sampler", "gaussian_baseline", "gaussian_sampler"]

Draw = Callable[[int, np.random.Generator], np.ndarray]


def _check_train(train: ArrayLike | pd.DataFrame, d: int | None = None) -> np.ndarray:
    x = np.asarray(train, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"train must have shape (m, d): one row per observation; received {x.shape}")
    if d is not None and x.shape[1] != d:
        raise ValueError(f"train must have one column per encoded asset; expected {d}, received {x.shape[1]}")
    if x.shape[0] <= x.shape[1]:
        raise ValueError(
            f"train needs more observations than assets to fit a covariance; received {x.shape[0]} rows "
            f"for {x.shape[1]} assets"
        )
    if not np.all(np.isfinite(x)):
        row = int(np.argwhere(~np.isfinite(x))[0, 0])
        raise ValueError(f"train must be finite; row {row} holds NaN or inf")
    return x


def _fit_normal(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    cov = np.atleast_2d(np.cov(x, rowvar=False))
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            f"the training covariance is singular (eigenvalues {np.linalg.eigvalsh(cov).round(12).tolist()}); "
            "drop duplicate or perfectly correlated assets"
        ) from exc
    return mean, cov


def gaussian_baseline(
    train: ArrayLike | pd.DataFrame,
    encoding: Any,
    *,
    tolerance: float = 1e-6,
    seed: int = 0,
) -> np.ndarray:
    """A multivariate normal fitted to ``train``, integrated over the encoding's grid cells.

    The outer cells extend to ``-inf`` / ``+inf``, just as data outside the bounds are
    clipped into the edge bins, so the result sums to one. Cell masses are obtained by
    inclusion-exclusion (successive differences along each axis) of the normal CDF on the
    grid of inner bin edges.

    Args:
        train: Training values, shape ``(m, d)``, in the encoding's asset order and space
            (e.g. standardised residuals).
        encoding: The :class:`~quantum_scenarios.encoding.Encoding` whose grid to use.
        tolerance: Absolute error tolerance of scipy's multivariate normal CDF (``d >= 2``);
            exact ``scipy.stats.norm.cdf`` for one asset.
        seed: Seed of scipy's randomised quasi-Monte-Carlo CDF integration (``d >= 2``).

    Returns:
        Probabilities in basis-state order, shape ``(2**N,)``, summing to one.
    """
    edges = [np.asarray(e, dtype=float) for e in encoding.contract.bin_edges]
    d = len(edges)
    x = _check_train(train, d)
    mean, cov = _fit_normal(x)
    # CDF evaluation points per axis: inner edges, then +inf (the -inf row is identically 0).
    axes = [np.r_[e[1:-1], np.inf] for e in edges]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    if d == 1:
        cdf = stats.norm.cdf(mesh[..., 0], loc=mean[0], scale=np.sqrt(cov[0, 0]))
    else:
        flat = mesh.reshape(-1, d)
        cdf = stats.multivariate_normal.cdf(
            flat, mean=mean, cov=cov, abseps=tolerance, releps=0.0, rng=np.random.default_rng(seed)
        ).reshape(mesh.shape[:-1])
    cells = cdf
    for axis in range(d):
        cells = np.diff(cells, axis=axis, prepend=0.0)
    cells = np.clip(cells, 0.0, None)
    cells = cells / cells.sum()
    centres = np.stack(
        np.meshgrid(*[np.asarray(c, dtype=float) for c in encoding.contract.bin_centres], indexing="ij"), axis=-1
    ).reshape(-1, d)
    probabilities = np.zeros(cells.size)
    probabilities[encoding.digitize(centres)] = cells.ravel()
    return probabilities


def bootstrap_baseline(train: ArrayLike | pd.DataFrame, encoding: Any) -> np.ndarray:
    """The historical bootstrap on the grid: the training histogram, shape ``(2**N,)``.

    Args:
        train: Training values, shape ``(m, d)``, in the encoding's asset order and space.
        encoding: The :class:`~quantum_scenarios.encoding.Encoding` whose grid to use.

    Returns:
        Probabilities in basis-state order (out-of-bounds values clipped into edge bins).
    """
    x = _check_train(train, len(encoding.contract.bin_edges))
    return np.asarray(encoding.histogram(x), dtype=float)


def gaussian_sampler(train: ArrayLike | pd.DataFrame) -> Draw:
    """A draw callable sampling the multivariate normal fitted to ``train`` (continuous, not binned).

    Args:
        train: Training values, shape ``(m, d)``.

    Returns:
        ``draw(k, rng) -> (k, d)``; the randomness comes from ``rng`` (seeded by the caller).
    """
    mean, cov = _fit_normal(_check_train(train))
    chol = np.linalg.cholesky(cov)

    def draw(k: int, rng: np.random.Generator) -> np.ndarray:
        return mean + rng.standard_normal((int(k), mean.size)) @ chol.T

    return draw


def bootstrap_sampler(train: ArrayLike | pd.DataFrame) -> Draw:
    """A draw callable resampling training rows with replacement (joint days kept together).

    Args:
        train: Training values, shape ``(m, d)``.

    Returns:
        ``draw(k, rng) -> (k, d)``; the randomness comes from ``rng`` (seeded by the caller).
    """
    x = _check_train(train).copy()

    def draw(k: int, rng: np.random.Generator) -> np.ndarray:
        return x[rng.integers(0, x.shape[0], size=int(k))]

    return draw
