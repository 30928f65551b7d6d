"""Checks that depend on the configuration *and* the data, run right after ingest.

A run that cannot succeed should fail in seconds, before validation, encoding
and training, with a message that names the option to change. The ``qscen``
command runs :func:`preflight` on the ingested data before it starts any
Prefect machinery.

Checks:

* **the model's register**, by mode, must not exceed
  :data:`quantum_scenarios.encoding.MAX_TOTAL_QUBITS` (its ``2**N`` histogram and
  statevector must fit in memory):

  - ``joint``: ``assets × encoding.num_qubits`` (the joint grid is what it trains);
  - ``copula``: ``assets × model.copula_qubits``;
  - ``factor``: ``factors × model.copula_qubits`` (``factors`` is ``model.factors``, at most
    ``assets − 1``); any number of assets;
  - ``hybrid``: ``model.latent_qubits``.

  Other modes never build the joint ``assets × encoding.num_qubits`` grid: their metrics are
  taken pairwise (:mod:`quantum_scenarios.evaluation.grids`), so ``encoding.num_qubits`` only
  sets the bins per asset there;
* **the cut-off** ``evaluation.split_date`` must leave returns on both sides, and more
  training returns than assets (a covariance, PCA factors and the rivals need them);
* **sparsity** (a warning, not an error): the share of grid cells that hold at
  least one training observation. A grid far larger than the data (for example
  790 of 32,768 cells) trains slowly and learns mostly empty cells.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from quantum_scenarios.encoding import MAX_TOTAL_QUBITS

__all__ = ["Preflight", "grid_occupancy", "preflight", "SPARSE_SHARE"]

SPARSE_SHARE = 0.05
"""Warn when fewer than this share of the grid cells hold training data."""

MIN_SIDE = 2
"""Fewest returns each side of the cut-off must keep."""


@dataclass
class Preflight:
    """Outcome of :func:`preflight`: figures and warnings (errors raise).

    Attributes:
        total_qubits: qubits of the register the model trains (joint: assets × qubits per asset;
            see the module docstring for the other modes).
        train_rows: returns up to and including the cut-off.
        test_rows: returns after the cut-off.
        occupied_cells: joint grid cells holding at least one training return (joint mode;
            ``None`` for modes that do not train on the joint grid).
        grid_cells: ``2**total_qubits`` in joint mode, else ``None``.
        warnings: one line each.
        mode: the resolved model mode checked.
    """

    total_qubits: int
    train_rows: int
    test_rows: int
    occupied_cells: int | None
    grid_cells: int | None
    warnings: list[str] = field(default_factory=list)
    mode: str = "joint"


def grid_occupancy(
    values: pd.DataFrame, num_qubits: int, quantiles: tuple[float, float] = (0.005, 0.995), margin: float = 0.0
) -> tuple[int, int]:
    """Cells of the ``2**n``-per-asset grid holding at least one row of ``values``.

    Uses the encoding's default bounds (quantiles widened by ``margin``; values beyond
    go to the edge bins), so the figure matches what the encode stage builds for
    returns.

    Returns:
        ``(occupied, total)``.
    """
    x = values.to_numpy(dtype=np.float64)
    bins = 2 ** int(num_qubits)
    codes = np.zeros(len(x), dtype=np.int64)
    for j in range(x.shape[1]):
        lo, hi = np.quantile(x[:, j], quantiles)
        width = hi - lo
        lo, hi = lo - margin * width / 2, hi + margin * width / 2
        edges = np.linspace(lo, hi, bins + 1)[1:-1]
        codes = codes * bins + np.digitize(x[:, j], edges)
    return int(np.unique(codes).size), int(bins ** x.shape[1])


def preflight(
    returns: pd.DataFrame,
    *,
    num_qubits: int,
    split_date: dt.date | str,
    quantiles: tuple[float, float] = (0.005, 0.995),
    margin: float = 0.0,
    mode: str = "joint",
    factors: int = 3,
    copula_qubits: int = 4,
    latent_qubits: int = 4,
) -> Preflight:
    """Check config limits against the ingested returns.

    Args:
        returns: wide returns (one column per asset) from ingest.
        num_qubits: ``encoding.num_qubits``.
        split_date: ``evaluation.split_date``.
        quantiles: ``encoding.quantiles``.
        margin: ``encoding.margin``.
        mode: the resolved ``model.mode``. Only ``joint`` trains on the joint asset grid, so the
            sparse-grid warning is given for it alone; other modes train on their own grid and use
            their metrics pairwise; the qubit limit applies to each mode's own register.
        factors: ``model.factors`` (factor mode).
        copula_qubits: ``model.copula_qubits`` (copula and factor modes).
        latent_qubits: ``model.latent_qubits`` (hybrid mode).

    Raises:
        ValueError: a register above the qubit limit, or a cut-off that leaves one side (almost)
            empty or fewer training returns than assets; the message names the option to change.
    """
    assets = [str(c) for c in returns.columns]
    total = _check_register(assets, mode, int(num_qubits), int(factors), int(copula_qubits), int(latent_qubits))
    stamp = pd.Timestamp(split_date)
    index = pd.DatetimeIndex(returns.index)
    train_rows = int((index <= stamp).sum())
    test_rows = int(len(index) - train_rows)
    if train_rows < MIN_SIDE or test_rows < MIN_SIDE:
        side = "training (up to and including" if train_rows < MIN_SIDE else "evaluation (after"
        first, last = index.min().date(), index.max().date()
        middle = (index.min() + (index.max() - index.min()) * 0.7).date()
        raise ValueError(
            f"evaluation.split_date {stamp.date()} leaves {min(train_rows, test_rows)} return(s) for "
            f"{side} the cut-off); the data runs from {first} to {last}. Set --set "
            f"evaluation.split_date=YYYY-MM-DD inside that range, e.g. {middle}"
        )
    if train_rows <= len(assets):
        raise ValueError(
            f"evaluation.split_date {stamp.date()} leaves {train_rows} training returns for {len(assets)} assets; "
            "the model, the covariance and the rivals need more returns than assets. Move the cut-off later "
            "(--set evaluation.split_date=YYYY-MM-DD) or select fewer assets (--assets A,B,C)"
        )
    if mode != "joint":  # the joint asset grid is never built: nothing to count on it
        return Preflight(total, train_rows, test_rows, None, None, mode=mode)
    train = returns.loc[index <= stamp]
    occupied, cells = grid_occupancy(train, num_qubits, quantiles, margin)
    result = Preflight(total, train_rows, test_rows, occupied, cells, mode=mode)
    if cells > 64 and occupied / cells < SPARSE_SHARE:
        result.warnings.append(
            f"sparse grid: only {occupied:,} of {cells:,} grid cells ({occupied / cells:.1%}) hold training data "
            f"({len(assets)} assets × {num_qubits} qubits, {train_rows:,} training returns); training will be slow "
            "and mostly learn empty cells. Lower encoding.num_qubits, select fewer assets (--assets), or model "
            "the joint structure with a factor or copula mode where available."
        )
    return result


def _check_register(
    assets: list[str], mode: str, num_qubits: int, factors: int, copula_qubits: int, latent_qubits: int
) -> int:
    """Qubits of the register ``mode`` trains; raises naming the option when above the limit."""
    d = len(assets)
    found = f"found {d} assets: {', '.join(assets[:8])}{', ...' if d > 8 else ''}"
    if mode == "joint":
        total = d * num_qubits
        if total > MAX_TOTAL_QUBITS:
            fit = max(1, MAX_TOTAL_QUBITS // max(d, 1))
            raise ValueError(
                f"{d} assets × {num_qubits} qubits = {total} > {MAX_TOTAL_QUBITS} qubits: lower encoding.num_qubits "
                f"(--set encoding.num_qubits={fit}), select fewer assets (--assets A,B,C; {found}), or use a mode "
                "whose register does not grow with the assets (--set model.mode=factor); joint mode trains on the "
                "joint grid of every asset"
            )
        return total
    if mode == "copula":
        total = d * copula_qubits
        if total > MAX_TOTAL_QUBITS:
            fit = max(1, MAX_TOTAL_QUBITS // max(d, 1))
            raise ValueError(
                f"copula mode: {d} assets × model.copula_qubits {copula_qubits} = {total} > {MAX_TOTAL_QUBITS} "
                f"qubits; lower model.copula_qubits (--set model.copula_qubits={fit}), use factor mode "
                f"(--set model.mode=factor), or select fewer assets (--assets A,B,C; {found})"
            )
        return total
    if mode == "factor":
        if d < 2:
            raise ValueError(f"factor mode needs at least 2 assets ({found}); use --set model.mode=joint")
        k = min(factors, d - 1)  # as model_from_config caps it
        total = k * copula_qubits
        if total > MAX_TOTAL_QUBITS:
            raise ValueError(
                f"factor mode: {k} factors × model.copula_qubits {copula_qubits} = {total} > {MAX_TOTAL_QUBITS} "
                f"qubits; lower model.factors (--set model.factors={max(1, MAX_TOTAL_QUBITS // copula_qubits)}) "
                f"or model.copula_qubits (--set model.copula_qubits={max(1, MAX_TOTAL_QUBITS // k)})"
            )
        return total
    if mode == "hybrid":
        if latent_qubits > MAX_TOTAL_QUBITS:
            raise ValueError(
                f"hybrid mode: model.latent_qubits {latent_qubits} > {MAX_TOTAL_QUBITS} qubits; lower it "
                f"(--set model.latent_qubits={MAX_TOTAL_QUBITS})"
            )
        return latent_qubits
    raise ValueError(f"mode must be a resolved model mode (joint, copula, factor, hybrid); received {mode!r}")
