"""Checks that depend on the configuration *and* the data, run right after ingest.

A run that cannot succeed should fail in seconds, before validation, encoding
and training, with a message that names the option to change. The ``qscen``
command runs :func:`preflight` on the ingested data before it starts any
Prefect machinery.

Checks:

* **total qubits**: ``assets × encoding.num_qubits`` must not exceed
  :data:`quantum_scenarios.encoding.MAX_TOTAL_QUBITS` (a ``2**N`` histogram and
  statevector must fit in memory);
* **the cut-off** ``evaluation.split_date`` must leave returns on both sides;
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
        total_qubits: assets × qubits per asset.
        train_rows: returns up to and including the cut-off.
        test_rows: returns after the cut-off.
        occupied_cells: grid cells holding at least one training return.
        grid_cells: ``2**total_qubits``.
        warnings: one line each.
    """

    total_qubits: int
    train_rows: int
    test_rows: int
    occupied_cells: int
    grid_cells: int
    warnings: list[str] = field(default_factory=list)


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
            the joint grid for evaluation only.

    Raises:
        ValueError: too many qubits, or a cut-off that leaves one side (almost) empty; the
            message names the option to change.
    """
    assets = [str(c) for c in returns.columns]
    total = len(assets) * int(num_qubits)
    if total > MAX_TOTAL_QUBITS:
        fit = max(1, MAX_TOTAL_QUBITS // max(len(assets), 1))
        raise ValueError(
            f"{len(assets)} assets × {num_qubits} qubits = {total} > {MAX_TOTAL_QUBITS} qubits: lower "
            f"encoding.num_qubits (--set encoding.num_qubits={fit}) or select fewer assets "
            f"(--assets A,B,C; found {', '.join(assets)})"
        )
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
    train = returns.loc[index <= stamp]
    occupied, cells = grid_occupancy(train, num_qubits, quantiles, margin)
    result = Preflight(total, train_rows, test_rows, occupied, cells)
    if mode == "joint" and cells > 64 and occupied / cells < SPARSE_SHARE:
        result.warnings.append(
            f"sparse grid: only {occupied:,} of {cells:,} grid cells ({occupied / cells:.1%}) hold training data "
            f"({len(assets)} assets × {num_qubits} qubits, {train_rows:,} training returns); training will be slow "
            "and mostly learn empty cells. Lower encoding.num_qubits, select fewer assets (--assets), or model "
            "the joint structure with a factor or copula mode where available."
        )
    return result
