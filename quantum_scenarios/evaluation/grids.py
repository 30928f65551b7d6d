"""Where the grid metrics are taken: the joint grid of every asset, or each asset pair's 2-D grid.

The grid metrics (KL, JS, total variation, fidelity, mode coverage) compare histograms on a
grid of ``2**n`` bins per asset. On ``d`` assets the joint grid has ``2**(n·d)`` cells: 512 for
three assets at three qubits, 32,768 for five, ``2**60`` for twenty. Past about four assets it
is hopelessly sparse (a few thousand days in tens of thousands of cells, so every model's KL is
dominated by empty cells), and past about eight it cannot be built at all.

Two grids, one interface:

* :class:`JointGrid`: today's joint grid of the :class:`~quantum_scenarios.encoding.Encoding`;
  every number equals what the metric functions give on the encoding (the same calls).
* :class:`PairwiseGrid`: every asset pair ``(i, j)``, ``i < j``, on its own 2-D grid (the
  encoding's bins, bounds and qubits for those two assets, ``2**(n_i + n_j)`` cells). A
  distribution on it is a :class:`PairwiseDistribution` (one 2-D distribution per pair). Each
  divergence or fidelity is the **mean over all pairs** of the metric on the pair's grid;
  mode coverage is the mean of the pairs' coverage. Correlation errors are exact, not
  averaged: ``corr_max_abs`` is the largest pair error and ``corr_frobenius`` the Frobenius
  norm of the whole matrix of pair errors, as on the joint grid. ``w1`` (the mean over assets
  of the per-asset Wasserstein-1) equals the joint grid's, since every asset sits in ``d − 1``
  pairs. For two assets there is one pair and every metric equals the joint one.

Why pairs: a pair's grid keeps the density a histogram needs (64 cells at three qubits for
about two thousand days), it sees the dependence that the correlation, tail-dependence and
stress figures are about, and its cost grows as ``d²`` instead of ``2**d``. What it cannot see
is structure beyond pairs (three-way co-movements that leave every pair unchanged); the joint
grid is kept wherever it is still meaningful. Written here: it composes this package's
distance functions (:mod:`.distances`) over pairs, which no library does for a binned grid.

:func:`evaluation_grid` picks the grid: joint up to ``max_assets`` assets (4 by default, the
``evaluation.joint_grid_max_assets`` option) when the encoding has its joint grid, pairwise
above, so that runs of every model mode on the same data are scored on the same grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios.evaluation.distances import METRIC_COLUMNS, classical_fidelity, kl_divergence, metric_table

__all__ = [
    "JOINT_GRID_MAX_ASSETS",
    "JointGrid",
    "PairwiseDistribution",
    "PairwiseGrid",
    "as_grid",
    "evaluation_grid",
    "joint_grid_needed",
]

JOINT_GRID_MAX_ASSETS = 4
"""Default: grid metrics on the joint grid up to this many assets, pairwise above."""

_MEAN_COLUMNS = ("kl", "kl_reverse", "js", "tv", "fidelity", "w1")


@dataclass(frozen=True)
class PairwiseDistribution:
    """A distribution seen through every asset pair: one 2-D grid distribution per pair.

    Attributes:
        pairs: ``(i, j)`` asset positions, ``i < j``, in :class:`PairwiseGrid` order.
        probabilities: Per pair, probabilities of shape ``(2**(n_i + n_j),)`` summing to 1, index
            ``bin_i · 2**n_j + bin_j`` (asset ``i`` on the most significant qubits, as on the
            joint grid).
    """

    pairs: tuple[tuple[int, int], ...]
    probabilities: tuple[np.ndarray, ...]


class _EncodingGrid:
    """What both grids share: the run's encoding, standing in for it where a grid is passed."""

    encoding: Any

    @property
    def contract(self) -> Any:
        """The encoding contract (assets, bounds, bins), so a grid stands in for its encoding."""
        return self.encoding.contract

    @property
    def assets(self) -> tuple[str, ...]:
        """Asset names, in dimension order."""
        return tuple(self.encoding.assets)


class JointGrid(_EncodingGrid):
    """The joint grid of an encoding: the metrics as the distance functions compute them there.

    Args:
        encoding: The :class:`~quantum_scenarios.encoding.Encoding` (with its joint grid).
    """

    kind = "joint"

    def __init__(self, encoding: Any) -> None:
        if not getattr(encoding, "joint", True):
            raise ValueError(
                f"a joint evaluation grid needs an encoding with its joint grid; this one of {len(encoding.assets)} "
                "assets was built per asset only (encode(joint=False)); use PairwiseGrid"
            )
        self.encoding = encoding

    @property
    def target(self) -> np.ndarray:
        """The training histogram the encoding was built from."""
        return np.asarray(self.encoding.target, dtype=float)

    @property
    def description(self) -> str:
        """E.g. ``"joint 3 assets x 3 qubits (512 cells)"``."""
        qubits = list(self.encoding.contract.num_qubits)
        size = f"{qubits[0]} qubits" if len(set(qubits)) == 1 else "+".join(map(str, qubits)) + " qubits"
        return f"joint {len(qubits)} assets x {size} ({2 ** sum(qubits):,} cells)"

    def histogram(self, x: ArrayLike) -> np.ndarray:
        """Histogram of values ``(m, d)`` on the joint grid."""
        return np.asarray(self.encoding.histogram(np.asarray(x, dtype=float)), dtype=float)

    def distribution(self, probabilities: ArrayLike) -> np.ndarray:
        """A joint grid distribution as it is (checked for its size)."""
        p = np.asarray(probabilities, dtype=float)
        size = 2 ** int(self.encoding.num_qubits_total)
        if p.shape != (size,):
            raise ValueError(f"probabilities must be on the {size}-cell joint grid, shape ({size},); received {p.shape}")
        return p

    def gaussian(self, train: ArrayLike, *, seed: int = 0) -> np.ndarray:
        """The multivariate normal fitted to ``train``, integrated over the grid cells."""
        from quantum_scenarios.evaluation.rivals import gaussian_baseline

        return gaussian_baseline(train, self.encoding, seed=seed)

    def metric_table(self, target_train: Any, target_test: Any, models: Mapping[str, Any]) -> pd.DataFrame:
        """:func:`~quantum_scenarios.evaluation.distances.metric_table` on the joint grid."""
        return metric_table(target_train, target_test, models, self.encoding)

    def kl(self, p: Any, q: Any) -> float:
        """``KL(p || q)`` on the grid."""
        return float(kl_divergence(p, q))

    def fidelity(self, p: Any, q: Any) -> float:
        """Classical fidelity on the grid."""
        return float(classical_fidelity(p, q))

    def coverage(self, model: Any, reference: Any, floor: float) -> float:
        """Share of the cells where ``reference`` has mass that hold at least ``floor`` of ``model``'s."""
        p, h = np.asarray(model, dtype=float), np.asarray(reference, dtype=float)
        return float(np.mean(p[h > 0] >= floor))


class PairwiseGrid(_EncodingGrid):
    """Every asset pair's 2-D grid; metrics are the mean over pairs (see the module docstring).

    Args:
        encoding: The run's encoding (joint or per asset only): its bounds, bins and qubits.
        train: Training values ``(m, d)`` in the encoding's asset order; their pair histograms
            are :attr:`target`.
    """

    kind = "pairwise"

    def __init__(self, encoding: Any, train: ArrayLike) -> None:
        d = len(encoding.assets)
        if d < 2:
            raise ValueError(f"a pairwise grid needs at least 2 assets; received {d} ({list(encoding.assets)})")
        self.encoding = encoding
        self.pairs: tuple[tuple[int, int], ...] = tuple(itertools.combinations(range(d), 2))
        self.sizes = tuple(2**n for n in encoding.contract.num_qubits)
        self.grids = tuple(encoding.subgrid(pair) for pair in self.pairs)
        self.target = self.histogram(train)

    @property
    def description(self) -> str:
        """E.g. ``"pairwise mean over 190 pairs, 3 qubits per asset (64 cells per pair)"``."""
        qubits = list(self.encoding.contract.num_qubits)
        if len(set(qubits)) == 1:
            return (f"pairwise mean over {len(self.pairs)} pairs, {qubits[0]} qubits per asset "
                    f"({4 ** qubits[0]:,} cells per pair)")
        return f"pairwise mean over {len(self.pairs)} pairs, qubits per asset {qubits}"

    def histogram(self, x: ArrayLike) -> PairwiseDistribution:
        """Each pair's 2-D histogram of values ``(m, d)`` (values outside the bounds in the edge bins)."""
        bins = self.encoding.bins(np.asarray(x, dtype=float))
        if bins.shape[0] == 0:
            raise ValueError("cannot histogram zero observations; received an empty array")
        cols = np.ascontiguousarray(bins.T)  # one contiguous row per asset: about 3x faster over many pairs
        probabilities = []
        for i, j in self.pairs:
            counts = np.bincount(cols[i] * self.sizes[j] + cols[j], minlength=self.sizes[i] * self.sizes[j])
            probabilities.append(counts / counts.sum())
        return PairwiseDistribution(self.pairs, tuple(probabilities))

    def distribution(self, probabilities: Any) -> PairwiseDistribution:
        """A pairwise distribution as it is, or a joint grid distribution marginalised onto every pair (exact)."""
        if isinstance(probabilities, PairwiseDistribution):
            if probabilities.pairs != self.pairs:
                raise ValueError(f"the distribution's {len(probabilities.pairs)} pairs are not this grid's {len(self.pairs)}")
            return probabilities
        p = np.asarray(probabilities, dtype=float)
        cells = int(np.prod(self.sizes, dtype=object))
        if p.shape != (cells,):
            raise ValueError(
                f"probabilities must be a PairwiseDistribution or a joint grid distribution of shape ({cells},); "
                f"received shape {p.shape}"
            )
        joint = p.reshape(self.sizes) / p.sum()
        d = len(self.sizes)
        return PairwiseDistribution(
            self.pairs,
            tuple(joint.sum(axis=tuple(a for a in range(d) if a not in (i, j))).ravel() for i, j in self.pairs),
        )

    def gaussian(self, train: ArrayLike, *, seed: int = 0) -> PairwiseDistribution:
        """The multivariate normal fitted to ``train`` on every pair's grid: its bivariate marginals, integrated."""
        from quantum_scenarios.evaluation.rivals import gaussian_baseline

        x = np.asarray(train, dtype=float)
        return PairwiseDistribution(
            self.pairs,
            tuple(gaussian_baseline(x[:, [i, j]], grid, seed=seed) for (i, j), grid in zip(self.pairs, self.grids)),
        )

    def marginals(self, distribution: PairwiseDistribution) -> list[np.ndarray]:
        """Each asset's marginal on its bins, from the first pair holding it."""
        result: list[np.ndarray | None] = [None] * len(self.sizes)
        for (i, j), p in zip(distribution.pairs, distribution.probabilities):
            grid = np.asarray(p, dtype=float).reshape(self.sizes[i], self.sizes[j])
            if result[i] is None:
                result[i] = grid.sum(axis=1)
            if result[j] is None:
                result[j] = grid.sum(axis=0)
        return [np.asarray(m) for m in result]

    def metric_table(
        self, target_train: PairwiseDistribution, target_test: PairwiseDistribution, models: Mapping[str, Any]
    ) -> pd.DataFrame:
        """The metric table on every pair's grid, aggregated over pairs.

        Columns and row order are those of
        :func:`~quantum_scenarios.evaluation.distances.metric_table`. ``kl``, ``kl_reverse``,
        ``js``, ``tv``, ``fidelity`` and ``w1`` are means over pairs; ``corr_max_abs`` is the
        largest pair's correlation error and ``corr_frobenius`` the root of the summed squared
        pair Frobenius norms (each pair's 2×2 error holds its entry twice), i.e. the norm of the
        full ``d × d`` error matrix.
        """
        if not models:
            raise ValueError("metric_table needs at least one model; received none")
        train = self.distribution(target_train)
        test = self.distribution(target_test)
        dists = {name: self.distribution(p) for name, p in models.items()}
        tables = [
            metric_table(train.probabilities[k], test.probabilities[k],
                         {name: dist.probabilities[k] for name, dist in dists.items()}, grid)
            for k, grid in enumerate(self.grids)
        ]
        stacked = pd.concat(tables, keys=range(len(tables)), names=["pair", "row"])
        grouped = stacked.groupby(level="row")
        out = tables[0][["model", "sample"]].copy()
        for column in _MEAN_COLUMNS:
            out[column] = grouped[column].mean().to_numpy()
        out["corr_max_abs"] = grouped["corr_max_abs"].max().to_numpy()
        out["corr_frobenius"] = np.sqrt(grouped["corr_frobenius"].apply(lambda s: float(np.sum(s.to_numpy() ** 2))))
        return out[["model", "sample", *METRIC_COLUMNS]].reset_index(drop=True)

    def kl(self, p: PairwiseDistribution, q: PairwiseDistribution) -> float:
        """Mean over pairs of ``KL(p || q)`` on the pair's grid."""
        return float(np.mean([kl_divergence(a, b) for a, b in zip(p.probabilities, q.probabilities)]))

    def fidelity(self, p: PairwiseDistribution, q: PairwiseDistribution) -> float:
        """Mean over pairs of the classical fidelity on the pair's grid."""
        return float(np.mean([classical_fidelity(a, b) for a, b in zip(p.probabilities, q.probabilities)]))

    def coverage(self, model: PairwiseDistribution, reference: PairwiseDistribution, floor: float) -> float:
        """Mean over pairs of the share of ``reference``'s occupied cells holding at least ``floor`` of ``model``."""
        return float(np.mean([
            np.mean(np.asarray(p)[np.asarray(h) > 0] >= floor)
            for p, h in zip(model.probabilities, reference.probabilities)
        ]))


def evaluation_grid(encoding: Any, train: ArrayLike, *, max_assets: int = JOINT_GRID_MAX_ASSETS) -> JointGrid | PairwiseGrid:
    """The grid a run's metrics are taken on: joint up to ``max_assets`` assets, pairwise above.

    The choice depends on the data only (assets, and whether the joint grid was built), not on
    the model mode, so a joint, copula or factor run on the same file is scored on the same grid.

    Args:
        encoding: The run's encoding; a per-asset one (``joint=False``) always gives pairwise.
        train: Training values ``(m, d)`` (the pairwise grid's target).
        max_assets: ``evaluation.joint_grid_max_assets``.
    """
    if int(max_assets) < 1:
        raise ValueError(f"evaluation.joint_grid_max_assets must be >= 1; received {max_assets}")
    d = len(encoding.assets)
    if d == 1 or (getattr(encoding, "joint", True) and d <= int(max_assets)):
        return JointGrid(encoding)
    return PairwiseGrid(encoding, train)


def joint_grid_needed(mode: str, assets: int, num_qubits: int, *, max_assets: int = JOINT_GRID_MAX_ASSETS) -> bool:
    """Whether a run must build the ``2**(assets·num_qubits)`` joint grid (its encode stage).

    Joint mode trains on it; other modes need it only when the metrics are taken on it (up to
    ``max_assets`` assets, and only while it fits :data:`~quantum_scenarios.encoding.MAX_TOTAL_QUBITS`).
    Otherwise the encode stage builds the per-asset grid alone (``encode(joint=False)``).

    Args:
        mode: The resolved model mode.
        assets: Number of assets.
        num_qubits: ``encoding.num_qubits``.
        max_assets: ``evaluation.joint_grid_max_assets``.
    """
    from quantum_scenarios.encoding import MAX_TOTAL_QUBITS

    if mode == "joint":
        return True
    return assets <= int(max_assets) and assets * int(num_qubits) <= MAX_TOTAL_QUBITS


def as_grid(grid_or_encoding: Any, train: ArrayLike) -> JointGrid | PairwiseGrid:
    """A grid as it is, or :func:`evaluation_grid` of an encoding with the default ``max_assets``.

    For callers that pass an encoding where a grid is meant (``comparison_table``): up to
    :data:`JOINT_GRID_MAX_ASSETS` assets that is the joint grid, exactly as before grids existed.
    """
    if isinstance(grid_or_encoding, (JointGrid, PairwiseGrid)):
        return grid_or_encoding
    return evaluation_grid(grid_or_encoding, train)
