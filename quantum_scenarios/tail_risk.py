"""Tail risk: Value-at-Risk, Expected Shortfall and VaR backtests.

Conventions used throughout:

* **Losses are positive.** A loss of ``0.03`` means the portfolio lost 3% of its
  value; gains are negative losses.
* ``level`` is the confidence level ``q`` in ``(0, 1)`` (``0.99`` for 99% VaR);
  the tail probability is ``1 - q``.
* ``VaR_q`` is the lower ``q``-quantile of the loss distribution,
  ``inf{l : P(L <= l) >= q}``. For an empirical sample this is
  ``numpy.quantile(losses, q, method="inverted_cdf")``.
* ``ES_q`` is the Acerbi-Tasche expected shortfall, which is coherent and also
  correct for discrete distributions (atoms at the VaR are split)::

      ES_q = ( E[L 1{L > VaR_q}] + VaR_q (P(L <= VaR_q) - q) ) / (1 - q)

  For a continuous distribution this is ``E[L | L >= VaR_q]``; for a normal
  loss ``N(0, sigma^2)`` it is ``sigma * phi(z_q) / (1 - q)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import xlog1py, xlogy

__all__ = ["var", "expected_shortfall", "kupiec_test", "var_backtest"]


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(
            f"level must be a confidence level strictly between 0 and 1 (e.g. 0.99); received {level!r}"
        )
    return level


def _sorted_distribution(
    losses: ArrayLike, probabilities: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return losses sorted ascending and their probabilities (summing to one)."""
    x = np.asarray(losses, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("losses is empty; expected at least one loss value")
    if not np.all(np.isfinite(x)):
        bad = int(np.flatnonzero(~np.isfinite(x))[0])
        raise ValueError(f"losses must be finite; element {bad} is {float(x[bad])}")
    if probabilities is None:
        p = np.full(x.size, 1.0 / x.size)
    else:
        p = np.asarray(probabilities, dtype=float).ravel()
        if p.shape != x.shape:
            raise ValueError(
                f"probabilities must have one entry per loss; expected {x.size}, received {p.size}"
            )
        if np.any(p < 0) or not np.all(np.isfinite(p)) or p.sum() <= 0:
            raise ValueError("probabilities must be finite, non-negative and not all zero")
        p = p / p.sum()
    order = np.argsort(x, kind="stable")
    return x[order], p[order]


def var(losses: ArrayLike, level: float, *, probabilities: ArrayLike | None = None) -> float:
    """Value-at-Risk: the lower ``level``-quantile of the loss distribution.

    Args:
        losses: Loss values (positive = loss), any shape; flattened.
        level: Confidence level ``q`` in ``(0, 1)``, e.g. ``0.99``.
        probabilities: Optional probability of each loss (a discrete distribution,
            e.g. a histogram on a grid). Defaults to equal weights (an empirical sample).

    Returns:
        ``inf{l : P(L <= l) >= q}``.
    """
    q = _check_level(level)
    x, p = _sorted_distribution(losses, probabilities)
    cdf = np.cumsum(p)
    # Tolerate round-off in the cumulative sum: an atom whose cdf equals q up to 1e-12 qualifies.
    idx = int(np.searchsorted(cdf, q - 1e-12, side="left"))
    return float(x[min(idx, x.size - 1)])


def expected_shortfall(
    losses: ArrayLike, level: float, *, probabilities: ArrayLike | None = None
) -> float:
    """Expected Shortfall (CVaR) at ``level``, Acerbi-Tasche definition (see module docstring).

    Args:
        losses: Loss values (positive = loss), any shape; flattened.
        level: Confidence level ``q`` in ``(0, 1)``.
        probabilities: Optional probability of each loss; defaults to equal weights.

    Returns:
        The average loss in the worst ``1 - q`` of the distribution; always ``>= var``.
    """
    q = _check_level(level)
    x, p = _sorted_distribution(losses, probabilities)
    v = var(x, q, probabilities=p)
    above = x > v
    tail_mass = float(p[above].sum())
    at_or_below = 1.0 - tail_mass
    es = (float(np.dot(x[above], p[above])) + v * (at_or_below - q)) / (1.0 - q)
    return float(max(es, v))


def kupiec_test(exceedances: int, n: int, level: float) -> dict[str, Any]:
    """Kupiec's proportion-of-failures likelihood-ratio test of a VaR model.

    Under the null the number of VaR exceedances is ``Binomial(n, p)`` with
    ``p = 1 - level``. The statistic::

        LR = -2 ln[ (1-p)^(n-x) p^x ] + 2 ln[ (1-x/n)^(n-x) (x/n)^x ]

    is asymptotically chi-squared with one degree of freedom (``0 ln 0 = 0``).

    Args:
        exceedances: Observed number of days whose loss exceeded the VaR forecast (``x``).
        n: Number of backtest days.
        level: VaR confidence level ``q``.

    Returns:
        Dict with ``lr_stat``, ``p_value``, ``expected`` (``n (1-q)``), ``observed`` (``x``),
        ``n``, ``level`` and ``rate`` (``x / n``).
    """
    q = _check_level(level)
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer number of days; received {n!r}")
    if isinstance(exceedances, bool) or int(exceedances) != exceedances or not 0 <= exceedances <= n:
        raise ValueError(
            f"exceedances must be an integer between 0 and n={n}; received {exceedances!r}"
        )
    n = int(n)
    x = int(exceedances)
    p = 1.0 - q
    rate = x / n

    def _loglik(prob: float) -> float:
        # Binomial log-likelihood without the coefficient; xlogy gives 0 * log(0) = 0.
        return float(xlogy(x, prob) + xlog1py(n - x, -prob))

    lr = max(-2.0 * (_loglik(p) - _loglik(rate)), 0.0)
    return {
        "lr_stat": lr,
        "p_value": float(stats.chi2.sf(lr, df=1)),
        "expected": n * p,
        "observed": x,
        "n": n,
        "level": q,
        "rate": rate,
    }


def var_backtest(
    realised_losses: ArrayLike | pd.Series, var_forecast: ArrayLike | float, level: float
) -> dict[str, Any]:
    """Count VaR exceedances over a backtest period and run the Kupiec test.

    Args:
        realised_losses: Realised loss per day (positive = loss), shape ``(n,)``. A
            ``pd.Series`` keeps its index, which is used to report exceedance dates.
        var_forecast: The VaR forecast for each day, a scalar (constant VaR) or shape ``(n,)``.
        level: VaR confidence level ``q``.

    Returns:
        :func:`kupiec_test`'s dict plus ``exceedance_dates`` (index labels of the days with
        ``loss > VaR``; positions when ``realised_losses`` is not a Series).
    """
    index = realised_losses.index if isinstance(realised_losses, pd.Series) else None
    losses = np.asarray(realised_losses, dtype=float).ravel()
    if losses.size == 0:
        raise ValueError("realised_losses is empty; expected one loss per backtest day")
    forecast = np.asarray(var_forecast, dtype=float)
    forecast = np.full(losses.shape, float(forecast)) if forecast.ndim == 0 else forecast.ravel()
    if forecast.shape != losses.shape:
        raise ValueError(
            "var_forecast must be a scalar or have one value per day; "
            f"expected {losses.size} values, received {forecast.size}"
        )
    valid = np.isfinite(losses) & np.isfinite(forecast)
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        where = index[bad] if index is not None else bad
        raise ValueError(f"realised_losses and var_forecast must be finite; day {where!r} is not")
    hit = losses > forecast
    result = kupiec_test(int(hit.sum()), losses.size, level)
    positions = np.flatnonzero(hit)
    result["exceedance_dates"] = list(index[positions]) if index is not None else positions.tolist()
    return result
