"""Stylized facts of return series, for data and for simulated paths.

* :func:`autocorrelation` of returns (near zero) and :func:`abs_autocorrelation` of ``|r|``
  (positive and slowly decaying: volatility clustering);
* :func:`leverage_effect`: ``corr(r_t, |r_{t+k}|)``, negative for equities (falls raise volatility);
* :func:`hill_tail_index` of the loss tail (about 3-5 for daily equity returns);
* :func:`lower_tail_dependence`: ``P(U <= q, V <= q) / q`` for every pair of assets (joint crashes);
* :func:`stylized_facts` gathers them into one table per series set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "abs_autocorrelation",
    "autocorrelation",
    "hill_tail_index",
    "leverage_effect",
    "lower_tail_dependence",
    "stylized_facts",
]


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



def _paths(log_returns: ArrayLike | pd.DataFrame, max_lag: int) -> np.ndarray:
    x = np.asarray(log_returns, dtype=float)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"log_returns must have shape (T, d) or (n_paths, T, d); received {x.shape}")
    if not 1 <= max_lag < x.shape[1] - 1:
        raise ValueError(
            f"max_lag must be between 1 and {x.shape[1] - 2} for series of length {x.shape[1]}; received {max_lag}"
        )
    return x


def autocorrelation(log_returns: ArrayLike | pd.DataFrame, *, max_lag: int = 10) -> np.ndarray:
    """Autocorrelation of returns per lag and asset, same estimator as :func:`abs_autocorrelation`.

    Returns:
        Shape ``(max_lag, d)``.
    """
    x = _paths(log_returns, max_lag)
    a = x - x.mean(axis=1, keepdims=True)
    denominator = (a**2).sum(axis=1)
    return np.stack([(a[:, k:] * a[:, :-k]).sum(axis=1) / denominator for k in range(1, max_lag + 1)]).mean(axis=1)


def leverage_effect(log_returns: ArrayLike | pd.DataFrame, *, max_lag: int = 10) -> np.ndarray:
    """Leverage effect: Pearson correlation of ``r_t`` with ``|r_{t+k}|`` per lag and asset.

    Returns:
        Shape ``(max_lag, d)`` (paths averaged); negative values mean falls precede volatility.
    """
    x = _paths(log_returns, max_lag)
    out = []
    for k in range(1, max_lag + 1):
        a, b = x[:, :-k], np.abs(x[:, k:])
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
        out.append(((a * b).sum(axis=1) / np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))).mean(axis=0))
    return np.stack(out)


def hill_tail_index(values: ArrayLike, *, tail_fraction: float = 0.05, tail: str = "lower") -> np.ndarray:
    """Hill's estimator of the tail index per column.

    With ``L`` the losses (``-x`` for the lower tail, ``x`` for the upper), ``L_(1) >= L_(2) >=
    ...`` in decreasing order and ``k = floor(tail_fraction * n)``::

        alpha_hat = k / sum_{i=1..k} ln(L_(i) / L_(k+1))

    which is the maximum-likelihood Pareto exponent of the ``k`` largest losses above the
    threshold ``L_(k+1)`` (``scipy.stats.pareto.fit(..., floc=0, fscale=L_(k+1))``).

    Args:
        values: Shape ``(n,)`` or ``(n, d)``; paths of shape ``(n_paths, T, d)`` are pooled.
        tail_fraction: Share of observations in the tail.
        tail: ``"lower"`` (losses, default) or ``"upper"``.

    Returns:
        Shape ``(d,)``.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim == 3:
        x = x.reshape(-1, x.shape[2])
    if tail not in ("lower", "upper"):
        raise ValueError(f"tail must be 'lower' or 'upper'; received {tail!r}")
    if not 0 < tail_fraction < 0.5:
        raise ValueError(f"tail_fraction must be in (0, 0.5); received {tail_fraction}")
    losses = -x if tail == "lower" else x
    n = losses.shape[0]
    k = int(np.floor(tail_fraction * n))
    if k < 2:
        raise ValueError(f"tail_fraction {tail_fraction} of {n} observations leaves fewer than 2 in the tail")
    ordered = -np.sort(-losses, axis=0)
    threshold = ordered[k]
    if not (threshold > 0).all():
        raise ValueError("the tail threshold must be positive: use a smaller tail_fraction")
    return k / np.log(ordered[:k] / threshold).sum(axis=0)


def lower_tail_dependence(values: ArrayLike, *, q: float = 0.05) -> np.ndarray:
    """Empirical lower-tail dependence ``lambda_L(q) = P(U_i <= q, U_j <= q) / q`` per pair.

    ``U`` are the ranks scaled to ``(0, 1)`` (``rank / (n + 1)``), so the estimate does not
    depend on the marginals. Independence gives ``q``; comonotonic series give 1.

    Args:
        values: Shape ``(n, d)``; paths ``(n_paths, T, d)`` are pooled.
        q: Quantile level.

    Returns:
        Shape ``(d, d)`` with ones on the diagonal.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 3:
        x = x.reshape(-1, x.shape[2])
    if x.ndim != 2:
        raise ValueError(f"values must have shape (n, d); received {x.shape}")
    if not 0 < q < 0.5:
        raise ValueError(f"q must be in (0, 0.5); received {q}")
    u = stats.rankdata(x, axis=0) / (x.shape[0] + 1)
    low = (u <= q).astype(float)
    return (low.T @ low) / x.shape[0] / q


def stylized_facts(log_returns: ArrayLike | pd.DataFrame, *, max_lag: int = 10, tail_fraction: float = 0.05,
                   q: float = 0.05) -> dict[str, float]:
    """One row of stylized facts, averaged over assets (and pairs) for a table.

    Returns:
        ``acf_r`` (mean over lags 1..max_lag of the return ACF), ``acf_abs`` (same for ``|r|``),
        ``leverage`` (mean ``corr(r_t, |r_{t+k}|)``), ``hill_lower`` (mean lower-tail index),
        ``tail_dependence`` (mean off-diagonal ``lambda_L(q)``; NaN for one asset).
    """
    x = np.asarray(log_returns, dtype=float)
    lam = lower_tail_dependence(x, q=q)
    d = lam.shape[0]
    off = lam[~np.eye(d, dtype=bool)]
    return {
        "acf_r": float(autocorrelation(x, max_lag=max_lag).mean()),
        "acf_abs": float(abs_autocorrelation(x, max_lag=max_lag).mean()),
        "leverage": float(leverage_effect(x, max_lag=max_lag).mean()),
        "hill_lower": float(hill_tail_index(x, tail_fraction=tail_fraction).mean()),
        "tail_dependence": float(off.mean()) if off.size else float("nan"),
    }
