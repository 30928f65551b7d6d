"""The report's model-comparison section renders the evaluation's comparison, backtests and stylized facts."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pandas as pd

from quantum_scenarios.report import render_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_report import make_inputs  # noqa: E402  (the report tests' input builder)


def test_comparison_section_shows_every_table(tmp_path) -> None:
    comparison = pd.DataFrame({"model": ["qgan", "dcc_rival_xyz"], "kl_out": [0.17, 0.13], "fidelity_out": [0.91, 0.92]})
    backtests = pd.DataFrame({"model": ["qgan"], "horizon": [10], "traffic_light": ["amber_zone_marker"]})
    stylized = pd.DataFrame({"series": ["data", "qgan"], "hill_lower": [2.9, 3.4]})
    inputs = dataclasses.replace(make_inputs(), comparison=comparison, backtests=backtests, stylized=stylized)
    html = Path(render_report(inputs, tmp_path / "report.html")).read_text()
    section = html[html.index('id="comparison"'):]
    assert "dcc_rival_xyz" in section and "amber_zone_marker" in section and "hill_lower" in section
    bare = Path(render_report(make_inputs(), tmp_path / "bare.html")).read_text()
    assert "No rival comparison for this run." in bare
