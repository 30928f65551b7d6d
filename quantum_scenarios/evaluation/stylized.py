"""Stylized facts of return series: volatility clustering, for data and for simulated paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["abs_autocorrelation"]


def abs_autocorrelation(log_returns: ArrayLike | pd.DataFrame, *, max_lag: int = 10) -> np.ndarray:
    """Autocorrelation of absolute returns per lag and asset (volatility clustering).

    For each series ``a_t = |r_t|`` (length ``T``, mean ``m``) the lag-``k`` estimate is the
    standard ``sum_t (a_t - m)(a_{t+k} - m) / sum_t (a_t - m)^2``. Several paths are
    averaged, path by path.

    Args:
        log_returns: Shape ``(T, d)`` for one series per asset, or ``(n_paths, T, d)``.
        max_lag: Largest lag ``k``; lags ``1..max_lag``.

    Returns:
        Shape ``(max_lag, d)``; ``result.mean(axis=0)`` is the mean over lags per asset.
    """
    x = np.asarray(log_returns, dtype=float)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"log_returns must have shape (T, d) or (n_paths, T, d); received {x.shape}")
    if not 1 <= max_lag < x.shape[1] - 1:
        raise ValueError(
            f"max_lag must be between 1 and {x.shape[1] - 2} for series of length {x.shape[1]}; received {max_lag}"
        )
    a = np.abs(x)
    a = a - a.mean(axis=1, keepdims=True)
    denominator = (a**2).sum(axis=1)  # (n, d)
    acf = np.stack([(a[:, k:] * a[:, :-k]).sum(axis=1) / denominator for k in range(1, max_lag + 1)])
    return acf.mean(axis=1)
