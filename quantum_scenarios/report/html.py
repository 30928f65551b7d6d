"""The run report: one self-contained HTML page for risk analysts.

:func:`render_report` turns a :class:`ReportInputs` into ``report.html``:
inline CSS, figures as base64 PNG ``data:`` URIs, no script and no external
URL, so the file opens straight from disk with no network. Every piece of
user text (asset names, run id, config values, validation messages) goes
through jinja2 autoescaping; the template never marks anything ``safe``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import numpy as np
import pandas as pd

from quantum_scenarios import __version__
from quantum_scenarios.io import atomic_write
from quantum_scenarios.report import figures

SECTIONS: tuple[tuple[str, str], ...] = (
    ("data", "Data summary"),
    ("validation", "Validation"),
    ("encoding", "Encoding grid and circuit"),
    ("training", "Training curves"),
    ("marginals", "Marginals: real vs generated"),
    ("correlation", "Correlation: real vs generated"),
    ("joint", "Joint distributions of asset pairs"),
    ("metrics", "Metrics against baselines"),
    ("fan", "Trajectory fan chart"),
    ("stress", "Stress scenarios: VaR and ES"),
    ("backtest", "VaR backtest"),
    ("provenance", "Provenance"),
    ("noise", "Noise and mitigation"),
    ("comparison", "Model comparison: quantum vs classical rivals"),
)
"""``(anchor, heading)`` of every report section, in page order."""

MAX_FAILURE_ROWS = 200
"""Validation failures listed in the page; the rest are counted (the quarantine file has all)."""

_HIGHER_IS_BETTER = ("fidelity", "overlap")
_LOWER_IS_BETTER = (
    "kl", "js", "tv", "total_variation", "wasserstein", "w1", "error", "err", "mae", "rmse",
    "distance", "divergence",
)  # fmt: skip


@dataclass(kw_only=True)
class ReportInputs:
    """Everything the report shows, as plain Python / numpy / pandas objects.

    Attributes:
        run_id: Run identifier (shown in the title; any text, escaped).
        data_summary: Scalars shown as a list (suggested keys ``assets``,
            ``start``, ``end``, ``rows``, ``return_kind``, ``source``) and
            DataFrames shown as tables (suggested ``stats``: per-asset mean,
            std, skew, kurt, min, max, indexed by asset).
        validation: ``success`` (bool), ``mode``, ``failures`` (list of dicts with
            ``suite, rule, asset, column, count, example_dates``),
            ``quarantined_rows`` (int) and ``docs_index`` (link to the Data Docs
            relative to the report folder, or ``None``).
        encoding: The encoding contract as a dict (``assets``, ``num_qubits``,
            ``bounds``, ``bin_edges``, ``bin_centres``, ``transform``, ``loader``,
            ...) plus ``clipped``: ``{asset: rows clipped to the bounds}``.
        circuit_stats: ``width``, ``depth``, ``gate_counts`` (dict),
            ``num_parameters``, ``ansatz``, ``reps``, ``entanglement``, ``executor``.
        history: Training history with columns ``epoch, d_loss, g_loss, kl, js,
            fidelity, grad_norm, seconds`` (any subset), or ``None``.
        grid_values: ``(2**N, d)`` decoded value of each basis state (``None`` with ``pairwise``).
        num_qubits: Qubits per asset.
        assets: Asset names, the column order of ``grid_values``.
        real_probabilities: ``(2**N,)`` training histogram on the grid (``None`` with ``pairwise``).
        generated_probabilities: ``(2**N,)`` qGAN distribution on the grid (``None`` with ``pairwise``).
        real_correlation: ``(d, d)`` correlation of the training data.
        generated_correlation: ``(d, d)`` correlation of the generated draws.
        metric_table: One row per model (``qgan``, ``gaussian``, ``bootstrap``)
            and sample (``in_sample``, ``out_of_sample``), as columns or index
            levels named ``model`` and ``sample``; numeric metric columns.
        trajectories_levels: ``(n_paths, horizon, d)`` simulated price levels
            for steps ``1..horizon``, or ``None``.
        history_levels: Recent observed prices, wide (one column per asset), or ``None``.
        stress_table: VaR and ES by scenario type, horizon, level and asset/portfolio.
        var_backtest: VaR backtest on the test period (exceedances, Kupiec test), or ``None``.
        provenance: ``run_id``, ``created_at``, ``config`` (nested dict),
            ``versions``, ``seeds``, ``git_commit``, ``durations``, ``outputs``.
        dataset_path: Path of the Parquet scenario dataset, or ``None``.
        verification: :meth:`quantum_scenarios.integrity.VerificationReport.to_dict` of the
            saved model (checksums, probabilities re-derived with qiskit), or ``None``.
        evaluation_grid: Where the grid metrics were taken (e.g. ``"joint 3 assets x 3 qubits
            (512 cells)"`` or ``"pairwise mean over 190 pairs, ..."``), or ``None``.
        pairwise: For runs evaluated on asset pairs (no joint grid): ``centres``, ``real`` and
            ``generated`` (per asset: bin centres and marginals), ``pairs`` (a list of
            ``((asset_i, asset_j), values (c, 2), real (c,), generated (c,))`` for the pairs
            shown) and ``note`` (which pairs are shown, of how many). Replaces ``grid_values``
            and the two joint distributions.
    """

    run_id: str
    data_summary: dict[str, Any]
    validation: dict[str, Any]
    encoding: dict[str, Any]
    circuit_stats: dict[str, Any]
    history: pd.DataFrame | None = None
    grid_values: np.ndarray | None = None
    num_qubits: Sequence[int]
    assets: Sequence[str]
    real_probabilities: np.ndarray | None = None
    generated_probabilities: np.ndarray | None = None
    real_correlation: np.ndarray
    generated_correlation: np.ndarray
    metric_table: pd.DataFrame
    trajectories_levels: np.ndarray | None = None
    history_levels: pd.DataFrame | None = None
    stress_table: pd.DataFrame
    var_backtest: pd.DataFrame | None = None
    provenance: dict[str, Any]
    dataset_path: str | None = None
    noise: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    comparison: pd.DataFrame | None = None
    backtests: pd.DataFrame | None = None
    stylized: pd.DataFrame | None = None
    evaluation_grid: str | None = None
    pairwise: dict[str, Any] | None = None


# --------------------------------------------------------------------------- checks


def _check_inputs(inputs: ReportInputs) -> None:
    """Refuse inputs whose shapes disagree, before anything is drawn or written."""
    if not isinstance(inputs, ReportInputs):
        raise TypeError(f"expected a ReportInputs; received {type(inputs).__name__}")
    if not isinstance(inputs.run_id, str) or not inputs.run_id.strip():
        raise ValueError(f"run_id must be a non-empty string; received {inputs.run_id!r}")
    assets = list(inputs.assets)
    qubits = [int(n) for n in inputs.num_qubits]
    d = len(assets)
    if d == 0 or len(qubits) != d:
        raise ValueError(
            f"expected one num_qubits entry per asset; received {len(qubits)} for {d} assets {assets}"
        )
    if inputs.pairwise is not None:
        _check_pairwise(inputs.pairwise, assets, qubits)
    else:
        _check_joint(inputs, assets, qubits)
    for name in ("real_correlation", "generated_correlation"):
        shape = np.shape(getattr(inputs, name))
        if shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}); received {shape}")
    if inputs.trajectories_levels is not None:
        shape = np.shape(inputs.trajectories_levels)
        if len(shape) != 3 or shape[2] != d or shape[0] == 0 or shape[1] == 0:
            raise ValueError(
                f"trajectories_levels must have shape (n_paths, horizon, {d}); received {shape}"
            )
    for name in ("history", "history_levels", "var_backtest"):
        value = getattr(inputs, name)
        if value is not None and not isinstance(value, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame or None; received {type(value).__name__}")
    for name in ("metric_table", "stress_table"):
        if not isinstance(getattr(inputs, name), pd.DataFrame):
            raise TypeError(
                f"{name} must be a pandas DataFrame; received {type(getattr(inputs, name)).__name__}"
            )


def _check_pairwise(pairwise: Mapping[str, Any], assets: Sequence[str], qubits: Sequence[int]) -> None:
    """Per-asset marginals with one entry per bin, and each shown pair's grid of matching size."""
    for key in ("centres", "real", "generated"):
        values = pairwise.get(key)
        if values is None or len(values) != len(assets):
            raise ValueError(f"pairwise[{key!r}] must hold one array per asset ({len(assets)}); received {values!r:.80}")
        for asset, n, array in zip(assets, qubits, values):
            if np.shape(array) != (2**n,):
                raise ValueError(f"pairwise[{key!r}] of asset {asset!r} must have shape ({2**n},); received {np.shape(array)}")
    for (a, b), values, real, generated in pairwise.get("pairs", []):
        cells = 2 ** (qubits[list(assets).index(a)] + qubits[list(assets).index(b)])
        if np.shape(values) != (cells, 2) or np.shape(real) != (cells,) or np.shape(generated) != (cells,):
            raise ValueError(
                f"pair ({a!r}, {b!r}) must have values of shape ({cells}, 2) and distributions of shape ({cells},); "
                f"received {np.shape(values)}, {np.shape(real)}, {np.shape(generated)}"
            )


def _check_joint(inputs: ReportInputs, assets: Sequence[str], qubits: Sequence[int]) -> None:
    """The joint grid's values and both distributions over its ``2**N`` states."""
    d = len(assets)
    states = 2 ** sum(qubits)
    if inputs.grid_values is None:
        raise ValueError("grid_values, real_probabilities and generated_probabilities are needed unless pairwise is given")
    grid = np.asarray(inputs.grid_values)
    if grid.shape != (states, d):
        raise ValueError(
            f"grid_values must have shape (2**{sum(qubits)}, {d}) = ({states}, {d}) for "
            f"num_qubits={qubits}; received {grid.shape}"
        )
    for name in ("real_probabilities", "generated_probabilities"):
        shape = np.shape(getattr(inputs, name))
        if shape != (states,):
            raise ValueError(f"{name} must have shape ({states},); received {shape}")
    for j, (asset, n) in enumerate(zip(assets, qubits)):
        distinct = len(np.unique(grid[:, j]))
        if distinct != 2**n:
            raise ValueError(
                f"grid_values column {j} (asset {asset!r}) has {distinct} distinct values; expected "
                f"2**{n} = {2**n} bin values. Pass the decoded grid of the encoding (loader values)."
            )


# --------------------------------------------------------------------------- formatting


def _format_value(value: Any) -> str:
    """Human-readable text for one cell or list item (numbers to 4 significant digits)."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return ", ".join(_format_value(v) for v in np.asarray(value, dtype=object).ravel())
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v == 0:
            return "0"
        if abs(v) >= 1e6 or abs(v) < 1e-4:
            return f"{v:.3e}"
        if abs(v) >= 100:
            return f"{v:,.2f}"
        return f"{v:.4g}"
    return str(value)


def _pretty_key(key: Any) -> str:
    """``"return_kind"`` -> ``"Return kind"``."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _is_number(value: Any) -> bool:
    numeric = isinstance(value, (int, float, np.integer, np.floating))
    return numeric and not isinstance(value, (bool, np.bool_))


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    """Bring a meaningful index into the columns (a default RangeIndex is dropped)."""
    if isinstance(df.index, pd.RangeIndex) and df.index.name is None:
        return df.reset_index(drop=True)
    names = [n if n is not None else "" for n in df.index.names]
    out = df.copy()
    out.index = out.index.set_names(names)
    return out.reset_index()


def _float_formatter(values: pd.Series) -> Any:
    """One fixed number of decimals for a whole float column (about 4 significant digits)."""
    finite = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.abs(finite[np.isfinite(finite)])
    top = float(finite.max()) if finite.size else 0.0
    if top >= 1e6 or 0 < top < 1e-4:
        return _format_value
    decimals = 2 if top == 0 else int(np.clip(3 - math.floor(math.log10(top)), 2, 6))

    def fmt(value: Any) -> str:
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            return "–"
        if not _is_number(value) or not math.isfinite(float(value)):
            return _format_value(value)
        return f"{float(value):,.{decimals}f}"

    return fmt


def _table(
    df: pd.DataFrame | None, *, best: Mapping[tuple[int, str], bool] | None = None
) -> dict[str, Any] | None:
    """Table for the template: ``{"columns", "numeric", "rows"}``.

    Each cell is ``{"text", "num", "best"}``; ``best`` marks highlighted cells by
    ``(row position, column name)``. Float columns share one number of decimals.
    """
    if df is None or df.empty:
        return None
    frame = _frame(df)
    columns = [str(c) for c in frame.columns]
    formatters = [
        _float_formatter(frame.iloc[:, k]) if pd.api.types.is_float_dtype(frame.iloc[:, k]) else _format_value
        for k in range(len(columns))
    ]
    numeric = [
        pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        for _, series in frame.items()
    ]
    rows = []
    for r, record in enumerate(frame.itertuples(index=False, name=None)):
        rows.append(
            [
                {"text": fmt(v), "num": _is_number(v), "best": bool(best and best.get((r, c)))}
                for c, v, fmt in zip(columns, record, formatters)
            ]
        )
    return {"columns": columns, "numeric": numeric, "rows": rows}


def _items(mapping: Mapping[str, Any], *, skip: Sequence[str] = ()) -> list[tuple[str, str]]:
    """``(label, text)`` pairs of the non-tabular entries of a mapping."""
    return [
        (_pretty_key(k), _format_value(v))
        for k, v in mapping.items()
        if k not in skip and not isinstance(v, pd.DataFrame)
    ]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return str(value)


def _local_href(target: Any) -> str | None:
    """The target as a link if it is a relative or ``file:`` path, else ``None`` (shown as text)."""
    if not target:
        return None
    text = str(target)
    scheme = urlsplit(text).scheme
    return text if scheme in ("", "file") else None


# --------------------------------------------------------------------------- sections


def _validation_context(validation: Mapping[str, Any]) -> dict[str, Any]:
    failures = list(validation.get("failures") or [])
    shown = pd.DataFrame(failures[:MAX_FAILURE_ROWS]) if failures else None
    docs = validation.get("docs_index")
    return {
        "success": bool(validation.get("success", False)),
        "items": _items(validation, skip=("success", "failures", "docs_index")),
        "failures": _table(shown),
        "failures_total": len(failures),
        "failures_hidden": max(len(failures) - MAX_FAILURE_ROWS, 0),
        "docs_href": _local_href(docs),
        "docs_text": str(docs) if docs else None,
    }


def _per_asset(value: Any, assets: Sequence[str], j: int) -> Any:
    """Entry ``j`` of a per-asset list, or the entry of asset ``j`` in a per-asset dict."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get(assets[j], value.get(str(assets[j])))
    seq = list(value) if not isinstance(value, np.ndarray) else value
    return seq[j] if j < len(seq) else None


def _encoding_context(inputs: ReportInputs) -> dict[str, Any]:
    encoding = inputs.encoding or {}
    assets = list(inputs.assets)
    rows = []
    for j, asset in enumerate(assets):
        n = int(inputs.num_qubits[j])
        bounds = _per_asset(encoding.get("bounds"), assets, j)
        edges = _per_asset(encoding.get("bin_edges"), assets, j)
        centres = _per_asset(encoding.get("bin_centres"), assets, j)
        if centres is None:
            centres = np.unique(np.asarray(inputs.grid_values)[:, j])
        lower, upper = (bounds[0], bounds[1]) if bounds is not None else (None, None)
        if edges is not None and len(edges) > 1:
            widths = np.diff(np.asarray(edges, dtype=float))
            uniform = np.allclose(widths, widths[0])
            width: Any = float(widths[0]) if uniform else (float(widths.min()), float(widths.max()))
        elif bounds is not None:
            width = (float(upper) - float(lower)) / 2**n
        else:
            width = None
        rows.append(
            {
                "asset": asset,
                "qubits": n,
                "bins": 2**n,
                "lower bound": lower,
                "upper bound": upper,
                "bin width": width,
                "clipped rows": _per_asset(encoding.get("clipped"), assets, j),
                "bin centres": np.asarray(centres, dtype=float),
            }
        )
    skip = ("assets", "num_qubits", "bounds", "bin_edges", "bin_centres", "clipped")
    return {"grid": _table(pd.DataFrame(rows)), "items": _items(encoding, skip=skip)}


def _circuit_items(stats: Mapping[str, Any]) -> list[tuple[str, str]]:
    items = []
    for key, value in stats.items():
        if isinstance(value, Mapping) and all(_is_number(v) for v in value.values()):
            # registers keep the circuit's order (the asset order of every other section); counts sort by size
            ordered = list(value.items()) if key == "registers" else sorted(
                value.items(), key=lambda kv: (-kv[1], str(kv[0])))
            items.append((_pretty_key(key), " · ".join(f"{k} {_format_value(v)}" for k, v in ordered)))
        else:
            items.append((_pretty_key(key), _format_value(value)))
    return items


def _metric_direction(column: str) -> str | None:
    """``"max"``, ``"min"`` or ``None`` (not a quality score) from a metric's column name."""
    name = column.lower()
    tokens = set(re.split(r"[^a-z0-9]+", name))
    if any(word in name for word in _HIGHER_IS_BETTER):
        return "max"
    if tokens & set(_LOWER_IS_BETTER) or any(len(w) > 3 and w in name for w in _LOWER_IS_BETTER):
        return "min"
    return None


def _metric_context(table: pd.DataFrame) -> dict[str, Any]:
    """Metric table with the best value per column highlighted within each sample."""
    if table is None or table.empty:
        return {"table": None, "directions": {}, "by_sample": False}
    frame = _frame(table)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    sample_col = next((c for c in columns if c.lower() == "sample"), None)
    groups = frame.groupby(sample_col, sort=False).groups.values() if sample_col else [frame.index]
    best: dict[tuple[int, str], bool] = {}
    directions = {}
    for column in columns:
        direction = _metric_direction(column)
        if direction is None or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().all():
            continue
        directions[column] = direction
        for index in groups:
            group = values.loc[index].dropna()
            if group.empty:
                continue
            target = group.max() if direction == "max" else group.min()
            for position in group.index[np.isclose(group.to_numpy(), target, rtol=1e-9, atol=1e-12)]:
                best[(frame.index.get_loc(position), column)] = True
    rendered = _table(frame, best=best)
    if rendered is not None:
        rendered["columns"] = [
            f"{c} {'↑' if directions.get(c) == 'max' else '↓'}" if c in directions else c for c in columns
        ]
    return {"table": rendered, "directions": directions, "by_sample": sample_col is not None}


def _pick_column(columns: Sequence[str], *, contains: str, prefer: str = "") -> str | None:
    """First column naming ``contains`` (as a word when short), preferring one that also names ``prefer``."""

    def names(column: str) -> bool:
        name = column.lower()
        return contains in re.split(r"[^a-z0-9]+", name) or (len(contains) > 3 and contains in name)

    matches = [c for c in columns if names(c)]
    preferred = [c for c in matches if prefer and prefer in c.lower()]
    return (preferred or matches or [None])[0]


def _headline_metrics(table: pd.DataFrame) -> list[dict[str, str]]:
    """Out-of-sample fidelity and KL of the qGAN against the best baseline."""
    if table is None or table.empty:
        return []
    frame = _frame(table)
    frame.columns = [str(c) for c in frame.columns]
    model_col = next((c for c in frame.columns if c.lower() == "model"), None)
    sample_col = next((c for c in frame.columns if c.lower() == "sample"), None)
    if model_col is None:
        return []
    if sample_col is not None:
        oos = frame[frame[sample_col].astype(str).str.lower().str.replace("-", "_") == "out_of_sample"]
        frame = oos if not oos.empty else frame
    models = frame[model_col].astype(str).str.lower()
    cards = []
    for contains, prefer, label, direction in (
        ("fidelity", "classical", "Out-of-sample fidelity (qGAN)", "max"),
        ("kl", "", "Out-of-sample KL (qGAN)", "min"),
    ):
        column = _pick_column(list(frame.columns), contains=contains, prefer=prefer)
        if column is None:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        qgan = values[models == "qgan"].dropna()
        others = values[models != "qgan"].dropna()
        if qgan.empty:
            continue
        note = ""
        if not others.empty:
            idx = others.idxmax() if direction == "max" else others.idxmin()
            note = f"best baseline {_format_value(others[idx])} ({frame.loc[idx, model_col]})"
        value = float(qgan.iloc[0])
        if others.empty:
            better = True
        else:
            better = value >= others.max() if direction == "max" else value <= others.min()
        cards.append({"label": label, "value": _format_value(value), "note": note, "good": bool(better)})
    return cards


def _headline(inputs: ReportInputs, corr_error: float) -> list[dict[str, Any]]:
    """Header cards: validation, qGAN vs baselines out of sample, correlation error, run size."""

    def card(label: str, value: str, note: str = "", good: bool | None = None) -> dict[str, Any]:
        return {"label": label, "value": value, "note": note, "good": good}

    validation = inputs.validation or {}
    success = bool(validation.get("success", False))
    quarantined = _format_value(validation.get("quarantined_rows", 0))
    cards = [
        card(
            "Data validation",
            "passed" if success else "failed",
            f"mode {_format_value(validation.get('mode'))}, {quarantined} rows quarantined",
            success,
        )
    ]
    cards += _headline_metrics(inputs.metric_table)
    cards.append(card("Correlation error", _format_value(corr_error), "max |generated − real|"))
    if inputs.trajectories_levels is not None:
        n_paths, horizon, _ = np.shape(inputs.trajectories_levels)
        cards.append(card("Simulated paths", f"{n_paths:,}", f"{horizon} trading days"))
    if inputs.history is not None and not inputs.history.empty:
        note = ""
        seconds = (inputs.provenance or {}).get("training_seconds")  # the one figure provenance shows too
        if seconds is None and "seconds" in inputs.history:
            seconds = float(pd.to_numeric(inputs.history["seconds"], errors="coerce").sum())
        if seconds is not None:
            note = f"{_format_value(float(seconds))} s of training"
        cards.append(card("Training epochs", f"{len(inputs.history):,}", note))
    if inputs.verification:
        ok = bool(inputs.verification.get("ok"))
        cards.append(card("Model integrity", "verified" if ok else "FAILED",
                          str(inputs.verification.get("headline", "")), ok))
    return cards


def _modelled(encoding: Mapping[str, Any]) -> str:
    """What the qGAN learned, in words: GARCH residuals are not returns."""
    transform = str((encoding or {}).get("transform", ""))
    if "residual" in transform:
        return "standardised GARCH(1,1)-t residuals"
    return "simple returns" if "simple" in transform else "log returns"


def _backtest_rejections(table: pd.DataFrame | None, threshold: float = 0.05) -> list[str]:
    """Rows of the VaR backtest whose coverage test rejects the VaR level (p-value below ``threshold``)."""
    if table is None or table.empty:
        return []
    frame = table.reset_index() if not isinstance(table.index, pd.RangeIndex) else table
    pcols = [c for c in frame.columns if re.search(r"(p[_ ]?value|^p$|pval|_p$)", str(c).lower())]
    if not pcols:
        return []
    labels = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) and c not in pcols]
    out = []
    for _, row in frame.iterrows():
        values = pd.to_numeric(pd.Series([row[c] for c in pcols]), errors="coerce")
        low = values[values < threshold]
        if len(low):
            name = " · ".join(str(row[c]) for c in labels) or "row"
            out.append(f"{name}: p = {_format_value(float(low.min()))}")
    return out


def _fan_summary(inputs: ReportInputs) -> dict[str, Any] | None:
    """Horizon-end quantiles of the simulated levels, next to the last observed price."""
    if inputs.trajectories_levels is None:
        return None
    levels = np.asarray(inputs.trajectories_levels, dtype=float)
    rows = []
    for j, asset in enumerate(inputs.assets):
        final = levels[:, -1, j]
        last = None
        if inputs.history_levels is not None and asset in inputs.history_levels.columns:
            observed = pd.to_numeric(inputs.history_levels[asset], errors="coerce").dropna()
            last = float(observed.iloc[-1]) if not observed.empty else None
        row: dict[str, Any] = {"asset": asset, "last observed": last}
        for q in figures.FAN_QUANTILES:
            row[f"q{round(q * 100):02d}"] = float(np.quantile(final, q))
        rows.append(row)
    return _table(pd.DataFrame(rows))


def _provenance_context(provenance: Mapping[str, Any]) -> dict[str, Any]:
    config = provenance.get("config")
    groups = [
        (_pretty_key(key), [(str(k), _format_value(v)) for k, v in value.items()])
        for key, value in provenance.items()
        if key != "config" and isinstance(value, Mapping) and value
    ]
    items = [
        (_pretty_key(k), _format_timestamp(v) if k == "created_at" else _format_value(v))
        for k, v in provenance.items()
        if k != "config" and not (isinstance(v, Mapping) and v) and not isinstance(v, pd.DataFrame)
    ]
    return {
        "items": items,
        "groups": groups,
        "config_json": (
            json.dumps(config, indent=2, default=_json_default, ensure_ascii=False) if config else None
        ),
    }


def _format_timestamp(value: Any) -> str:
    """A timestamp (or ISO string) as ``YYYY-MM-DD HH:MM:SS±zz:zz``; other text unchanged."""
    if value is None:
        return "–"
    try:
        return pd.Timestamp(value).isoformat(sep=" ", timespec="seconds")
    except (ValueError, TypeError):
        return _format_value(value)


def _duckdb_query(dataset_path: str | None) -> str | None:
    if not dataset_path:
        return None
    root = str(dataset_path).rstrip("/\\").replace("'", "''")
    return f"SELECT * FROM read_parquet('{root}/**/*.parquet', hive_partitioning = true);"


def build_context(inputs: ReportInputs) -> dict[str, Any]:
    """Everything the template needs: formatted text, tables and figure data URIs.

    Args:
        inputs: The report inputs (checked first).

    Returns:
        The template context.

    Raises:
        ValueError: If array shapes disagree with ``assets`` / ``num_qubits``.
        TypeError: If a table is not a DataFrame.
    """
    _check_inputs(inputs)
    assets = [str(a) for a in inputs.assets]
    real_corr = np.asarray(inputs.real_correlation, dtype=float)
    gen_corr = np.asarray(inputs.generated_correlation, dtype=float)
    corr_error = float(np.max(np.abs(gen_corr - real_corr)))
    summary = inputs.data_summary or {}
    provenance = inputs.provenance or {}
    history = inputs.history if inputs.history is not None and not inputs.history.empty else None
    trajectories = inputs.trajectories_levels
    created_at = provenance.get("created_at")
    return {
        "run_id": inputs.run_id,
        "created_at": _format_timestamp(created_at) if created_at else None,
        "sections": SECTIONS,
        "headline": _headline(inputs, corr_error),
        "data_items": _items(summary),
        "data_tables": [
            (_pretty_key(k), _table(v)) for k, v in summary.items() if isinstance(v, pd.DataFrame)
        ],
        "validation": _validation_context(inputs.validation or {}),
        "encoding": _encoding_context(inputs),
        "circuit_items": _circuit_items(inputs.circuit_stats or {}),
        "training_figure": figures.training_figure(history) if history is not None else None,
        "training_final": _table(history.tail(1)) if history is not None else None,
        "marginals_figure": _marginals_figure(inputs, assets),
        "correlation_figure": figures.correlation_figure(real_corr, gen_corr, assets),
        "corr_error": _format_value(corr_error),
        "joint_figures": _joint_figures(inputs, assets),
        "pairwise_note": inputs.pairwise.get("note") if inputs.pairwise is not None else None,
        "evaluation_grid": inputs.evaluation_grid,
        "metrics": _metric_context(inputs.metric_table),
        "fan_figure": (
            figures.fan_chart_figure(trajectories, assets, inputs.history_levels)
            if trajectories is not None
            else None
        ),
        "fan_summary": _fan_summary(inputs),
        "fan_horizon": np.shape(trajectories)[1] if trajectories is not None else None,
        "stress": _table(inputs.stress_table),
        "backtest": _table(inputs.var_backtest),
        "backtest_rejections": _backtest_rejections(inputs.var_backtest),
        "modelled": _modelled(inputs.encoding),
        "verification": inputs.verification,
        "provenance": _provenance_context(provenance),
        "dataset_path": str(inputs.dataset_path) if inputs.dataset_path else None,
        "duckdb_query": _duckdb_query(inputs.dataset_path),
        "noise": _noise_context(inputs.noise),
        "comparison": _comparison_context(inputs),
    }


def _marginals_figure(inputs: ReportInputs, assets: list[str]) -> str:
    """Per-asset marginals: from the joint grid, or as given for a pairwise run."""
    if inputs.pairwise is not None:
        pw = inputs.pairwise
        return figures.marginal_bars_figure(pw["centres"], pw["real"], pw["generated"], assets)
    return figures.marginals_figure(inputs.grid_values, inputs.real_probabilities, inputs.generated_probabilities, assets)


def _joint_figures(inputs: ReportInputs, assets: list[str]) -> list[tuple[tuple[str, str], str]]:
    """Every pair from the joint grid, or the pairs a pairwise run chose to show (each on its own 2-D grid)."""
    if inputs.pairwise is None:
        return figures.joint_figures(inputs.grid_values, inputs.real_probabilities, inputs.generated_probabilities, assets)
    return [
        ((str(a), str(b)), figures.joint_pair_figure(values, real, generated, [str(a), str(b)], (0, 1)))
        for (a, b), values, real, generated in inputs.pairwise.get("pairs", [])
    ]


def _comparison_context(inputs: ReportInputs) -> dict[str, Any] | None:
    """The model-comparison section (issue 9): quality, backtests and stylized facts per model."""
    if inputs.comparison is None or inputs.comparison.empty:
        return None
    return {
        "table": _table(inputs.comparison),
        "backtests": _table(inputs.backtests),
        "stylized": _table(inputs.stylized),
    }


def _noise_context(noise: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The noise section: circuit figures (logical vs transpiled) and the mitigation table with costs."""
    if not noise:
        return None
    rows = pd.DataFrame(noise.get("rows", []), columns=["option", "fidelity", "recovered", "circuits", "shots"])
    rows = rows.rename(columns={"fidelity": "fidelity to data", "recovered": "noise loss recovered"})
    circuit = noise.get("circuit", {})
    logical, transpiled = circuit.get("logical", {}), circuit.get("transpiled", {})
    figures_table = pd.DataFrame(
        [
            ["depth", logical.get("depth"), transpiled.get("depth")],
            ["2-qubit gates", logical.get("two_qubit_gates"), transpiled.get("two_qubit_gates")],
            ["qubits", logical.get("width"), transpiled.get("active_qubits")],
        ],
        columns=["figure", "logical", f"transpiled ({noise.get('backend')})"],
    )
    items = [
        ("Device", _format_value(noise.get("backend"))),
        ("Shots per run", _format_value(noise.get("shots"))),
        ("Seed", _format_value(noise.get("seed"))),
        ("Layout", _format_value(transpiled.get("layout"))),
        ("Estimated success probability", _format_value(transpiled.get("estimated_success_probability"))),
        ("Exact ideal fidelity to data", _format_value(noise.get("ideal_exact_fidelity"))),
    ]
    items += [(f"Training: {_pretty_key(k)}", _format_value(v)) for k, v in (noise.get("execution") or {}).items()]
    return {"table": _table(rows), "circuit": _table(figures_table), "items": items, "note": noise.get("note")}


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("quantum_scenarios.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(inputs: ReportInputs) -> str:
    """Render the report page as a string (nothing is written).

    Args:
        inputs: The report inputs.

    Returns:
        The complete HTML document.
    """
    context = build_context(inputs)
    return _environment().get_template("report.html.j2").render(**context, version=__version__)


def render_report(inputs: ReportInputs, path: Path) -> Path:
    """Render the run report and write it atomically.

    The page is rendered fully in memory first; it then goes to a temp file
    beside ``path`` that replaces ``path`` in one step, so a failure leaves
    either the previous report or nothing, never half a file.

    Args:
        inputs: The report inputs.
        path: Output file, e.g. ``reports/<run_id>/report.html`` (folders are created).

    Returns:
        ``path``.

    Raises:
        ValueError: If array shapes disagree with ``assets`` / ``num_qubits``.
        TypeError: If ``inputs`` is not a :class:`ReportInputs` or a table is not a DataFrame.
    """
    path = Path(path)
    text = render_html(inputs)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
