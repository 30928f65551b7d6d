"""Honest evaluation: a date split, grid metrics for the qGAN and baselines, a VaR backtest.

* :func:`split_by_date` trains on data up to a cut-off and keeps the rest for testing.
* :func:`metric_table` compares model distributions on the encoding grid with the
  training histogram (in-sample) and the test histogram (out-of-sample), using
  :mod:`quantum_scenarios.metrics`.
* :func:`var_backtest_table` forecasts one-day portfolio VaR over the test period from
  each model's joint draws (through the GARCH filter in GARCH mode) and counts
  exceedances with the Kupiec test.
* :func:`abs_autocorrelation` measures volatility clustering (ACF of ``|r|``), for data
  and for simulated paths.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios import metrics
from quantum_scenarios.scenarios.stress import portfolio_losses
from quantum_scenarios.scenarios.volatility import GarchFit
from quantum_scenarios.tail_risk import var_backtest

__all__ = [
    "METRIC_COLUMNS",
    "abs_autocorrelation",
    "metric_table",
    "split_by_date",
    "var_backtest_table",
    "var_forecasts",
]

METRIC_COLUMNS = ("kl", "kl_reverse", "js", "tv", "fidelity", "w1", "corr_max_abs", "corr_frobenius")

Draw = Callable[[int, np.random.Generator], np.ndarray]


def split_by_date(
    frame: pd.DataFrame | pd.Series, cutoff: str | dt.date | pd.Timestamp = "2012-12-31"
) -> tuple[pd.DataFrame | pd.Series, pd.DataFrame | pd.Series]:
    """Split a date-indexed frame into training (``<= cutoff``) and test (``> cutoff``) parts.

    Args:
        frame: Frame or Series with a ``DatetimeIndex``.
        cutoff: Last training date, inclusive.

    Returns:
        ``(train, test)``.

    Raises:
        TypeError: If the index is not a ``DatetimeIndex``.
        ValueError: If either side would be empty (the message names the cut-off and the
            data's date range).
    """
    if not isinstance(frame, (pd.DataFrame, pd.Series)) or not isinstance(frame.index, pd.DatetimeIndex):
        kind = type(frame.index).__name__ if hasattr(frame, "index") else type(frame).__name__
        raise TypeError(f"split_by_date needs a frame with a DatetimeIndex; received {kind}")
    if len(frame) == 0:
        raise ValueError("split_by_date received an empty frame; expected dated rows on both sides of the cut-off")
    try:
        stamp = pd.Timestamp(cutoff)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cutoff must be a date such as '2012-12-31'; received {cutoff!r}") from exc
    if frame.index.tz is not None and stamp.tz is None:
        stamp = stamp.tz_localize(frame.index.tz)
    in_train = frame.index <= stamp
    first, last = frame.index.min(), frame.index.max()
    span = f"{first.date()} to {last.date()}"
    if not in_train.any():
        raise ValueError(
            f"cut-off {stamp.date()} leaves no training data: the data run from {span}; "
            f"choose a cut-off on or after {first.date()}"
        )
    if in_train.all():
        raise ValueError(
            f"cut-off {stamp.date()} leaves no test data: the data run from {span}; "
            f"choose a cut-off before {last.date()}"
        )
    return frame.loc[in_train], frame.loc[~in_train]


def _row(target: np.ndarray, model: np.ndarray, encoding: Any) -> dict[str, float]:
    w1 = metrics.wasserstein_per_asset(target, model, encoding)
    w1_values = np.asarray(list(w1.values()) if isinstance(w1, Mapping) else w1, dtype=float)
    corr = metrics.correlation_error(metrics.grid_correlation(target, encoding), metrics.grid_correlation(model, encoding))
    return {
        "kl": float(metrics.kl_divergence(target, model)),
        "kl_reverse": float(metrics.kl_divergence(model, target)),
        "js": float(metrics.js_divergence(target, model)),
        "tv": float(metrics.total_variation(target, model)),
        "fidelity": float(metrics.classical_fidelity(target, model)),
        "w1": float(w1_values.mean()),
        "corr_max_abs": float(corr["max_abs"]),
        "corr_frobenius": float(corr["frobenius"]),
    }


def metric_table(
    target_train: ArrayLike,
    target_test: ArrayLike,
    models: Mapping[str, ArrayLike],
    encoding: Any,
) -> pd.DataFrame:
    """Grid metrics of each model against the training and the test histograms.

    Args:
        target_train: Training histogram on the grid, shape ``(2**N,)`` (basis-state order).
        target_test: Test histogram on the same grid (e.g. ``encoding.histogram(test)``).
        models: Model name -> probabilities on the grid (``"qgan"``, ``"gaussian"``,
            ``"bootstrap"``, ...).
        encoding: The :class:`~quantum_scenarios.encoding.Encoding` defining the grid.

    Returns:
        One row per model and sample (``"in"`` = against the training histogram, ``"out"`` =
        against the test histogram), columns ``model, sample`` and :data:`METRIC_COLUMNS`:
        ``kl`` is ``KL(target || model)``, ``kl_reverse`` is ``KL(model || target)``, ``w1`` the
        mean over assets of the per-asset Wasserstein-1 distance, ``corr_*`` the error of the
        model's grid correlation matrix against the target's.
    """
    if not models:
        raise ValueError("metric_table needs at least one model; received none")
    size = 2 ** int(encoding.num_qubits_total)
    targets = {"in": np.asarray(target_train, dtype=float), "out": np.asarray(target_test, dtype=float)}
    for label, array in [("target_train", targets["in"]), ("target_test", targets["out"])] + [
        (f"model {name!r}", np.asarray(p, dtype=float)) for name, p in models.items()
    ]:
        if array.shape != (size,):
            raise ValueError(
                f"{label} must be probabilities on the {size}-state grid, shape ({size},); received {array.shape}"
            )
    rows = []
    for name, probabilities in models.items():
        p = np.asarray(probabilities, dtype=float)
        for sample, target in targets.items():
            rows.append({"model": name, "sample": sample, **_row(target, p, encoding)})
    return pd.DataFrame(rows, columns=["model", "sample", *METRIC_COLUMNS])


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
