"""Report figures: matplotlib drawings returned as base64 PNG ``data:`` URIs.

Every function here builds a :class:`matplotlib.figure.Figure` directly (no
``pyplot``, so no global figure state and no GUI backend is ever touched) and
returns the image as a ``data:image/png;base64,...`` string that an ``<img>``
tag can carry inside a self-contained HTML page.

Note:
    Distributions on the encoding grid are marginalised by the *decoded value*
    of each basis state (``grid_values``), never by bit position, so the
    figures do not depend on the qubit order of the loader (qiskit-finance
    puts dimension 0 in the most significant qubits).
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

DPI = 90
"""Resolution of every PNG; ~90 keeps a full report at a few hundred kB."""

REAL_COLOUR = "#4c72b0"
GENERATED_COLOUR = "#dd8452"
FAN_QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
"""Quantile bands of the fan chart: 5-95 % (outer), 25-75 % (inner), median."""

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}


@contextmanager
def _style() -> Iterator[None]:
    """Apply the report style while a figure is built (its texts read it at creation)."""
    with matplotlib.rc_context(_STYLE):
        yield


def _text(label: object) -> str:
    """User text for a figure: a literal ``$`` must not start matplotlib mathtext."""
    return str(label).replace("$", r"\$")


def figure_to_data_uri(fig: Figure, *, dpi: int = DPI) -> str:
    """Encode a figure as a base64 PNG ``data:`` URI.

    Args:
        fig: The figure to render.
        dpi: Resolution in dots per inch.

    Returns:
        A string ``"data:image/png;base64,..."``.
    """
    buffer = io.BytesIO()
    with _style():
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def marginalise(
    grid_values: np.ndarray, probabilities: np.ndarray, axes: Sequence[int]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Marginal distribution of a joint grid distribution over some of its assets.

    Args:
        grid_values: ``(2**N, d)`` decoded value of each basis state.
        probabilities: ``(2**N,)`` probability of each basis state.
        axes: Asset indices to keep, in the order wanted.

    Returns:
        ``(values, marginal)``: ``values[k]`` are the sorted distinct grid values
        of asset ``axes[k]``; ``marginal`` has shape ``(len(values[0]), ...)`` and
        holds the summed probability of each combination of kept values.

    Raises:
        ValueError: If the shapes do not agree or an axis is out of range.
    """
    grid = np.asarray(grid_values, dtype=float)
    probs = np.asarray(probabilities, dtype=float)
    if grid.ndim != 2 or probs.shape != (grid.shape[0],):
        raise ValueError(
            f"expected grid_values of shape (S, d) and probabilities of shape (S,); "
            f"received {grid.shape} and {probs.shape}"
        )
    axes = [int(a) for a in axes]
    if not axes or any(a < 0 or a >= grid.shape[1] for a in axes):
        raise ValueError(f"axes must be non-empty indices in [0, {grid.shape[1]}); received {axes}")
    values: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for axis in axes:
        unique, inverse = np.unique(grid[:, axis], return_inverse=True)
        values.append(unique)
        codes.append(inverse.ravel())
    shape = tuple(len(v) for v in values)
    flat = np.ravel_multi_index(tuple(codes), shape)
    marginal = np.bincount(flat, weights=probs, minlength=int(np.prod(shape))).reshape(shape)
    return values, marginal


def _bar_width(values: np.ndarray) -> float:
    """Width of one bin on a (possibly non-uniform) grid of centres."""
    return float(np.min(np.diff(values))) if len(values) > 1 else 1.0


def marginals_figure(
    grid_values: np.ndarray,
    real_probabilities: np.ndarray,
    generated_probabilities: np.ndarray,
    assets: Sequence[str],
) -> str:
    """Per-asset marginal distributions on the grid, real and generated side by side.

    Args:
        grid_values: ``(2**N, d)`` decoded value of each basis state.
        real_probabilities: ``(2**N,)`` training histogram.
        generated_probabilities: ``(2**N,)`` generator distribution.
        assets: Asset names, one per column of ``grid_values``.

    Returns:
        PNG data URI with one bar-chart panel per asset.
    """
    centres, real, generated = [], [], []
    for j in range(len(assets)):
        (values,), r = marginalise(grid_values, real_probabilities, [j])
        _, g = marginalise(grid_values, generated_probabilities, [j])
        centres.append(values)
        real.append(r)
        generated.append(g)
    return marginal_bars_figure(centres, real, generated, assets)


def marginal_bars_figure(
    centres: Sequence[np.ndarray],
    real: Sequence[np.ndarray],
    generated: Sequence[np.ndarray],
    assets: Sequence[str],
) -> str:
    """Per-asset marginals already computed (one panel per asset, three per row).

    Args:
        centres: Per asset, its bin centres.
        real: Per asset, the training marginal on those bins.
        generated: Per asset, the generator's marginal.
        assets: Asset names.

    Returns:
        PNG data URI with one bar-chart panel per asset.
    """
    d = len(assets)
    ncols = min(d, 3)
    nrows = -(-d // ncols)
    with _style():
        fig = Figure(figsize=(3.8 * ncols, 2.8 * nrows), layout="constrained")
        axs = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for j, asset in enumerate(assets):
            ax = axs[j]
            values = np.asarray(centres[j], dtype=float)
            width = 0.42 * _bar_width(values)
            ax.bar(values - width / 2, np.asarray(real[j], dtype=float), width=width, color=REAL_COLOUR, label="real")
            ax.bar(values + width / 2, np.asarray(generated[j], dtype=float), width=width, color=GENERATED_COLOUR,
                   label="generated")
            ax.set_title(_text(asset))
            ax.set_xlabel("bin centre")
            ax.set_ylabel("probability")
        for ax in axs[d:]:
            ax.set_visible(False)
        fig.legend(*axs[0].get_legend_handles_labels(), loc="outside upper center", ncols=2)
    return figure_to_data_uri(fig)


def _annotate_matrix(ax, matrix: np.ndarray, *, fmt: str = "{:+.2f}") -> None:
    """Write each cell value on a heat map (only for small matrices)."""
    if matrix.shape[0] > 8:
        return
    for (i, j), value in np.ndenumerate(matrix):
        colour = "white" if abs(value) > 0.6 * max(np.max(np.abs(matrix)), 1e-12) else "black"
        ax.text(j, i, fmt.format(value), ha="center", va="center", color=colour, fontsize=8)


def correlation_figure(real: np.ndarray, generated: np.ndarray, assets: Sequence[str]) -> str:
    """Correlation heat maps: real, generated and their difference.

    Args:
        real: ``(d, d)`` correlation matrix of the training data.
        generated: ``(d, d)`` correlation matrix of the generator.
        assets: Asset names labelling rows and columns.

    Returns:
        PNG data URI with three heat maps.
    """
    real = np.asarray(real, dtype=float)
    generated = np.asarray(generated, dtype=float)
    diff = generated - real
    span = max(float(np.max(np.abs(diff))), 0.05)
    labels = [_text(a) for a in assets]
    with _style():
        fig = Figure(figsize=(12, 3.6), layout="constrained")
        axs = fig.subplots(1, 3)
        panels = [
            (real, "real", "RdBu_r", -1.0, 1.0),
            (generated, "generated", "RdBu_r", -1.0, 1.0),
            (diff, "generated − real", "PuOr_r", -span, span),
        ]
        for ax, (matrix, title, cmap, vmin, vmax) in zip(axs, panels):
            image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax)
            _annotate_matrix(ax, matrix)
            ax.set_title(title)
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
            ax.set_yticks(range(len(labels)), labels)
            ax.grid(False)
            fig.colorbar(image, ax=ax, shrink=0.8)
    return figure_to_data_uri(fig)


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around bin centres (midpoints, half a step beyond the ends)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])


def joint_pair_figure(
    grid_values: np.ndarray,
    real_probabilities: np.ndarray,
    generated_probabilities: np.ndarray,
    assets: Sequence[str],
    pair: tuple[int, int],
) -> str:
    """2-D joint histogram of one asset pair, real and generated on one colour scale.

    Args:
        grid_values: ``(2**N, d)`` decoded value of each basis state.
        real_probabilities: ``(2**N,)`` training histogram.
        generated_probabilities: ``(2**N,)`` generator distribution.
        assets: Asset names.
        pair: ``(i, j)`` asset indices; ``i`` on the x axis, ``j`` on the y axis.

    Returns:
        PNG data URI with two heat maps.
    """
    i, j = pair
    (x, y), real = marginalise(grid_values, real_probabilities, [i, j])
    _, generated = marginalise(grid_values, generated_probabilities, [i, j])
    vmax = float(max(real.max(), generated.max(), 1e-12))
    with _style():
        fig = Figure(figsize=(6.6, 2.9), layout="constrained")
        axs = fig.subplots(1, 2, sharex=True, sharey=True)
        for ax, matrix, title in zip(axs, (real, generated), ("real", "generated")):
            mesh = ax.pcolormesh(_edges(x), _edges(y), matrix.T, cmap="viridis", vmin=0.0, vmax=vmax)
            ax.set_title(f"{title}: {_text(assets[i])} × {_text(assets[j])}")
            ax.set_xlabel(_text(assets[i]))
            ax.grid(False)
        axs[0].set_ylabel(_text(assets[j]))
        fig.colorbar(mesh, ax=list(axs), shrink=0.85, label="probability")
    return figure_to_data_uri(fig)


def joint_figures(
    grid_values: np.ndarray,
    real_probabilities: np.ndarray,
    generated_probabilities: np.ndarray,
    assets: Sequence[str],
) -> list[tuple[tuple[str, str], str]]:
    """Joint histograms for every asset pair.

    Returns:
        ``[((asset_i, asset_j), data_uri), ...]`` for all ``i < j``.
    """
    return [
        (
            (str(assets[i]), str(assets[j])),
            joint_pair_figure(grid_values, real_probabilities, generated_probabilities, assets, (i, j)),
        )
        for i, j in itertools.combinations(range(len(assets)), 2)
    ]


def training_figure(history: pd.DataFrame) -> str | None:
    """Training curves by epoch: losses, divergences and fidelity.

    Args:
        history: Frame with an ``epoch`` column and any of ``d_loss``, ``g_loss``,
            ``kl``, ``js``, ``fidelity``, ``grad_norm``.

    Returns:
        PNG data URI, or ``None`` when the history is empty or has no curve to draw.
    """
    if history is None or history.empty:
        return None
    epoch = history["epoch"] if "epoch" in history else pd.Series(np.arange(len(history)))
    panels = [
        ("losses", [("d_loss", "discriminator"), ("g_loss", "generator")], False),
        ("divergence to training histogram", [("kl", "KL"), ("js", "JS")], True),
        ("fidelity to training histogram", [("fidelity", "fidelity")], False),
        ("generator gradient norm", [("grad_norm", "‖∇θ‖")], True),
    ]
    panels = [(t, [(c, lbl) for c, lbl in curves if c in history], log) for t, curves, log in panels]
    panels = [p for p in panels if p[1]]
    if not panels:
        return None
    with _style():
        fig = Figure(figsize=(3.3 * len(panels), 2.8), layout="constrained")
        axs = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)).ravel()
        for ax, (title, curves, log) in zip(axs, panels):
            for column, label in curves:
                values = pd.to_numeric(history[column], errors="coerce")
                drawn = values.notna().to_numpy()  # metrics may be computed every k epochs only (NaN between)
                ax.plot(np.asarray(epoch)[drawn], values[drawn], label=label, lw=1.4)
                if log and bool((values[drawn] > 0).all()):
                    ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel("epoch")
            if len(curves) > 1:
                ax.legend()
    return figure_to_data_uri(fig)


def fan_chart_figure(
    trajectories_levels: np.ndarray,
    assets: Sequence[str],
    history_levels: pd.DataFrame | None = None,
    *,
    sample_paths: int = 3,
    seed: int = 0,
) -> str:
    """Fan chart of simulated price levels, one panel per asset.

    Bands show the 5-95 % and 25-75 % quantiles across paths at each step, the
    line the median; a few individual paths are drawn thin. Observed history,
    when given, is drawn before day 0 (the last observation).

    Args:
        trajectories_levels: ``(n_paths, horizon, d)`` simulated price levels for
            steps ``1..horizon``.
        assets: Asset names, one per last axis of ``trajectories_levels``.
        history_levels: Recent observed prices, wide, one column per asset
            (missing columns are skipped).
        sample_paths: How many individual paths to draw.
        seed: Seed choosing which individual paths are drawn.

    Returns:
        PNG data URI.
    """
    levels = np.asarray(trajectories_levels, dtype=float)
    n_paths, horizon, d = levels.shape
    steps = np.arange(1, horizon + 1)
    quantiles = np.quantile(levels, FAN_QUANTILES, axis=0)  # (5, horizon, d)
    picks = np.random.default_rng(seed).choice(n_paths, size=min(sample_paths, n_paths), replace=False)
    ncols = min(d, 3)
    nrows = -(-d // ncols)
    with _style():
        fig = Figure(figsize=(3.9 * ncols, 2.9 * nrows), layout="constrained")
        axs = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for j, asset in enumerate(assets):
            ax = axs[j]
            x, q = steps, quantiles[:, :, j]
            observed = None
            if history_levels is not None and asset in history_levels.columns:
                observed = pd.to_numeric(history_levels[asset], errors="coerce").dropna().to_numpy()
            if observed is not None and len(observed):
                ax.plot(np.arange(-len(observed) + 1, 1), observed, color="black", lw=1.1, label="observed")
                x = np.concatenate([[0], steps])
                q = np.concatenate([np.full((len(FAN_QUANTILES), 1), observed[-1]), q], axis=1)
                ax.axvline(0, color="grey", lw=0.8, ls=":")
            ax.fill_between(x, q[0], q[4], color=GENERATED_COLOUR, alpha=0.22, lw=0, label="5–95 %")
            ax.fill_between(x, q[1], q[3], color=GENERATED_COLOUR, alpha=0.45, lw=0, label="25–75 %")
            ax.plot(x, q[2], color=GENERATED_COLOUR, lw=1.6, label="median")
            for p in picks:
                ax.plot(steps, levels[p, :, j], color="#555555", lw=0.5, alpha=0.6)
            ax.set_title(_text(asset))
            ax.set_xlabel("trading days from last observation")
            ax.set_ylabel("price level")
        for ax in axs[d:]:
            ax.set_visible(False)
        fig.legend(*axs[0].get_legend_handles_labels(), loc="outside upper center", ncols=4)
    return figure_to_data_uri(fig)
