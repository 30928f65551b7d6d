"""VaR backtests: exceedance counts, the Kupiec test, and model VaR forecasts over a test period.

* :func:`kupiec_test` and :func:`var_backtest` count exceedances of a VaR forecast and
  test their frequency (Kupiec's proportion of failures).
* :func:`christoffersen_test` tests the independence of exceedances (first-order Markov
  alternative) and, with Kupiec, their conditional coverage.
* :func:`traffic_light` is the Basel traffic-light zone of an exceedance count.
* :func:`es_backtest` is Acerbi and Szekely's (2014) ``Z2`` test of Expected Shortfall.
* :func:`var_forecasts` / :func:`var_backtest_table` forecast one-day portfolio VaR over
  the test period from each model's joint draws (through the GARCH filter in GARCH mode)
  and backtest every model.
* :func:`risk_forecasts` / :func:`backtest_table` do the same at any horizon (non-overlapping
  ``h``-day windows) with VaR *and* ES, and run every test above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import xlog1py, xlogy

from quantum_scenarios.evaluation.risk import _check_level, expected_shortfall, var, var_es_rows
from quantum_scenarios.scenarios.stress import portfolio_losses, portfolio_weights
from quantum_scenarios.scenarios.volatility import GarchFit

__all__ = [
    "BACKTEST_COLUMNS",
    "RiskForecast",
    "backtest_table",
    "christoffersen_test",
    "es_backtest",
    "kupiec_test",
    "risk_forecasts",
    "traffic_light",
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
        w = portfolio_weights(weights, d)
        for start in range(0, len(test_returns), chunk):
            s = sigma[start : start + chunk]  # (c, d)
            r = s[:, None, :] * z[None, :, :]  # (c, n, d), then in place: (mu + sigma z) / scale, simple returns
            r += mu
            r /= garch.scale
            np.expm1(r, out=r)
            forecasts[start : start + chunk] = var_es_rows(-(r @ w), level)[0]
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



def _hits(hits: ArrayLike) -> np.ndarray:
    h = np.asarray(hits)
    if h.ndim != 1 or h.size < 2:
        raise ValueError(f"hits must be a 1-D sequence of at least 2 exceedance indicators; received shape {h.shape}")
    if not np.isin(h, (0, 1, True, False)).all():
        raise ValueError("hits must hold only 0/1 (or False/True) exceedance indicators")
    return h.astype(int)


def christoffersen_test(hits: ArrayLike, level: float) -> dict[str, Any]:
    """Christoffersen's (1998) independence and conditional-coverage tests of VaR exceedances.

    With ``n_ij`` the number of days in state ``j`` after a day in state ``i`` (1 = exceedance),
    ``pi_01 = n_01 / (n_00 + n_01)``, ``pi_11 = n_11 / (n_10 + n_11)`` and
    ``pi = (n_01 + n_11) / (n_00 + n_01 + n_10 + n_11)``::

        LR_ind = -2 ln[ (1-pi)^(n_00+n_10) pi^(n_01+n_11) ]
                 + 2 ln[ (1-pi_01)^n_00 pi_01^n_01 (1-pi_11)^n_10 pi_11^n_11 ]   ~ chi2(1)
        LR_cc  = LR_pof + LR_ind                                                  ~ chi2(2)

    where ``LR_pof`` is Kupiec's statistic on the same ``n - 1`` transitions (``0 ln 0 = 0``).

    Args:
        hits: Exceedance indicators in time order.
        level: VaR confidence level ``q``.

    Returns:
        Dict with ``lr_ind``, ``p_ind``, ``lr_cc``, ``p_cc``, the transition counts ``n00, n01,
        n10, n11``.
    """
    q = _check_level(level)
    h = _hits(hits)
    prev, curr = h[:-1], h[1:]
    n00 = int(np.sum((prev == 0) & (curr == 0)))
    n01 = int(np.sum((prev == 0) & (curr == 1)))
    n10 = int(np.sum((prev == 1) & (curr == 0)))
    n11 = int(np.sum((prev == 1) & (curr == 1)))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)

    def ll(k0: int, k1: int, prob: float) -> float:
        return float(xlog1py(k0, -prob) + xlogy(k1, prob))

    lr_ind = max(-2.0 * (ll(n00 + n10, n01 + n11, pi) - ll(n00, n01, pi01) - ll(n10, n11, pi11)), 0.0)
    lr_pof = max(-2.0 * (ll(n00 + n10, n01 + n11, 1.0 - q) - ll(n00 + n10, n01 + n11, pi)), 0.0)
    lr_cc = lr_pof + lr_ind
    return {
        "lr_ind": lr_ind,
        "p_ind": float(stats.chi2.sf(lr_ind, df=1)),
        "lr_cc": lr_cc,
        "p_cc": float(stats.chi2.sf(lr_cc, df=2)),
        "n00": n00,
        "n01": n01,
        "n10": n10,
        "n11": n11,
    }


def traffic_light(exceedances: int, n: int, level: float = 0.99) -> str:
    """Basel traffic-light zone of a VaR exceedance count.

    The Basel Committee (1996) zones are set by the cumulative binomial probability of the
    count under a correct model, ``P = BinomCDF(x; n, 1 - level)``: green while ``P < 0.95``,
    yellow while ``P < 0.9999``, red beyond. For ``n = 250`` at 99% this is the familiar
    green 0-4, yellow 5-9, red 10 or more.

    Returns:
        ``"green"``, ``"yellow"`` or ``"red"``.
    """
    q = _check_level(level)
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer number of days; received {n!r}")
    if isinstance(exceedances, bool) or int(exceedances) != exceedances or not 0 <= exceedances <= n:
        raise ValueError(f"exceedances must be an integer between 0 and n={n}; received {exceedances!r}")
    p = float(stats.binom.cdf(int(exceedances), int(n), 1.0 - q))
    return "green" if p < 0.95 else ("yellow" if p < 0.9999 else "red")


def _z2(losses: np.ndarray, var_f: np.ndarray, es_f: np.ndarray, alpha: float) -> np.ndarray:
    hit = losses > var_f
    return 1.0 - np.sum(losses * hit / es_f, axis=0) / (losses.shape[0] * alpha)


def es_backtest(
    realised_losses: ArrayLike,
    var_forecast: ArrayLike,
    es_forecast: ArrayLike,
    level: float,
    *,
    simulated_losses: ArrayLike | None = None,
) -> dict[str, Any]:
    """Acerbi and Szekely's (2014) ``Z2`` test of Expected Shortfall forecasts.

    With losses positive, ``alpha = 1 - level`` and ``I_t = 1{L_t > VaR_t}``::

        Z2 = 1 - sum_t L_t I_t / (T alpha ES_t)

    ``E[Z2] = 0`` when the forecasts are the true VaR and ES; ``Z2 < 0`` says the realised tail
    is heavier than forecast (risk underestimated). The p-value ``P(Z2* <= Z2)`` comes from
    losses simulated from the model itself, one column per replication.

    Args:
        realised_losses: Realised loss per period, shape ``(T,)``.
        var_forecast: VaR per period (scalar or ``(T,)``).
        es_forecast: ES per period (scalar or ``(T,)``), positive.
        level: Confidence level ``q``.
        simulated_losses: Losses drawn from each period's forecast distribution, shape
            ``(T, M)``; ``None`` skips the p-value.

    Returns:
        Dict with ``z2``, ``p_value`` (NaN without simulations), ``exceedances``, ``n``.
    """
    q = _check_level(level)
    losses = np.asarray(realised_losses, dtype=float).ravel()
    T = losses.size
    if T == 0:
        raise ValueError("realised_losses is empty; expected one loss per backtest period")
    var_f = np.broadcast_to(np.asarray(var_forecast, dtype=float), losses.shape)
    es_f = np.broadcast_to(np.asarray(es_forecast, dtype=float), losses.shape)
    if not (np.isfinite(es_f).all() and (es_f > 0).all()):
        raise ValueError("es_forecast must be finite and positive for every period (a loss, not a gain)")
    z2 = float(_z2(losses, var_f, es_f, 1.0 - q))
    p_value = float("nan")
    if simulated_losses is not None:
        sim = np.asarray(simulated_losses, dtype=float)
        if sim.ndim != 2 or sim.shape[0] != T:
            raise ValueError(f"simulated_losses must have shape ({T}, M); received {sim.shape}")
        null = _z2(sim, var_f[:, None], es_f[:, None], 1.0 - q)
        p_value = float((1 + np.sum(null <= z2)) / (1 + null.size))
    return {"z2": z2, "p_value": p_value, "exceedances": int(np.sum(losses > var_f)), "n": int(T)}


@dataclass
class RiskForecast:
    """One model's VaR/ES forecasts over non-overlapping ``horizon``-day test windows.

    Attributes:
        frame: Indexed by each window's first day: ``realised_loss``, ``var``, ``es``.
        simulated: Losses drawn from each window's forecast distribution, ``(windows, M)``.
        horizon: Days per window.
        level: Confidence level.
    """

    frame: pd.DataFrame
    simulated: np.ndarray
    horizon: int
    level: float


def risk_forecasts(
    test_returns: pd.DataFrame,
    models: Mapping[str, ArrayLike | Draw],
    *,
    horizon: int = 1,
    weights: ArrayLike | None = None,
    level: float = 0.99,
    garch: GarchFit | None = None,
    n_samples: int = 10_000,
    n_null: int = 500,
    seed: int = 0,
    chunk: int = 32,
) -> dict[str, RiskForecast]:
    """Portfolio VaR and ES of each model over non-overlapping ``horizon``-day test windows.

    Each model supplies ``n_samples * horizon`` joint draws (one-day values), arranged as
    ``n_samples`` paths of ``horizon`` steps and shared by every window (common random
    numbers). Without ``garch`` the steps are i.i.d. log returns. With ``garch`` they are
    standardised residuals and each window starts from the filtered conditional variance of
    its first day (training parameters, no refit), then follows the GARCH recursion along
    the simulated path, exactly as :meth:`GarchFit.simulate` does from the last training day.

    Args:
        test_returns: Wide log returns of the test period, columns in the models' order.
        models: Name -> joint draws ``(n, d)`` or a draw callable ``draw(k, rng)``.
        horizon: Days per window (1 for daily VaR, 10 for the regulatory horizon).
        weights: Portfolio weights; equal by default.
        level: Confidence level.
        garch: The training GARCH fit (``garch`` mode) or ``None`` (``iid`` mode).
        n_samples: Simulated paths per window.
        n_null: Losses kept per window for the ES test's null distribution.
        seed: Seed of the draws and of the null selection.
        chunk: Windows processed at once.

    Returns:
        Model name -> :class:`RiskForecast`.
    """
    if not isinstance(test_returns, pd.DataFrame) or len(test_returns) == 0:
        raise ValueError("test_returns must be a non-empty wide DataFrame of log returns")
    if isinstance(horizon, bool) or int(horizon) != horizon or not 1 <= horizon <= len(test_returns):
        raise ValueError(f"horizon must be an integer between 1 and {len(test_returns)} test days; received {horizon!r}")
    if not models:
        raise ValueError("risk_forecasts needs at least one model; received none")
    q = _check_level(level)
    h = int(horizon)
    d = test_returns.shape[1]
    starts = np.arange(0, len(test_returns) - h + 1, h)
    r_test = test_returns.to_numpy(dtype=float)
    windows = np.stack([r_test[s : s + h] for s in starts])  # (W, h, d)
    realised = portfolio_losses(windows, weights)
    if garch is not None:
        if tuple(str(c) for c in test_returns.columns) != tuple(garch.assets):
            raise ValueError(
                f"test_returns columns {list(test_returns.columns)} must be the GARCH fit's assets in order, "
                f"{list(garch.assets)}; reorder with test_returns[list(garch.assets)]"
            )
        _, vol = garch.filter(test_returns)
        s2_start = vol.to_numpy()[starts] ** 2
        par = garch.params.loc[list(garch.assets)]
        mu, omega, alpha, beta = (par[c].to_numpy(dtype=float) for c in ("mu", "omega", "alpha", "beta"))
    out: dict[str, RiskForecast] = {}
    w = portfolio_weights(weights, d)
    for name, model in models.items():
        rng = np.random.default_rng(seed)
        z = _samples(model, int(n_samples) * h, rng, d, name).reshape(int(n_samples), h, d)
        var_f = np.empty(len(starts))
        es_f = np.empty(len(starts))
        null = np.empty((len(starts), int(n_null)))
        pick = np.random.default_rng(seed + 1)
        if garch is None:
            losses = portfolio_losses(z, weights)
            v, e = var(losses, q), expected_shortfall(losses, q)
            var_f[:], es_f[:] = v, e
            null[:] = losses[pick.integers(0, losses.size, size=null.shape)]
        else:
            for c0 in range(0, len(starts), chunk):
                s2 = s2_start[c0 : c0 + chunk][:, None, :]  # (c, 1, d)
                total = np.zeros((s2.shape[0], z.shape[0], d))
                for step in range(h):
                    eps = np.sqrt(s2) * z[None, :, step, :]
                    total += (mu + eps) / garch.scale
                    s2 = omega + alpha * eps**2 + beta * s2
                losses = -(np.expm1(total, out=total) @ w)  # (c, n): portfolio_losses of each window's paths
                c1 = c0 + losses.shape[0]
                var_f[c0:c1], es_f[c0:c1] = var_es_rows(losses, q)
                chosen = pick.integers(0, losses.shape[1], size=(losses.shape[0], int(n_null)))
                null[c0:c1] = np.take_along_axis(losses, chosen, axis=1)
        frame = pd.DataFrame(
            {"realised_loss": realised, "var": var_f, "es": es_f}, index=test_returns.index[starts]
        )
        out[name] = RiskForecast(frame, null, h, q)
    return out


BACKTEST_COLUMNS = (
    "model", "horizon", "level", "n", "exceedances", "expected", "kupiec_p", "christoffersen_ind_p",
    "christoffersen_cc_p", "traffic_light", "es_z2", "es_p", "mean_var", "mean_es",
)


def backtest_table(
    test_returns: pd.DataFrame,
    models: Mapping[str, ArrayLike | Draw],
    *,
    horizons: Sequence[int] = (1, 10),
    weights: ArrayLike | None = None,
    level: float = 0.99,
    garch: GarchFit | None = None,
    n_samples: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Every backtest, for every model and horizon, over the test period.

    Per model and horizon (non-overlapping windows): exceedances of the VaR forecast, the
    Kupiec p-value, Christoffersen's independence and conditional-coverage p-values, the
    Basel traffic-light zone (the binomial rule of :func:`traffic_light`, which is the
    250-day table when ``n = 250``), and the Acerbi-Szekely ``Z2`` ES test with its p-value
    from the model's own simulated losses.

    Returns:
        One row per model and horizon, columns :data:`BACKTEST_COLUMNS`.
    """
    rows = []
    for h in horizons:
        forecasts = risk_forecasts(
            test_returns, models, horizon=h, weights=weights, level=level, garch=garch, n_samples=n_samples, seed=seed
        )
        for name, f in forecasts.items():
            frame = f.frame
            hits = (frame["realised_loss"] > frame["var"]).to_numpy()
            n = len(frame)
            kupiec = kupiec_test(int(hits.sum()), n, level)
            chris = christoffersen_test(hits, level) if n >= 2 else {"p_ind": float("nan"), "p_cc": float("nan")}
            es = es_backtest(frame["realised_loss"], frame["var"], frame["es"], level, simulated_losses=f.simulated)
            rows.append(
                {
                    "model": name,
                    "horizon": int(h),
                    "level": float(level),
                    "n": n,
                    "exceedances": int(hits.sum()),
                    "expected": n * (1 - level),
                    "kupiec_p": kupiec["p_value"],
                    "christoffersen_ind_p": chris["p_ind"],
                    "christoffersen_cc_p": chris["p_cc"],
                    "traffic_light": traffic_light(int(hits.sum()), n, level),
                    "es_z2": es["z2"],
                    "es_p": es["p_value"],
                    "mean_var": float(frame["var"].mean()),
                    "mean_es": float(frame["es"].mean()),
                }
            )
    return pd.DataFrame(rows, columns=list(BACKTEST_COLUMNS))
