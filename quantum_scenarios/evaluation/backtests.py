"""VaR backtests: exceedance counts, the Kupiec test, and model VaR forecasts over a test period.

* :func:`kupiec_test` and :func:`var_backtest` count exceedances of a VaR forecast and
  test their frequency (Kupiec's proportion of failures).
* :func:`var_forecasts` / :func:`var_backtest_table` forecast one-day portfolio VaR over
  the test period from each model's joint draws (through the GARCH filter in GARCH mode)
  and backtest every model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import xlog1py, xlogy

from quantum_scenarios.evaluation.risk import _check_level
from quantum_scenarios.scenarios.stress import portfolio_losses
from quantum_scenarios.scenarios.volatility import GarchFit

__all__ = [
    "kupiec_test",
    "var_backtest",
    "var_backtest_table",
    "var_forecasts",
]

Draw = Callable[[int, np.random.Generator], np.ndarray]


def _samples(model: ArrayLike | Draw, n_samples: int, rng: np.random.Generator, d: int, name: str) -> np.ndarray:
    x = np.asarray(model(n_samples, rng) if callable(model) else model, dtype=float)
    if x.ndim != 2 or x.shape[1] != d or x.shape[0] < 2:
        raise ValueError(f"model {name!r} must supply joint draws of shape (n, {d}); received {x.shape}")
    return x


def var_forecasts(
    test_returns: pd.DataFrame,
    models: Mapping[str, ArrayLike | Draw],
    *,
    weights: ArrayLike | None = None,
    level: float = 0.99,
    garch: GarchFit | None = None,
    n_samples: int = 20_000,
    seed: int = 0,
    chunk: int = 64,
) -> pd.DataFrame:
    """One-day portfolio VaR forecast for every test day, per model.

    Without ``garch`` a model's draws are one-day log returns and its VaR is constant.
    With ``garch`` the draws are standardised residuals ``z``; the fitted recursion is
    filtered through the test period (parameters fixed at their training values) to give
    each day's predictable ``sigma_t``, and the day's return scenarios are
    ``(mu + sigma_t z) / scale``.

    Args:
        test_returns: Wide log returns of the test period, columns in the models' asset order.
        models: Name -> joint draws ``(n, d)`` or a draw callable ``draw(k, rng)``.
        weights: Portfolio weights; equal by default.
        level: VaR confidence level.
        garch: The GARCH fit from the training period (GARCH mode), or ``None`` (iid mode).
        n_samples: Draws per callable model.
        seed: Seed of the callable models' draws (one generator per model, same seed).
        chunk: Days processed at once in GARCH mode (memory: ``chunk * n * d`` floats).

    Returns:
        Frame indexed like ``test_returns`` with a ``realised_loss`` column and one VaR
        column per model.
    """
    if not isinstance(test_returns, pd.DataFrame) or len(test_returns) == 0:
        raise ValueError("test_returns must be a non-empty wide DataFrame of log returns")
    if not models:
        raise ValueError("var_forecasts needs at least one model; received none")
    d = test_returns.shape[1]
    realised = portfolio_losses(test_returns.to_numpy(dtype=float), weights)
    out = pd.DataFrame({"realised_loss": realised}, index=test_returns.index)
    if garch is not None:
        if tuple(str(c) for c in test_returns.columns) != tuple(garch.assets):
            raise ValueError(
                f"test_returns columns {list(test_returns.columns)} must be the GARCH fit's assets in order, "
                f"{list(garch.assets)}; reorder with test_returns[list(garch.assets)]"
            )
        _, vol = garch.filter(test_returns)
        sigma = vol.to_numpy()
        mu = garch.params.loc[list(garch.assets), "mu"].to_numpy(dtype=float)
    for name, model in models.items():
        z = _samples(model, int(n_samples), np.random.default_rng(seed), d, name)
        if garch is None:
            losses = portfolio_losses(z, weights)
            out[name] = float(np.quantile(losses, level, method="inverted_cdf"))
            continue
        forecasts = np.empty(len(test_returns))
        for start in range(0, len(test_returns), chunk):
            s = sigma[start : start + chunk]  # (c, d)
            r = (mu + s[:, None, :] * z[None, :, :]) / garch.scale  # (c, n, d)
            losses = portfolio_losses(r.reshape(-1, d), weights).reshape(s.shape[0], -1)
            forecasts[start : start + chunk] = np.quantile(losses, level, axis=1, method="inverted_cdf")
        out[name] = forecasts
    return out


def var_backtest_table(
    test_returns: pd.DataFrame,
    models: Mapping[str, ArrayLike | Draw],
    *,
    weights: ArrayLike | None = None,
    level: float = 0.99,
    garch: GarchFit | None = None,
    n_samples: int = 20_000,
    seed: int = 0,
    return_forecasts: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest each model's one-day portfolio VaR over the test period (Kupiec test).

    Args:
        test_returns: As :func:`var_forecasts`.
        models: As :func:`var_forecasts`.
        weights: As :func:`var_forecasts`.
        level: As :func:`var_forecasts`.
        garch: As :func:`var_forecasts`.
        n_samples: As :func:`var_forecasts`.
        seed: As :func:`var_forecasts`.
        return_forecasts: Also return the :func:`var_forecasts` frame (for plots).

    Returns:
        One row per model: ``model, level, n, exceedances, expected, rate, lr_stat, p_value,
        mean_var``; with ``return_forecasts`` the pair ``(table, forecasts)``.
    """
    forecasts = var_forecasts(
        test_returns, models, weights=weights, level=level, garch=garch, n_samples=n_samples, seed=seed
    )
    rows = []
    for name in models:
        result = var_backtest(forecasts["realised_loss"], forecasts[name].to_numpy(), level)
        rows.append(
            {
                "model": name,
                "level": float(level),
                "n": result["n"],
                "exceedances": result["observed"],
                "expected": result["expected"],
                "rate": result["rate"],
                "lr_stat": result["lr_stat"],
                "p_value": result["p_value"],
                "mean_var": float(forecasts[name].mean()),
            }
        )
    table = pd.DataFrame(rows)
    return (table, forecasts) if return_forecasts else table


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
