"""Returns from prices.

Two return definitions are supported, both computed between consecutive rows
of a wide price frame (one column per asset):

* ``"log"`` (default): :math:`r_t = \\ln(p_t / p_{t-1})`;
* ``"simple"``: :math:`R_t = p_t / p_{t-1} - 1`.

They are related by :math:`r_t = \\ln(1 + R_t)`.

Note:
    A non-positive price has no logarithm: its log return (and the next one) is
    ``NaN`` or ``-inf``. This module does not reject such prices; the returns
    suite in :mod:`quantum_scenarios.market.validation` flags the non-finite
    returns so that ``strict`` mode fails and ``repair`` mode quarantines them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RETURN_KINDS: tuple[str, ...] = ("log", "simple")


def check_return_kind(kind: str) -> str:
    """Coerce and check a return kind.

    Args:
        kind: ``"log"`` or ``"simple"`` (case-insensitive).

    Returns:
        The kind in lower case.

    Raises:
        ValueError: If ``kind`` is not one of :data:`RETURN_KINDS`.
    """
    if not isinstance(kind, str) or kind.strip().lower() not in RETURN_KINDS:
        raise ValueError(f"return kind must be one of {RETURN_KINDS}; received {kind!r}.")
    return kind.strip().lower()


def compute_returns(prices: pd.DataFrame, kind: str = "log") -> pd.DataFrame:
    """Compute per-asset returns between consecutive rows of a wide price frame.

    Args:
        prices: Wide price frame, one numeric column per asset, rows in time order.
        kind: ``"log"`` for log returns (default) or ``"simple"`` for simple returns.

    Returns:
        A float64 frame with the same columns and the index ``prices.index[1:]``;
        row ``t`` holds the return from row ``t-1`` to row ``t``.

    Raises:
        TypeError: If ``prices`` is not a DataFrame or has a non-numeric column.
        ValueError: If ``kind`` is unknown.
    """
    kind = check_return_kind(kind)
    if not isinstance(prices, pd.DataFrame):
        raise TypeError(f"prices must be a pandas DataFrame; received {type(prices).__name__}.")
    non_numeric = [str(c) for c in prices.columns if not pd.api.types.is_numeric_dtype(prices[c])]
    if non_numeric:
        raise TypeError(
            f"prices must hold numeric columns only; columns {non_numeric} are not numeric. "
            "Convert them with pandas.to_numeric first."
        )
    values = prices.to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = values[1:] / values[:-1]
        out = np.log(ratio) if kind == "log" else ratio - 1.0
    return pd.DataFrame(out, index=prices.index[1:], columns=prices.columns, dtype=np.float64)
