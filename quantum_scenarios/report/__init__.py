"""The run report: a self-contained HTML page (inline CSS, base64 PNG figures, no network)."""

from quantum_scenarios.report.html import SECTIONS, ReportInputs, render_html, render_report

__all__ = ["SECTIONS", "ReportInputs", "render_html", "render_report"]
