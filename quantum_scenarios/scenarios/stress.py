"""Stress scenarios for a portfolio, and their VaR / ES table.

Four scenario types, each a :class:`StressSet`:

* ``tail``: simulated paths whose horizon portfolio loss is beyond VaR at level ``q``.
* ``vol_shock``: the same draws re-simulated with the starting volatility multiplied by ``k``.
* ``correlation_stress``: the same draws with their off-diagonal correlation pushed toward
  a stress level (in residual space in GARCH mode), then re-simulated.
* ``historical_replay``: the worst non-overlapping ``H``-day windows of the data.

Portfolio losses aggregate simple returns: over a horizon with per-asset cumulative log
returns ``R_i = sum_t r_ti`` the loss is ``-(sum_i w_i (exp(R_i) - 1))`` (positive = loss,
a fraction of the portfolio's value when the weights sum to one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios.scenarios.trajectories import Trajectories, paths_from_draws
from quantum_scenarios.scenarios.volatility import GarchFit, check_returns, format_date
from quantum_scenarios.evaluation.risk import expected_shortfall, var

__all__ = [
    "SCENARIO_TYPES",
    "StressSet",
    "correlation_stress",
    "historical_replay",
    "portfolio_losses",
    "portfolio_weights",
    "risk_table",
    "stress_correlation",
    "tail_scenarios",
    "volatility_shock",
]

SCENARIO_TYPES = ("tail", "vol_shock", "correlation_stress", "historical_replay")


@dataclass(frozen=True, eq=False)
class StressSet:
    """One stress scenario type: its paths and per-path annotations.

    Attributes:
        name: The scenario type (``"tail"``, ``"vol_shock"``, ``"correlation_stress"``,
            ``"historical_replay"``); written as ``scenario_type`` in the dataset.
        trajectories: The stressed paths.
        extra: One row per path, aligned with ``trajectories`` (column ``path_id`` plus
            type-specific columns such as ``rank``, ``loss``, ``start``, ``end``).
        description: One human-readable sentence for reports.
    """

    name: str
    trajectories: Trajectories
    extra: pd.DataFrame
    description: str

    @property
    def log_returns(self) -> np.ndarray:
        """The stressed log returns, ``(n_paths, horizon, d)``."""
        return self.trajectories.log_returns

    def to_frame(self, run_id: str) -> pd.DataFrame:
        """Long-form rows for the dataset, ``scenario_type`` = :attr:`name`."""
        return self.trajectories.to_frame(run_id, self.name)


def portfolio_weights(weights: ArrayLike | None, d: int) -> np.ndarray:
    """Checked portfolio weights, one per asset; ``None`` is equal weights ``1 / d``."""
    if weights is None:
        return np.full(d, 1.0 / d)
    w = np.asarray(weights, dtype=float).ravel()
    if w.size != d:
        raise ValueError(f"weights must hold one weight per asset; expected {d}, received {w.size}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite; received {w.tolist()}")
    return w


def portfolio_losses(log_returns: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
    """Horizon portfolio loss of each path.

    Args:
        log_returns: Shape ``(n, H, d)`` (or ``(n, d)`` for one step).
        weights: Portfolio weight per asset; ``None`` is equal weights.

    Returns:
        Shape ``(n,)``: ``-(sum_i w_i (exp(sum_t r_ti) - 1))``.
    """
    r = np.asarray(log_returns, dtype=float)
    if r.ndim == 2:
        r = r[:, None, :]
    if r.ndim != 3:
        raise ValueError(f"log_returns must have shape (n, H, d) or (n, d); received {r.shape}")
    w = portfolio_weights(weights, r.shape[2])
    return -np.expm1(r.sum(axis=1)) @ w


def tail_scenarios(
    paths: Trajectories, *, weights: ArrayLike | None = None, level: float = 0.99
) -> StressSet:
    """Paths whose horizon portfolio loss is strictly beyond VaR at ``level``.

    Args:
        paths: Simulated trajectories.
        weights: Portfolio weights; equal by default.
        level: VaR confidence level ``q``.

    Returns:
        The tail paths, worst first; ``extra`` has ``path_id``, ``rank`` (1 = worst) and
        ``loss``; ``extra.attrs`` holds ``var`` and ``es``.
    """
    losses = portfolio_losses(paths.log_returns, weights)
    v = var(losses, level)
    es = expected_shortfall(losses, level)
    beyond = np.flatnonzero(losses > v)
    if beyond.size == 0:
        raise ValueError(
            f"no path has a portfolio loss beyond the {level:.2%} VaR ({v:.4g}): with "
            f"{paths.n_paths} paths the VaR is the worst path; simulate at least "
            f"{int(np.ceil(2 / (1 - level)))} paths or lower the level"
        )
    order = beyond[np.argsort(-losses[beyond], kind="stable")]
    selected = paths.select(order)
    extra = pd.DataFrame(
        {
            "path_id": selected.path_ids,
            "rank": np.arange(1, order.size + 1),
            "loss": losses[order],
        }
    )
    extra.attrs.update({"var": v, "es": es, "level": float(level)})
    description = (
        f"{order.size} of {paths.n_paths} paths whose {paths.horizon}-day portfolio loss exceeds "
        f"the {level:.0%} VaR of {v:.2%} (ES {es:.2%})"
    )
    return StressSet("tail", selected, extra, description)


def volatility_shock(
    paths: Trajectories,
    *,
    garch: GarchFit | None = None,
    factor: float = 2.0,
    weights: ArrayLike | None = None,
) -> StressSet:
    """Re-simulate the same draws with the volatility multiplied by ``factor``.

    In GARCH mode the starting conditional volatility ``sigma_{T+1}`` is multiplied by
    ``factor`` (its variance by ``factor**2``) and the shock then decays through the
    fitted recursion at rate ``alpha + beta``. In iid mode every step's deviation from the
    per-asset mean is multiplied by ``factor``.

    Args:
        paths: Base trajectories (their draws are reused).
        garch: The GARCH fit the paths were simulated with; required in GARCH mode.
        factor: Volatility multiplier ``k > 0``.
        weights: Portfolio weights for the ``loss`` columns; equal by default.

    Returns:
        All paths, shocked; ``extra`` has ``path_id``, ``loss`` and ``base_loss``.
    """
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(f"factor must be a positive volatility multiplier (e.g. 2.0); received {factor!r}")
    shocked = paths_from_draws(
        paths.draws,
        mode=paths.mode,
        garch=garch,
        last_prices=paths.last_prices,
        assets=paths.assets,
        seed=paths.seed,
        volatility_factor=factor,
    )
    shocked = _with_path_ids(shocked, paths.path_ids)
    extra = pd.DataFrame(
        {
            "path_id": paths.path_ids,
            "loss": portfolio_losses(shocked.log_returns, weights),
            "base_loss": portfolio_losses(paths.log_returns, weights),
        }
    )
    description = (
        f"the {paths.n_paths} base paths re-simulated from the same draws with "
        f"{factor:g}x the starting volatility ({paths.mode} mode)"
    )
    return StressSet("vol_shock", shocked, extra, description)


def _with_path_ids(paths: Trajectories, path_ids: np.ndarray) -> Trajectories:
    return Trajectories(
        log_returns=paths.log_returns,
        levels=paths.levels,
        assets=paths.assets,
        mode=paths.mode,
        seed=paths.seed,
        draws=paths.draws,
        last_prices=paths.last_prices,
        path_ids=path_ids,
    )


def _mean_off_diagonal(corr: np.ndarray) -> float:
    d = corr.shape[0]
    return float((corr.sum() - np.trace(corr)) / (d * (d - 1)))


def stress_correlation(
    draws: ArrayLike,
    *,
    stress_level: float = 0.9,
    intensity: float = 1.0,
    preserve_marginals: bool = True,
) -> np.ndarray:
    """Push the correlation of joint draws toward a stress level.

    With ``C`` the draws' sample correlation and ``S`` the equicorrelation matrix with
    off-diagonal ``stress_level``, the target is ``C_s = (1 - intensity) C + intensity S``
    (a convex combination of correlation matrices, hence valid). The draws are whitened
    with the Cholesky factor of their sample covariance and recoloured with the factor of
    ``D C_s D`` (``D`` = their standard deviations), so the result's sample correlation is
    exactly ``C_s``. With ``preserve_marginals`` each column is then mapped back onto the
    original column's sorted values by rank: marginals are kept exactly and the rank
    dependence of ``C_s`` is kept, so the Pearson correlation lands close to ``C_s``.

    Args:
        draws: Joint draws, shape ``(m, d)`` with ``d >= 2``.
        stress_level: Off-diagonal correlation to push toward, in ``(-1/(d-1), 1)``.
        intensity: How far to push, in ``[0, 1]`` (1 = all the way).
        preserve_marginals: Rank-map each column back onto its original values.

    Returns:
        Stressed draws, shape ``(m, d)``.
    """
    z = np.asarray(draws, dtype=float)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(
            f"correlation stress needs joint draws of at least two assets, shape (m, d>=2); received {z.shape}"
        )
    m, d = z.shape
    if m <= d:
        raise ValueError(f"need more draws than assets to estimate a correlation; received {m} draws of {d}")
    low = -1.0 / (d - 1)
    if not low < stress_level < 1.0:
        raise ValueError(
            f"stress_level must lie in ({low:.4g}, 1) so the {d}x{d} stressed correlation is "
            f"positive definite; received {stress_level!r}"
        )
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"intensity must lie in [0, 1]; received {intensity!r}")
    mean = z.mean(axis=0)
    centred = z - mean
    cov = centred.T @ centred / (m - 1)
    std = np.sqrt(np.diag(cov))
    if np.any(std <= 0):
        flat = int(np.flatnonzero(std <= 0)[0])
        raise ValueError(f"draws of asset column {flat} are constant; a correlation cannot be stressed")
    corr = cov / np.outer(std, std)
    target = (1.0 - intensity) * corr + intensity * (
        np.full((d, d), stress_level) + (1.0 - stress_level) * np.eye(d)
    )
    white = np.linalg.solve(np.linalg.cholesky(cov), centred.T).T
    stressed = white @ np.linalg.cholesky(target * np.outer(std, std)).T + mean
    if preserve_marginals:
        ranks = np.argsort(np.argsort(stressed, axis=0, kind="stable"), axis=0, kind="stable")
        stressed = np.take_along_axis(np.sort(z, axis=0), ranks, axis=0)
    return stressed


def correlation_stress(
    paths: Trajectories,
    *,
    garch: GarchFit | None = None,
    stress_level: float = 0.9,
    intensity: float = 1.0,
    preserve_marginals: bool = True,
    weights: ArrayLike | None = None,
) -> StressSet:
    """Re-simulate the base paths from draws whose correlation is pushed toward ``stress_level``.

    The transformation (:func:`stress_correlation`) acts on all draws pooled across paths
    and steps: standardised residuals in GARCH mode (so the GARCH volatility dynamics are
    untouched), log returns in iid mode.

    Args:
        paths: Base trajectories (their draws are reused).
        garch: The GARCH fit the paths were simulated with; required in GARCH mode.
        stress_level: Target off-diagonal correlation.
        intensity: Fraction of the way from the draws' correlation to the stress level.
        preserve_marginals: Keep each asset's draws' values exactly (rank mapping).
        weights: Portfolio weights for the ``loss`` columns; equal by default.

    Returns:
        All paths, stressed; ``extra`` has ``path_id``, ``loss``, ``base_loss`` and
        ``extra.attrs`` the draws' correlation before and after (``corr_before``, ``corr_after``).
    """
    n, h, d = paths.draws.shape
    flat = paths.draws.reshape(n * h, d)
    stressed = stress_correlation(
        flat, stress_level=stress_level, intensity=intensity, preserve_marginals=preserve_marginals
    )
    result = paths_from_draws(
        stressed.reshape(n, h, d),
        mode=paths.mode,
        garch=garch,
        last_prices=paths.last_prices,
        assets=paths.assets,
        seed=paths.seed,
    )
    result = _with_path_ids(result, paths.path_ids)
    before, after = np.corrcoef(flat, rowvar=False), np.corrcoef(stressed, rowvar=False)
    extra = pd.DataFrame(
        {
            "path_id": paths.path_ids,
            "loss": portfolio_losses(result.log_returns, weights),
            "base_loss": portfolio_losses(paths.log_returns, weights),
        }
    )
    extra.attrs.update({"corr_before": before.tolist(), "corr_after": after.tolist()})
    space = "standardised residuals" if paths.mode == "garch" else "log returns"
    description = (
        f"the {n} base paths re-simulated with the {space}' mean off-diagonal correlation raised "
        f"from {_mean_off_diagonal(before):.2f} to {_mean_off_diagonal(after):.2f} "
        f"(stress level {stress_level:g}, intensity {intensity:g})"
    )
    return StressSet("correlation_stress", result, extra, description)


def historical_replay(
    returns: pd.DataFrame,
    *,
    horizon: int,
    weights: ArrayLike | None = None,
    n_windows: int = 5,
    last_prices: pd.Series | Sequence[float] | None = None,
) -> StressSet:
    """The worst non-overlapping ``horizon``-day windows of historical returns.

    Windows are ranked by portfolio loss and picked greedily, skipping any window that
    overlaps one already picked.

    Args:
        returns: Wide daily log returns (DatetimeIndex, one column per asset, no gaps).
        horizon: Window length in rows (trading days).
        weights: Portfolio weights; equal by default.
        n_windows: How many windows to return (fewer if the data hold fewer).
        last_prices: Starting level per asset for the replayed paths (e.g. the last
            observed prices, to replay history "from today"); default ``1.0`` (an index).

    Returns:
        One path per window, worst first; ``extra`` has ``path_id``, ``rank``, ``start``,
        ``end`` (the window's first and last dates) and ``loss``.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer number of days; received {horizon!r}")
    if isinstance(n_windows, bool) or not isinstance(n_windows, (int, np.integer)) or n_windows < 1:
        raise ValueError(f"n_windows must be a positive integer; received {n_windows!r}")
    r = check_returns(returns).to_numpy(dtype=float)
    if r.shape[0] < horizon:
        raise ValueError(
            f"historical replay of {horizon}-day windows needs at least {horizon} rows of returns; "
            f"received {r.shape[0]}"
        )
    assets = tuple(str(c) for c in returns.columns)
    w = portfolio_weights(weights, len(assets))
    csum = np.vstack([np.zeros((1, r.shape[1])), np.cumsum(r, axis=0)])
    window_sums = csum[horizon:] - csum[:-horizon]  # (T - H + 1, d)
    losses = -np.expm1(window_sums) @ w
    picked: list[int] = []
    for start in np.argsort(-losses, kind="stable"):
        if all(abs(int(start) - p) >= horizon for p in picked):
            picked.append(int(start))
            if len(picked) == n_windows:
                break
    starts = np.array(picked, dtype=np.int64)
    windows = np.stack([r[s : s + horizon] for s in starts])
    prices = np.ones(len(assets)) if last_prices is None else last_prices
    replay = paths_from_draws(windows, mode="iid", last_prices=prices, assets=assets)
    replay = Trajectories(
        log_returns=replay.log_returns,
        levels=replay.levels,
        assets=assets,
        mode="historical",
        seed=None,
        draws=replay.draws,
        last_prices=replay.last_prices,
    )
    extra = pd.DataFrame(
        {
            "path_id": replay.path_ids,
            "rank": np.arange(1, starts.size + 1),
            "start": returns.index[starts],
            "end": returns.index[starts + horizon - 1],
            "loss": losses[starts],
        }
    )
    worst = extra.iloc[0]
    description = (
        f"the {starts.size} worst non-overlapping {horizon}-day windows of the data; the worst, "
        f"{format_date(worst['start'])} to {format_date(worst['end'])}, lost {worst['loss']:.2%}"
    )
    return StressSet("historical_replay", replay, extra, description)


def _as_named_arrays(
    sets: Iterable[StressSet] | Mapping[str, StressSet | Trajectories | np.ndarray],
) -> list[tuple[str, np.ndarray, tuple[str, ...] | None]]:
    out: list[tuple[str, np.ndarray, tuple[str, ...] | None]] = []
    items = sets.items() if isinstance(sets, Mapping) else ((None, s) for s in sets)
    for key, item in items:
        if isinstance(item, StressSet):
            out.append((key or item.name, item.log_returns, item.trajectories.assets))
        elif isinstance(item, Trajectories) and key is not None:
            out.append((key, item.log_returns, item.assets))
        elif isinstance(item, np.ndarray) and key is not None:
            out.append((key, item, None))
        else:
            raise TypeError(
                "risk_table expects StressSet objects, or a mapping of scenario type to StressSet, "
                f"Trajectories or an (n, H, d) array; received {type(item).__name__}"
            )
    return out


def risk_table(
    sets: Iterable[StressSet] | Mapping[str, StressSet | Trajectories | np.ndarray],
    *,
    weights: ArrayLike | None = None,
    levels: Sequence[float] = (0.95, 0.99),
    horizons: Sequence[int] = (1, 5, 10),
    assets: Sequence[str] | None = None,
) -> pd.DataFrame:
    """VaR and ES for the portfolio and each asset, per horizon, per scenario type.

    The ``h``-day loss of a path uses its first ``h`` steps. Horizons longer than a set's
    paths are left out for that set.

    Args:
        sets: Stress sets (named by their ``name``) or a mapping of scenario type to a
            StressSet, Trajectories (e.g. ``{"base": paths}``) or an ``(n, H, d)`` array.
        weights: Portfolio weights; equal by default.
        levels: VaR / ES confidence levels.
        horizons: Horizons in days.
        assets: Asset names for plain arrays (default ``asset_0, asset_1, ...``).

    Returns:
        Long table with columns ``scenario_type, horizon, level, asset, var, es,
        n_scenarios``; ``asset`` is ``"portfolio"`` for the portfolio rows.
    """
    named = _as_named_arrays(sets)
    if not named:
        raise ValueError("risk_table needs at least one scenario set; received none")
    rows = []
    for name, log_returns, set_assets in named:
        r = np.asarray(log_returns, dtype=float)
        if r.ndim != 3:
            raise ValueError(f"scenario set {name!r} must have shape (n, H, d); received {r.shape}")
        n, h_max, d = r.shape
        names = set_assets or (tuple(assets) if assets is not None else tuple(f"asset_{i}" for i in range(d)))
        w = portfolio_weights(weights, d)
        usable = [h for h in horizons if 1 <= int(h) <= h_max]
        if not usable:
            raise ValueError(
                f"scenario set {name!r} has {h_max}-step paths but no requested horizon fits: "
                f"received horizons {list(horizons)}"
            )
        for h in usable:
            asset_losses = -np.expm1(r[:, : int(h), :].sum(axis=1))  # (n, d)
            columns = [("portfolio", asset_losses @ w)] + [
                (names[i], asset_losses[:, i]) for i in range(d)
            ]
            for level in levels:
                for label, losses in columns:
                    rows.append(
                        {
                            "scenario_type": name,
                            "horizon": int(h),
                            "level": float(level),
                            "asset": label,
                            "var": var(losses, level),
                            "es": expected_shortfall(losses, level),
                            "n_scenarios": n,
                        }
                    )
    return pd.DataFrame(rows, columns=["scenario_type", "horizon", "level", "asset", "var", "es", "n_scenarios"])
