"""Per-asset GARCH(1,1) volatility: fit with ``arch``, filter new data, re-simulate.

The GARCH mode of the pipeline separates *volatility dynamics* (per asset, classical)
from the *joint shape* of the shocks (the quantum model). For each asset ``i``::

    y_t     = scale * r_t                    (scaled log return; scale=100 -> percent)
    y_t     = mu + eps_t,   eps_t = sigma_t z_t
    sigma2_{t+1} = omega + alpha eps_t^2 + beta sigma2_t
    z_t ~ standardised Student-t(nu)        (zero mean, **unit variance**)

The qGAN is trained on the joint distribution of the standardised residuals
``z_t``; paths feed generated ``z`` back through the recursion from the last
observed state (:meth:`GarchFit.simulate`).

Note:
    Units. ``mu``, ``omega``, ``eps`` and ``sigma`` live in *scaled* units (percent
    returns with the default ``scale=100``, so ``sigma2`` is in percent squared).
    ``arch`` optimises poorly on raw decimal returns, hence the scaling.
    Standardised residuals are scale free, and :meth:`GarchFit.simulate` divides
    by ``scale`` again, so everything it returns is a plain log return.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from arch import arch_model

__all__ = ["GarchFit", "check_returns", "fit_garch", "format_date"]

_DISTS = {"t": "t", "normal": "normal"}
_PARAM_NAMES = ("mu", "omega", "alpha", "beta", "nu")


def format_date(value: object) -> str:
    """A row label for messages: ``2008-10-10`` for midnight timestamps, ``str`` otherwise."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return str(value.date())
    return str(value)


def check_returns(returns: pd.DataFrame, *, name: str = "returns") -> pd.DataFrame:
    """Check a wide frame of returns: a DataFrame, not empty, every value finite.

    Raises:
        TypeError: If ``returns`` is not a DataFrame.
        ValueError: If it is empty or holds a missing / infinite value (naming asset and date).
    """
    if not isinstance(returns, pd.DataFrame):
        raise TypeError(
            f"{name} must be a wide pandas DataFrame (one column per asset); "
            f"received {type(returns).__name__}"
        )
    if returns.shape[1] == 0 or returns.shape[0] == 0:
        raise ValueError(f"{name} is empty; expected rows of dates and one column per asset")
    values = returns.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(a[0]) for a in np.nonzero(bad))
        raise ValueError(
            f"{name} must be finite: asset {returns.columns[col]!r} on {format_date(returns.index[row])} "
            f"is {float(values[row, col])}; drop or fill missing days before fitting"
        )
    return returns


@dataclass(frozen=True, eq=False)
class GarchFit:
    """Fitted per-asset GARCH(1,1) models and their last observed state.

    Attributes:
        assets: Asset names, in column order.
        params: One row per asset, columns ``mu, omega, alpha, beta, nu`` in scaled units
            (``nu`` is ``inf`` for ``dist="normal"``).
        last_variance: ``sigma2_T`` per asset, the conditional variance of the last
            observed day (scaled units squared).
        last_residual: ``eps_T = scale * r_T - mu`` per asset (scaled units).
        residuals: Standardised residuals ``z_t = eps_t / sigma_t``, wide, same index and
            columns as the fitted returns (no rows lost).
        conditional_volatility: ``sigma_t`` per asset and day (scaled units).
        scale: Multiplier applied to the log returns before fitting (100 = percent).
        dist: Residual distribution used in the fit (``"t"`` or ``"normal"``).
    """

    assets: tuple[str, ...]
    params: pd.DataFrame
    last_variance: pd.Series
    last_residual: pd.Series
    residuals: pd.DataFrame = field(repr=False)
    conditional_volatility: pd.DataFrame = field(repr=False)
    scale: float = 100.0
    dist: str = "t"

    def _param(self, name: str) -> np.ndarray:
        return self.params.loc[list(self.assets), name].to_numpy(dtype=float)

    def next_variance(self) -> np.ndarray:
        """``sigma2_{T+1} = omega + alpha eps_T^2 + beta sigma2_T`` per asset (scaled units)."""
        eps = self.last_residual.loc[list(self.assets)].to_numpy(dtype=float)
        s2 = self.last_variance.loc[list(self.assets)].to_numpy(dtype=float)
        return self._param("omega") + self._param("alpha") * eps**2 + self._param("beta") * s2

    def filter(self, returns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Run the fitted recursion over new returns that follow the fitted sample.

        Parameters stay fixed (no refit), which is what an honest out-of-sample
        evaluation needs: the state continues from the last fitted day.

        Args:
            returns: Wide log returns (not scaled), columns = :attr:`assets`, dates after the
                fitted sample.

        Returns:
            ``(residuals, conditional_volatility)``: standardised residuals and ``sigma_t``
            (scaled units), both with the index and columns of ``returns``. ``sigma_t``
            depends only on data before ``t``, so it is a genuine one-day-ahead forecast.
        """
        returns = check_returns(returns)
        fitted = self.residuals.index
        if len(fitted) and len(returns.index) and returns.index[0] <= fitted[-1]:
            raise ValueError(
                f"filter continues the recursion after the last fitted day {format_date(fitted[-1])}; received "
                f"returns starting {format_date(returns.index[0])}. Pass only the rows after the fitted sample (e.g. the test period)"
            )
        missing = [a for a in self.assets if a not in returns.columns]
        if missing:
            raise ValueError(
                f"returns lack the fitted assets {missing}; expected columns {list(self.assets)}, "
                f"received {list(returns.columns)}"
            )
        y = returns[list(self.assets)].to_numpy(dtype=float) * self.scale
        mu, omega = self._param("mu"), self._param("omega")
        alpha, beta = self._param("alpha"), self._param("beta")
        sigma2 = np.empty_like(y)
        s2 = self.next_variance()
        for t in range(y.shape[0]):
            sigma2[t] = s2
            eps = y[t] - mu
            s2 = omega + alpha * eps**2 + beta * s2
        sigma = np.sqrt(sigma2)
        cols = list(self.assets)
        z = pd.DataFrame((y - mu) / sigma, index=returns.index, columns=cols)
        vol = pd.DataFrame(sigma, index=returns.index, columns=cols)
        return z, vol

    def extend(self, returns: pd.DataFrame) -> GarchFit:
        """The same parameters with the state moved to the end of ``returns`` (no refit).

        Use it to simulate "from today" with a model fitted on a training period only:
        ``fit_garch(train).extend(test)`` keeps the training parameters and starts paths
        from the last test day's variance and residual.

        Args:
            returns: Wide log returns following the fitted sample, columns = :attr:`assets`.

        Returns:
            A new fit whose ``residuals`` and ``conditional_volatility`` also cover ``returns``.
        """
        z, vol = self.filter(returns)
        last_sigma = vol.iloc[-1]
        return GarchFit(
            assets=self.assets,
            params=self.params,
            last_variance=(last_sigma**2).rename("last_variance"),
            last_residual=(z.iloc[-1] * last_sigma).rename("last_residual"),
            residuals=pd.concat([self.residuals, z]),
            conditional_volatility=pd.concat([self.conditional_volatility, vol]),
            scale=self.scale,
            dist=self.dist,
        )

    def simulate(self, residuals: np.ndarray, *, volatility_factor: float = 1.0) -> np.ndarray:
        """Turn standardised residual draws into log-return paths.

        Starting from the last observed state, for each step ``t = 1..H``::

            sigma2_1 = volatility_factor^2 * (omega + alpha eps_T^2 + beta sigma2_T)
            eps_t = sigma_t z_t;  r_t = (mu + eps_t) / scale
            sigma2_{t+1} = omega + alpha eps_t^2 + beta sigma2_t

        Args:
            residuals: Draws ``z`` of shape ``(n_paths, horizon, d)``, assets in :attr:`assets`
                order. The recursion assumes unit variance (see
                :func:`quantum_scenarios.scenarios.trajectories.simulate_paths` on the grid).
            volatility_factor: Multiplies the starting conditional volatility (a volatility
                shock); the shock then decays at rate ``alpha + beta`` through the recursion.

        Returns:
            Log returns (plain, not scaled) of shape ``(n_paths, horizon, d)``.
        """
        z = np.asarray(residuals, dtype=float)
        if z.ndim != 3 or z.shape[2] != len(self.assets):
            raise ValueError(
                f"residuals must have shape (n_paths, horizon, {len(self.assets)}) for assets "
                f"{list(self.assets)}; received {z.shape}"
            )
        if not volatility_factor > 0:
            raise ValueError(f"volatility_factor must be positive; received {volatility_factor!r}")
        mu, omega = self._param("mu"), self._param("omega")
        alpha, beta = self._param("alpha"), self._param("beta")
        out = np.empty_like(z)
        s2 = np.broadcast_to(self.next_variance() * volatility_factor**2, z[:, 0, :].shape)
        for t in range(z.shape[1]):
            eps = np.sqrt(s2) * z[:, t, :]
            out[:, t, :] = (mu + eps) / self.scale
            s2 = omega + alpha * eps**2 + beta * s2
        return out


def fit_garch(returns: pd.DataFrame, *, dist: str = "t", scale: float = 100.0) -> GarchFit:
    """Fit a constant-mean GARCH(1,1) to each asset's log returns.

    Each column is fitted independently with
    ``arch.arch_model(scale * r, mean="Constant", vol="GARCH", p=1, q=1, dist=dist)``.

    Args:
        returns: Wide log returns (decimal, e.g. ``0.01`` for 1%), one column per asset,
            no missing values.
        dist: Standardised residual distribution, ``"t"`` (Student-t, default) or ``"normal"``.
        scale: Multiplier applied before fitting; ``100`` fits percent returns (see the
            module note on units).

    Returns:
        The per-asset parameters, last state and standardised residuals.

    Warns:
        RuntimeWarning: when the optimiser reports non-convergence for an asset.
    """
    returns = check_returns(returns)
    if dist not in _DISTS:
        raise ValueError(f"dist must be one of {sorted(_DISTS)}; received {dist!r}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number (100 = percent returns); received {scale!r}")
    if len(returns) < 100:
        raise ValueError(
            f"GARCH(1,1) needs at least 100 observations per asset to fit; received {len(returns)} rows"
        )
    assets = tuple(str(c) for c in returns.columns)
    rows, last_var, last_eps, z_cols, vol_cols = {}, {}, {}, {}, {}
    for asset, column in zip(assets, returns.columns):
        y = returns[column].astype(float) * scale
        result = arch_model(y, mean="Constant", vol="GARCH", p=1, q=1, dist=_DISTS[dist]).fit(
            disp="off"
        )
        if result.convergence_flag != 0:
            warnings.warn(
                f"GARCH fit for asset {asset!r} did not converge (optimizer flag "
                f"{result.convergence_flag}); parameters may be unreliable",
                RuntimeWarning,
                stacklevel=2,
            )
        p = result.params
        rows[asset] = {
            "mu": float(p["mu"]),
            "omega": float(p["omega"]),
            "alpha": float(p["alpha[1]"]),
            "beta": float(p["beta[1]"]),
            "nu": float(p["nu"]) if "nu" in p.index else float("inf"),
        }
        vol = result.conditional_volatility.to_numpy(dtype=float)
        last_var[asset] = float(vol[-1] ** 2)
        last_eps[asset] = float(result.resid.to_numpy(dtype=float)[-1])
        z_cols[asset] = result.std_resid.to_numpy(dtype=float)
        vol_cols[asset] = vol
    params = pd.DataFrame.from_dict(rows, orient="index").loc[list(assets), list(_PARAM_NAMES)]
    return GarchFit(
        assets=assets,
        params=params,
        last_variance=pd.Series(last_var, name="last_variance"),
        last_residual=pd.Series(last_eps, name="last_residual"),
        residuals=pd.DataFrame(z_cols, index=returns.index)[list(assets)],
        conditional_volatility=pd.DataFrame(vol_cols, index=returns.index)[list(assets)],
        scale=float(scale),
        dist=dist,
    )
