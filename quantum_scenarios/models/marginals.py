"""Per-asset marginal distributions: the probability-integral transform and its inverse.

Copula and factor modes split a joint distribution into marginals (here) and a dependence
structure on the unit cube (learned by the qGAN). A marginal maps values to uniforms
(:meth:`cdf`, the PIT) and back (:meth:`ppf`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = ["MARGINALS", "EmpiricalMarginal", "StudentTMarginal", "fit_marginals"]

MARGINALS = ("empirical", "t")


class EmpiricalMarginal:
    """The empirical distribution of one column, linearly interpolated.

    ``cdf`` uses plotting positions ``rank / (n + 1)`` (so uniforms stay inside ``(0, 1)``) and
    ``ppf`` is its piecewise-linear inverse through the order statistics, flat beyond the
    sample's minimum and maximum.
    """

    kind = "empirical"

    def __init__(self, x: ArrayLike) -> None:
        values = np.sort(np.asarray(x, dtype=float).ravel())
        if values.size < 2 or not np.isfinite(values).all():
            raise ValueError(f"an empirical marginal needs at least 2 finite values; received {values.size}")
        self.values = values
        self.positions = np.arange(1, values.size + 1) / (values.size + 1)

    def cdf(self, x: ArrayLike) -> np.ndarray:
        return np.interp(np.asarray(x, dtype=float), self.values, self.positions)

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return np.interp(np.asarray(u, dtype=float), self.positions, self.values)

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": int(self.values.size)}


class StudentTMarginal:
    """A Student-t fitted by maximum likelihood (``scipy.stats.t.fit``): tails beyond the sample."""

    kind = "t"

    def __init__(self, x: ArrayLike) -> None:
        values = np.asarray(x, dtype=float).ravel()
        if values.size < 10 or not np.isfinite(values).all():
            raise ValueError(f"a Student-t marginal needs at least 10 finite values; received {values.size}")
        self.df, self.loc, self.scale = (float(v) for v in stats.t.fit(values))

    def cdf(self, x: ArrayLike) -> np.ndarray:
        return stats.t.cdf(np.asarray(x, dtype=float), self.df, self.loc, self.scale)

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return stats.t.ppf(np.asarray(u, dtype=float), self.df, self.loc, self.scale)

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "df": self.df, "loc": self.loc, "scale": self.scale}


def fit_marginals(x: ArrayLike, kind: str = "empirical") -> list[EmpiricalMarginal | StudentTMarginal]:
    """One fitted marginal per column of ``x`` (shape ``(m, d)``)."""
    if kind not in MARGINALS:
        raise ValueError(f"marginal must be one of {MARGINALS}; received {kind!r}")
    values = np.asarray(x, dtype=float)
    cls = EmpiricalMarginal if kind == "empirical" else StudentTMarginal
    return [cls(values[:, j]) for j in range(values.shape[1])]
