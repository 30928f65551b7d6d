"""Parameter sweeps: a grid over any pipeline options, one row per configuration, a report.

A sweep is a mapping ``"section.field" -> [values]`` over :class:`~quantum_scenarios.config.PipelineConfig`
(seeds, qubits, ansatz depth, loss, executor, mitigation: whatever the config holds). Every
combination is one configuration; each is trained and scored out of sample elsewhere (the
sweep flow maps them onto a Dask cluster). This module holds what is independent of where
configurations run:

* :func:`expand_grid` checks the grid against the config models and lists its combinations;
* :func:`configure` applies one combination to a base configuration (bounds checked);
* :func:`results_table` gathers per-configuration outcomes, failures included;
* :func:`best_configuration` picks the best completed configuration by a metric;
* :func:`render_sweep_report` writes a self-contained HTML page plotting the metric against
  each swept field, the best configuration highlighted.

Note:
    A failed configuration is a row with ``status="failed"`` and its error; it never fails
    the sweep and is never chosen as best.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantum_scenarios.config import PipelineConfig, apply_overrides

__all__ = [
    "best_configuration",
    "configure",
    "expand_grid",
    "render_sweep_report",
    "results_table",
]


def _check_field(key: str) -> None:
    section, sep, field = key.partition(".")
    sections = PipelineConfig.model_fields
    if not sep or section not in sections:
        raise ValueError(
            f"sweep grid key {key!r} must be 'section.field' with section one of {sorted(sections)}"
        )
    model = sections[section].annotation
    if field not in model.model_fields:  # type: ignore[union-attr]
        raise ValueError(
            f"sweep grid key {key!r}: unknown field {field!r} in section {section!r}; "
            f"expected one of {sorted(model.model_fields)}"  # type: ignore[union-attr]
        )


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in a stable order (the first key varies slowest).

    Args:
        grid: ``"section.field" -> values``; e.g. ``{"circuit.reps": [2, 4], "circuit.seed": [1, 2]}``.

    Returns:
        One ``{"section.field": value}`` dict per configuration.

    Raises:
        ValueError: an unknown section or field, or an empty list of values.
    """
    if not grid:
        raise ValueError("sweep grid is empty: give at least one 'section.field' with a list of values")
    for key, values in grid.items():
        _check_field(key)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"sweep grid key {key!r} needs a non-empty list of values, got {values!r}")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def configure(base: PipelineConfig, overrides: Mapping[str, Any]) -> PipelineConfig:
    """``base`` with one configuration's values applied (each checked against its bounds).

    Raises:
        ValueError: a value breaks its field's bounds (pydantic's message names the field).
    """
    data = base.model_dump(mode="json")
    items = [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    return PipelineConfig.model_validate(apply_overrides(data, items))


def results_table(configurations: Sequence[Mapping[str, Any]], outcomes: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per configuration: its swept values, status, error, metrics and seconds.

    Args:
        configurations: as returned by :func:`expand_grid`.
        outcomes: per configuration, either ``{"metrics": {...}, "seconds": s}`` or
            ``{"error": "..."}`` (a failed configuration).
    """
    if len(configurations) != len(outcomes):
        raise ValueError(f"{len(configurations)} configurations but {len(outcomes)} outcomes")
    rows = []
    for index, (values, outcome) in enumerate(zip(configurations, outcomes)):
        failed = "error" in outcome
        row: dict[str, Any] = {"configuration": index, **{k: _cell(v) for k, v in values.items()}}
        row["status"] = "failed" if failed else "completed"
        row["error"] = str(outcome.get("error", "")) if failed else ""
        row["seconds"] = float(outcome.get("seconds", np.nan))
        row.update({name: float(value) for name, value in (outcome.get("metrics") or {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(value: Any) -> Any:
    """Grid values as table cells: scalars stay, lists and dicts become JSON text."""
    return value if isinstance(value, (int, float, str, bool)) or value is None else json.dumps(value)


def best_configuration(table: pd.DataFrame, metric: str, *, maximize: bool = True) -> pd.Series | None:
    """The completed configuration with the best ``metric`` (None when every one failed).

    Raises:
        ValueError: ``metric`` is not a column of the completed rows.
    """
    done = table[table["status"] == "completed"]
    if done.empty:
        return None
    if metric not in done.columns or done[metric].isna().all():
        metrics = [c for c in done.columns if c not in {"configuration", "status", "error", "seconds"}]
        raise ValueError(f"sweep metric {metric!r} was not measured; measured columns: {metrics}")
    index = done[metric].idxmax() if maximize else done[metric].idxmin()
    return done.loc[index]


def _figure(table: pd.DataFrame, field: str, metric: str, best: pd.Series | None) -> str:
    from matplotlib.figure import Figure

    from quantum_scenarios.report.figures import figure_to_data_uri

    done = table[table["status"] == "completed"]
    labels = [str(v) for v in dict.fromkeys(table[field].tolist())]  # values in grid order
    position = {label: i for i, label in enumerate(labels)}
    fig = Figure(figsize=(5.0, 3.2))
    ax = fig.add_subplot()
    x = np.array([position[str(v)] for v in done[field]], dtype=float)
    jitter = np.linspace(-0.12, 0.12, len(x)) if len(x) > 1 else np.zeros(len(x))
    ax.scatter(x + jitter, done[metric], s=28, color="#4c72b0", alpha=0.8, label="configuration")
    means = done.groupby(done[field].astype(str))[metric].mean()
    ax.plot([position[k] for k in labels if k in means], [means[k] for k in labels if k in means],
            color="#4c72b0", lw=1, alpha=0.6, label="mean")
    if best is not None:
        ax.scatter([position[str(best[field])]], [best[metric]], s=160, marker="*", color="#dd8452",
                   zorder=3, label="best")
    failed = table[table["status"] == "failed"]
    if len(failed):
        low = float(done[metric].min()) if len(done) else 0.0
        ax.scatter([position[str(v)] for v in failed[field]], [low] * len(failed), marker="x", color="#c44e52",
                   label="failed")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(field.replace("$", r"\$"))
    ax.set_ylabel(metric.replace("$", r"\$"))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return figure_to_data_uri(fig)


def render_sweep_report(
    table: pd.DataFrame,
    fields: Sequence[str],
    metric: str,
    path: str | Path,
    *,
    maximize: bool = True,
    title: str = "qGAN parameter sweep",
    context: Mapping[str, Any] | None = None,
) -> Path:
    """Write a self-contained HTML page: metric vs each swept field, the table, the best configuration.

    Args:
        table: :func:`results_table`.
        fields: the swept ``section.field`` keys (one figure each).
        metric: the column that ranks configurations (an out-of-sample metric).
        path: the HTML file to write (atomically).
        maximize: whether larger ``metric`` is better.
        title: page title.
        context: extra facts shown under the title (sweep id, base config, cluster).
    """
    from quantum_scenarios.io import atomic_write

    best = best_configuration(table, metric, maximize=maximize)
    figures = "".join(
        f'<figure><img alt="{html.escape(metric)} against {html.escape(f)}" src="{_figure(table, f, metric, best)}">'
        f"<figcaption>{html.escape(metric)} against <code>{html.escape(f)}</code></figcaption></figure>"
        for f in fields
    ) if (table["status"] == "completed").any() else "<p>No configuration completed.</p>"
    if best is not None:
        chosen = ", ".join(f"<code>{html.escape(f)}={html.escape(str(best[f]))}</code>" for f in fields)
        verdict = (f"<p class=best>Best out of sample ({'highest' if maximize else 'lowest'} "
                   f"<code>{html.escape(metric)}</code> = {best[metric]:.5g}): configuration "
                   f"{int(best['configuration'])}: {chosen}</p>")
    else:
        verdict = "<p class=best>Every configuration failed.</p>"
    failed = table[table["status"] == "failed"]
    failures = "".join(
        f"<li>configuration {int(r['configuration'])}: {html.escape(r['error'])}</li>" for _, r in failed.iterrows()
    )
    shown = table.copy()
    best_index = None if best is None else best.name
    rows = []
    for index, row in shown.iterrows():
        cells = "".join(
            f"<td>{html.escape(f'{v:.5g}' if isinstance(v, float) else str(v))}</td>" for v in row.tolist()
        )
        rows.append(f'<tr{" class=best" if index == best_index else ""}>{cells}</tr>')
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    facts = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in (context or {}).items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
figure {{ display: inline-block; margin: 0 1rem 1rem 0; }} img {{ max-width: 520px; }}
table {{ border-collapse: collapse; font-size: 0.85rem; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; }}
tr.best td {{ background: #fde8d7; font-weight: 600; }} p.best {{ font-size: 1.1rem; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<ul>{facts}<li>configurations: {len(table)} ({len(failed)} failed)</li></ul>
{verdict}
<h2>Metric against each swept option</h2>
{figures}
<h2>Every configuration</h2>
<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>
{f'<h2>Failed configurations</h2><ul>{failures}</ul>' if failures else ''}
</body></html>
"""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
