"""Multi-step return trajectories from joint one-day draws.

A *draw* callable ``draw(k, rng) -> (k, d)`` supplies joint daily draws (from the
trained generator via :func:`generator_draw`, or from a baseline). Paths are built
in one of two modes:

* ``"iid"``: each step is an independent joint draw of log returns.
* ``"garch"`` (default): draws are standardised residuals ``z``; each asset's fitted
  GARCH(1,1) recursion is re-applied from the last observed state, so volatility
  clusters while the cross-asset dependence comes from the generator
  (:meth:`~quantum_scenarios.scenarios.volatility.GarchFit.simulate`).

Levels start from the last observed price: ``level_t = P_T * exp(sum_{s<=t} r_s)``.

Note:
    Unit variance on the grid. The GARCH recursion assumes ``Var(z) = 1``. A generator on
    a binned grid only approximates that: residuals beyond the encoding bounds are
    clipped into the edge bins (the tails are lost), while uniform dequantisation adds
    within-bin variance. On the bundled data (3 qubits per asset, bounds at the 0.5% and
    99.5% quantiles) the two nearly cancel: dequantised draws from the training
    histogram have variance 1.00 to 1.01 per asset. Draws are used as they come (no
    rescaling), so the simulated volatility carries that small bias, and one-day shocks
    never exceed the bounds unless :func:`generator_draw` is given ``reference`` data.
    :attr:`Trajectories.draws` keeps the draws so the effect can be measured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantum_scenarios.scenarios.volatility import GarchFit

__all__ = ["Draw", "Trajectories", "generator_draw", "paths_from_draws", "simulate_paths"]

Draw = Callable[[int, np.random.Generator], np.ndarray]
"""``draw(k, rng)`` returns ``k`` joint draws, shape ``(k, d)``."""

_MODES = ("garch", "iid")
FRAME_COLUMNS = ("run_id", "scenario_type", "path_id", "step", "asset", "log_return", "level")


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Simulated paths of joint log returns and price levels.

    Attributes:
        log_returns: Shape ``(n_paths, horizon, d)``; daily log returns.
        levels: Shape ``(n_paths, horizon, d)``; prices after each step.
        assets: Asset names, the last axis's order.
        mode: ``"garch"`` or ``"iid"`` (``"historical"`` for replayed data windows).
        seed: Seed the draws came from (``None`` when built from given draws without one).
        draws: The generator draws the paths were built from, ``(n_paths, horizon, d)``
            (standardised residuals in GARCH mode, log returns in iid mode).
        last_prices: Starting price per asset, shape ``(d,)``.
        path_ids: Identifier of each path, shape ``(n_paths,)``; ``None`` means ``0..n-1``.
            A selection of another set (e.g. tail scenarios) keeps the original ids.
    """

    log_returns: np.ndarray
    levels: np.ndarray
    assets: tuple[str, ...]
    mode: str
    seed: int | None
    draws: np.ndarray
    last_prices: np.ndarray
    path_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.log_returns.ndim != 3 or self.log_returns.shape != self.levels.shape:
            raise ValueError(
                "log_returns and levels must both have shape (n_paths, horizon, d); received "
                f"{self.log_returns.shape} and {self.levels.shape}"
            )
        if self.log_returns.shape[2] != len(self.assets):
            raise ValueError(
                f"log_returns has {self.log_returns.shape[2]} assets on its last axis but assets "
                f"names {len(self.assets)}: {list(self.assets)}"
            )
        if self.path_ids is None:
            object.__setattr__(self, "path_ids", np.arange(self.n_paths, dtype=np.int64))
        elif np.shape(self.path_ids) != (self.n_paths,):
            raise ValueError(f"path_ids must have shape ({self.n_paths},); received {self.path_ids.shape}")

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.log_returns.shape[0])

    @property
    def horizon(self) -> int:
        """Steps per path."""
        return int(self.log_returns.shape[1])

    def select(self, rows: np.ndarray) -> Trajectories:
        """Return the paths at positions ``rows`` (keeping their ``path_ids``)."""
        rows = np.asarray(rows, dtype=np.int64)
        return Trajectories(
            log_returns=self.log_returns[rows],
            levels=self.levels[rows],
            assets=self.assets,
            mode=self.mode,
            seed=self.seed,
            draws=self.draws[rows],
            last_prices=self.last_prices,
            path_ids=self.path_ids[rows],
        )

    def to_frame(self, run_id: str, scenario_type: str) -> pd.DataFrame:
        """Long-form table, one row per path, step and asset.

        Args:
            run_id: Run identifier written into every row.
            scenario_type: Scenario type written into every row (``"base"``, ``"tail"``, ...).

        Returns:
            Columns ``run_id, scenario_type, path_id, step, asset, log_return, level``;
            ``step`` runs ``1..horizon``; ``asset`` is categorical in :attr:`assets` order.
        """
        n, h, d = self.log_returns.shape
        size = n * h * d
        return pd.DataFrame(
            {
                "run_id": pd.Series([str(run_id)] * size, dtype="string"),
                "scenario_type": pd.Series([str(scenario_type)] * size, dtype="string"),
                "path_id": np.repeat(self.path_ids.astype(np.int64), h * d),
                "step": np.tile(np.repeat(np.arange(1, h + 1, dtype=np.int32), d), n),
                "asset": pd.Categorical.from_codes(
                    np.tile(np.arange(d), n * h), categories=list(self.assets)
                ),
                "log_return": self.log_returns.reshape(-1),
                "level": self.levels.reshape(-1),
            },
            columns=list(FRAME_COLUMNS),
        )


def _check_last_prices(last_prices: pd.Series | Sequence[float], assets: tuple[str, ...]) -> np.ndarray:
    if isinstance(last_prices, pd.Series):
        missing = [a for a in assets if a not in last_prices.index]
        if missing:
            raise ValueError(
                f"last_prices has no price for assets {missing}; expected an index containing "
                f"{list(assets)}, received {list(last_prices.index)}"
            )
        prices = last_prices.loc[list(assets)].to_numpy(dtype=float)
    else:
        prices = np.asarray(last_prices, dtype=float).ravel()
        if prices.size != len(assets):
            raise ValueError(
                f"last_prices must hold one price per asset ({len(assets)}: {list(assets)}); "
                f"received {prices.size}"
            )
    if not np.all(np.isfinite(prices) & (prices > 0)):
        raise ValueError(f"last_prices must be positive and finite; received {prices.tolist()}")
    return prices


def paths_from_draws(
    draws: np.ndarray,
    *,
    mode: str = "garch",
    garch: GarchFit | None = None,
    last_prices: pd.Series | Sequence[float],
    assets: Sequence[str],
    seed: int | None = None,
    volatility_factor: float = 1.0,
) -> Trajectories:
    """Build trajectories from given draws (the deterministic half of :func:`simulate_paths`).

    Stress scenarios use this to re-simulate with the *same* draws under changed conditions.

    Args:
        draws: Shape ``(n_paths, horizon, d)``: standardised residuals (``garch``) or log
            returns (``iid``).
        mode: ``"garch"`` or ``"iid"``.
        garch: The fitted per-asset GARCH models; required in ``garch`` mode.
        last_prices: Last observed price per asset (a Series indexed by asset, or a sequence
            in ``assets`` order).
        assets: Asset names in the order of the draws' last axis.
        seed: Recorded on the result.
        volatility_factor: Multiplies the starting conditional volatility (``garch``) or the
            deviations of each step from the draws' per-asset mean (``iid``).

    Returns:
        The trajectories.
    """
    assets = tuple(str(a) for a in assets)
    z = np.asarray(draws, dtype=float)
    if z.ndim != 3 or z.shape[2] != len(assets):
        raise ValueError(
            f"draws must have shape (n_paths, horizon, {len(assets)}) for assets {list(assets)}; "
            f"received {z.shape}"
        )
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {list(_MODES)}; received {mode!r}")
    if not volatility_factor > 0:
        raise ValueError(f"volatility_factor must be positive; received {volatility_factor!r}")
    prices = _check_last_prices(last_prices, assets)
    if mode == "garch":
        if garch is None:
            raise ValueError(
                "mode='garch' needs the fitted GARCH models (garch=fit_garch(train_returns)); "
                "pass them or use mode='iid'"
            )
        if tuple(garch.assets) != assets:
            raise ValueError(
                f"GARCH fit is for assets {list(garch.assets)} but the draws are for {list(assets)}; "
                "fit the GARCH models on the same assets in the same order"
            )
        log_returns = garch.simulate(z, volatility_factor=volatility_factor)
    else:
        mean = z.mean(axis=(0, 1), keepdims=True)
        log_returns = mean + volatility_factor * (z - mean) if volatility_factor != 1.0 else z.copy()
    levels = prices * np.exp(np.cumsum(log_returns, axis=1))
    return Trajectories(
        log_returns=log_returns,
        levels=levels,
        assets=assets,
        mode=mode,
        seed=seed,
        draws=z,
        last_prices=prices,
    )


def simulate_paths(
    draw: Draw,
    *,
    n_paths: int = 1000,
    horizon: int = 10,
    mode: str = "garch",
    garch: GarchFit | None = None,
    last_prices: pd.Series | Sequence[float],
    assets: Sequence[str],
    seed: int = 0,
) -> Trajectories:
    """Simulate ``n_paths`` paths of ``horizon`` joint daily returns.

    One call ``draw(n_paths * horizon, rng)`` with ``rng = numpy.random.default_rng(seed)``
    supplies every step; draw ``p * horizon + t`` becomes step ``t`` of path ``p``.

    Args:
        draw: ``draw(k, rng) -> (k, d)`` joint draws; see :func:`generator_draw`.
        n_paths: Number of paths.
        horizon: Steps (trading days) per path.
        mode: ``"garch"`` (draws are standardised residuals fed through the fitted GARCH
            recursions; default) or ``"iid"`` (draws are log returns).
        garch: Fitted GARCH models; required in ``garch`` mode.
        last_prices: Last observed price per asset; levels start there.
        assets: Asset names in the order of the draws' columns.
        seed: Seed of the draws.

    Returns:
        The trajectories, recording ``mode``, ``seed`` and the draws.
    """
    for name, value in (("n_paths", n_paths), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; received {value!r}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {list(_MODES)}; received {mode!r}")
    assets = tuple(str(a) for a in assets)
    rng = np.random.default_rng(seed)
    k = int(n_paths) * int(horizon)
    flat = np.asarray(draw(k, rng), dtype=float)
    if flat.shape != (k, len(assets)):
        raise ValueError(
            f"draw({k}, rng) must return shape ({k}, {len(assets)}) for assets {list(assets)}; "
            f"received {flat.shape}"
        )
    return paths_from_draws(
        flat.reshape(int(n_paths), int(horizon), len(assets)),
        mode=mode,
        garch=garch,
        last_prices=last_prices,
        assets=assets,
        seed=seed,
    )


def generator_draw(
    encoding: Any,
    probabilities: np.ndarray,
    *,
    dequantise: bool = True,
    reference: np.ndarray | pd.DataFrame | None = None,
) -> Draw:
    """A draw callable sampling the generator's distribution on the encoding grid.

    The generator decides *which cell* each draw falls in. Where in the cell is decided by:

    * ``reference=None`` (default): uniformly within the cell (``dequantise=True``), or the
      cell centre (``dequantise=False``), i.e. :meth:`Encoding.sample`.
    * ``reference`` data (e.g. the training residuals): a cell that holds reference points
      yields one of them at random (a bootstrap *within* the cell); empty cells fall back to
      uniform. Uniform jitter is independent across assets, so it dilutes strong
      cross-asset correlation inside a cell (on the bundled data with 3 qubits per asset
      the SP500/NASDAQ residual correlation 0.915 drops by about 0.07), and it cannot
      leave the bounds. Reference points keep the within-cell dependence and, in the edge
      cells, the tails beyond the bounds. The cell probabilities still come only from the
      generator.

    Args:
        encoding: The :class:`~quantum_scenarios.encoding.Encoding` the generator was trained on.
        probabilities: The generator's basis-state probabilities, shape ``(2**N,)``.
        dequantise: Without ``reference``: spread draws uniformly within their cell (default)
            instead of returning cell centres.
        reference: Optional values ``(m, d)`` in the encoding's space and asset order.

    Returns:
        ``draw(k, rng) -> (k, d)``, all randomness from ``rng``.
    """
    probs = np.asarray(probabilities, dtype=float)
    if reference is None:

        def draw(k: int, rng: np.random.Generator) -> np.ndarray:
            return encoding.sample(probs, k, seed=rng, dequantise=dequantise)

        return draw

    points = np.asarray(reference, dtype=float)
    d = len(encoding.assets)
    if points.ndim != 2 or points.shape[1] != d or points.shape[0] == 0:
        raise ValueError(
            f"reference must hold values of shape (m, {d}) for assets {list(encoding.assets)}; "
            f"received {points.shape}"
        )
    cells = encoding.digitize(points)
    order = np.argsort(cells, kind="stable")
    n_cells = 2 ** int(encoding.num_qubits_total)
    counts = np.bincount(cells, minlength=n_cells)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sorted_points = points[order]
    widths = encoding.bin_widths()

    def draw_with_reference(k: int, rng: np.random.Generator) -> np.ndarray:
        centres = encoding.sample(probs, k, seed=rng, dequantise=False)
        drawn = encoding.digitize(centres)
        out = centres + (rng.random(centres.shape) - 0.5) * widths
        filled = counts[drawn] > 0
        cell = drawn[filled]
        pick = starts[cell] + np.minimum((rng.random(cell.size) * counts[cell]).astype(np.int64), counts[cell] - 1)
        out[filled] = sorted_points[pick]
        return out

    return draw_with_reference
