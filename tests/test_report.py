"""Tests for the HTML run report (quantum_scenarios.report)."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.report import SECTIONS, ReportInputs, render_report
from quantum_scenarios.report import figures
from quantum_scenarios.report.html import build_context

REPO = Path(__file__).resolve().parents[1]


def _grid(centres: list[np.ndarray]) -> np.ndarray:
    """Decoded grid with dimension 0 in the most significant qubits (qiskit-finance order)."""
    return np.array(list(itertools.product(*centres)), dtype=float)


def make_inputs(
    *, assets: tuple[str, ...] = ("SPX", "NDX", "WTI"), run_id: str = "run-001", seed: int = 7
) -> ReportInputs:
    """A small but complete synthetic ReportInputs: 2 qubits per asset."""
    rng = np.random.default_rng(seed)
    d = len(assets)
    qubits = [2] * d
    centres = [np.linspace(-3.0, 3.0, 4) + 0.1 * j for j in range(d)]
    grid = _grid(centres)
    cov = 0.6 * np.ones((d, d)) + 0.4 * np.eye(d)
    draws = rng.multivariate_normal(np.zeros(d), cov, size=4000)
    codes = [np.clip(np.digitize(draws[:, j], [-2.0, 0.0, 2.0]), 0, 3) for j in range(d)]
    flat = np.ravel_multi_index(tuple(codes), (4,) * d)
    real = np.bincount(flat, minlength=4**d) / len(flat)
    generated = 0.8 * real + 0.2 / 4**d
    real_corr = np.corrcoef(draws.T)
    generated_corr = real_corr + 0.02 * (np.ones((d, d)) - np.eye(d))
    epochs = np.arange(1, 21)
    history = pd.DataFrame(
        {
            "epoch": epochs,
            "d_loss": 0.69 - 0.01 * epochs,
            "g_loss": 0.70 + 0.01 * epochs,
            "kl": 1.0 / epochs,
            "js": 0.3 / epochs,
            "fidelity": 1 - 0.5 / epochs,
            "grad_norm": 1.0 / np.sqrt(epochs),
            "seconds": np.full(20, 0.05),
        }
    )
    metric_table = pd.DataFrame(
        {
            "model": ["qgan", "gaussian", "bootstrap"] * 2,
            "sample": ["in_sample"] * 3 + ["out_of_sample"] * 3,
            "kl": [0.05, 0.10, 0.01, 0.12, 0.18, 0.22],
            "fidelity": [0.97, 0.93, 0.99, 0.93, 0.895, 0.907],
            "corr_error": [0.02, 0.01, 0.03, 0.04, 0.03, 0.05],
        }
    ).set_index(["model", "sample"])
    n_paths, horizon = 200, 10
    last = np.array([100.0, 250.0, 60.0][:d] + [50.0] * max(d - 3, 0))
    log_returns = rng.normal(0, 0.01, size=(n_paths, horizon, d))
    levels = last * np.exp(np.cumsum(log_returns, axis=1))
    dates = pd.bdate_range("2018-01-01", periods=30)
    history_levels = pd.DataFrame(
        last * np.exp(np.cumsum(rng.normal(0, 0.01, size=(30, d)), axis=0)),
        index=dates,
        columns=list(assets),
    )
    stress = pd.DataFrame(
        [
            {"scenario_type": s, "horizon": h, "level": 0.99, "asset": a, "var": 0.02 * h, "es": 0.025 * h}
            for s in ("tail", "vol_shock")
            for h in (1, 10)
            for a in (*assets, "portfolio")
        ]
    )
    backtest = pd.DataFrame(
        {
            "asset": ["portfolio"],
            "level": [0.99],
            "days": [1300],
            "exceedances": [16],
            "expected": [13.0],
            "kupiec_p": [0.41],
        }
    )
    stats = pd.DataFrame(
        {"mean": draws.mean(0), "std": draws.std(0), "min": draws.min(0), "max": draws.max(0)},
        index=pd.Index(list(assets), name="asset"),
    )
    return ReportInputs(
        run_id=run_id,
        data_summary={
            "assets": list(assets),
            "start": pd.Timestamp("1999-01-04"),
            "end": pd.Timestamp("2018-12-31"),
            "rows": 5000,
            "return_kind": "log",
            "source": "arch bundled",
            "stats": stats,
        },
        validation={
            "success": False,
            "mode": "quarantine",
            "failures": [
                {"suite": "prices", "rule": "positive", "asset": assets[0], "column": assets[0], "count": 2,
                 "example_dates": ["2008-10-10", "2008-10-13"]},
            ],
            "quarantined_rows": 2,
            "docs_index": "validation/index.html",
        },
        encoding={
            "assets": list(assets),
            "num_qubits": qubits,
            "bounds": [[c[0] - 1.0, c[-1] + 1.0] for c in centres],
            "bin_edges": [np.linspace(c[0] - 1.0, c[-1] + 1.0, 5) for c in centres],
            "bin_centres": centres,
            "transform": "garch_t_residuals",
            "loader": "uniform",
            "version": 1,
            "clipped": {a: 3 for a in assets},
        },
        circuit_stats={"width": 2 * d, "depth": 12, "gate_counts": {"ry": 24, "cx": 10}, "num_parameters": 24,
                       "ansatz": "real_amplitudes", "reps": 2, "entanglement": "linear", "executor": "exact"},
        history=history,
        grid_values=grid,
        num_qubits=qubits,
        assets=list(assets),
        real_probabilities=real,
        generated_probabilities=generated,
        real_correlation=real_corr,
        generated_correlation=generated_corr,
        metric_table=metric_table,
        trajectories_levels=levels,
        history_levels=history_levels,
        stress_table=stress,
        var_backtest=backtest,
        provenance={
            "run_id": run_id,
            "created_at": "2024-05-01T12:00:00+00:00",
            "git_commit": "abc123",
            "config": {
                "data": {"source": "arch", "assets": list(assets)},
                "train": {"epochs": 20, "lr": 0.01},
            },
            "versions": {"qiskit": "2.1.0", "torch": "2.13.0"},
            "seeds": {"train": 1, "generate": 2},
            "durations": {"train": 12.5},
        },
        dataset_path="data/runs/run-001/scenarios",
    )


class _Collector(HTMLParser):
    """Records start tags with attributes and the text of each <h2>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data


def _parse(text: str) -> _Collector:
    parser = _Collector()
    parser.feed(text)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def full_report(tmp_path_factory) -> Path:
    """The complete synthetic report, rendered once for the tests that only read it."""
    target = tmp_path_factory.mktemp("reports") / "run-001" / "report.html"
    assert render_report(make_inputs(), target) == target
    return target


def test_report_is_written_self_contained_and_complete(full_report):
    text = full_report.read_text(encoding="utf-8")
    page = _parse(text)

    assert [h.strip() for h in page.h2] == [f"{i + 1}{title}" for i, (_, title) in enumerate(SECTIONS)]
    anchors = {attrs.get("id") for tag, attrs in page.tags if tag == "h2"}
    toc = {attrs["href"] for tag, attrs in page.tags if tag == "a" and attrs.get("href", "").startswith("#")}
    assert anchors == {a for a, _ in SECTIONS} and toc == {f"#{a}" for a, _ in SECTIONS}

    tag_names = {tag for tag, _ in page.tags}
    assert "script" not in tag_names and "link" not in tag_names and "iframe" not in tag_names
    for tag, attrs in page.tags:
        for key in ("src", "href"):
            value = (attrs.get(key) or "").lower()
            assert not value.startswith(("http://", "https://", "//")), (tag, key, value)
    assert "http://" not in text and "https://" not in text

    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 1 + 1 + 1 + 3 + 1  # training, marginals, correlation, 3 pairs, fan
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(text.encode()) < 3_000_000

    hrefs = [attrs.get("href") or "" for tag, attrs in page.tags if tag == "a"]
    docs = [href for href in hrefs if href.endswith(".html")]
    assert docs == ["validation/index.html"]
    assert "read_parquet(&#39;data/runs/run-001/scenarios/**/*.parquet&#39;" in text
    assert "&#34;epochs&#34;: 20" in text  # config pretty-printed as JSON, escaped


def test_user_text_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    inputs = make_inputs(assets=(evil, "B&B", "$C_1$"), run_id="r&d <b>1</b>")  # "$": no mathtext
    inputs.provenance["config"]["note"] = "</pre><img src=x onerror=alert(2)>"
    inputs.validation["docs_index"] = "https://example.com/docs?a=1&b=<2>"
    text = render_report(inputs, tmp_path / "report.html").read_text(encoding="utf-8")
    assert evil not in text and "<b>1</b>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<title>Scenario report · r&amp;d &lt;b&gt;1&lt;/b&gt;</title>" in text
    assert "B&amp;B" in text
    page = _parse(text)
    assert "script" not in {tag for tag, _ in page.tags}
    # An external Data Docs location is shown as text, never linked.
    assert not any((attrs.get("href") or "").startswith("https") for tag, attrs in page.tags if tag == "a")
    assert "<code>https://example.com/docs?a=1&amp;b=&lt;2&gt;</code>" in text
    template = (REPO / "quantum_scenarios/report/templates/report.html.j2").read_text()
    assert "|safe" not in template.replace(" ", "") and "autoescape false" not in template


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    light = {"history": None, "trajectories_levels": None}
    render_report(dataclasses.replace(make_inputs(run_id="first"), **light), path)
    render_report(dataclasses.replace(make_inputs(run_id="second"), **light), path)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert "second" in path.read_text() and "first" not in path.read_text()

    def boom(*args, **kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(figures, "marginals_figure", boom)
    with pytest.raises(RuntimeError, match="figure failed"):
        render_report(dataclasses.replace(make_inputs(run_id="third"), **light), path)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert "second" in path.read_text()


def test_missing_sections_render_not_available_notes(tmp_path):
    inputs = dataclasses.replace(
        make_inputs(assets=("SPX", "NDX")),
        history=None,
        trajectories_levels=None,
        history_levels=None,
        var_backtest=None,
        dataset_path=None,
        stress_table=pd.DataFrame(),
        metric_table=pd.DataFrame(),
    )
    inputs.validation.update(success=True, failures=[], docs_index=None)
    text = render_report(inputs, tmp_path / "report.html").read_text(encoding="utf-8")
    page = _parse(text)
    assert len(page.h2) == len(SECTIONS)
    for note in (
        "Training history not available",
        "Trajectories not available",
        "VaR backtest not available",
        "Stress table not available",
        "Metric table not available",
        "Data Docs not available",
        "No expectation failed.",
    ):
        assert note in text
    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 3  # marginals, correlation, 1 pair


def test_marginalise_matches_reshape_reference():
    rng = np.random.default_rng(0)
    centres = [np.array([-1.0, 0.0, 1.0, 2.0]), np.array([-0.5, 0.5]), np.array([10.0, 20.0, 30.0, 40.0])]
    grid = _grid(centres)
    probs = rng.dirichlet(np.ones(len(grid)))
    cube = probs.reshape(4, 2, 4)  # dimension 0 most significant
    (values,), marginal = figures.marginalise(grid, probs, [1])
    np.testing.assert_array_equal(values, centres[1])
    np.testing.assert_allclose(marginal, cube.sum(axis=(0, 2)), atol=1e-15)
    (x, y), joint = figures.marginalise(grid, probs, [2, 0])
    np.testing.assert_array_equal(x, centres[2])
    np.testing.assert_array_equal(y, centres[0])
    np.testing.assert_allclose(joint, cube.sum(axis=1).T, atol=1e-15)
    # Shuffling the state order (another qubit convention) changes nothing.
    order = rng.permutation(len(grid))
    _, shuffled = figures.marginalise(grid[order], probs[order], [2, 0])
    np.testing.assert_allclose(shuffled, joint, atol=1e-15)
    with pytest.raises(ValueError, match=r"axes must be non-empty indices in \[0, 3\); received \[3\]"):
        figures.marginalise(grid, probs, [3])


def test_best_metric_per_column_within_each_sample():
    context = build_context(make_inputs(assets=("SPX", "NDX")))
    table = context["metrics"]["table"]
    assert table["columns"] == ["model", "sample", "kl ↓", "fidelity ↑", "corr_error ↓"]
    best = {
        (row[0]["text"], row[1]["text"], table["columns"][k])
        for row in table["rows"]
        for k, cell in enumerate(row)
        if cell["best"]
    }
    assert best == {
        ("bootstrap", "in_sample", "kl ↓"),
        ("bootstrap", "in_sample", "fidelity ↑"),
        ("gaussian", "in_sample", "corr_error ↓"),
        ("qgan", "out_of_sample", "kl ↓"),
        ("qgan", "out_of_sample", "fidelity ↑"),
        ("gaussian", "out_of_sample", "corr_error ↓"),
    }
    headline = {c["label"]: c for c in context["headline"]}
    assert headline["Out-of-sample fidelity (qGAN)"]["value"] == "0.93"
    assert headline["Out-of-sample fidelity (qGAN)"]["note"] == "best baseline 0.907 (bootstrap)"
    assert headline["Out-of-sample KL (qGAN)"]["good"] is True


def test_inconsistent_shapes_are_refused(tmp_path):
    inputs = make_inputs()
    bad = dataclasses.replace(inputs, grid_values=inputs.grid_values[:10])
    with pytest.raises(ValueError, match=r"grid_values must have shape \(2\*\*6, 3\) = \(64, 3\)"):
        render_report(bad, tmp_path / "report.html")
    bad = dataclasses.replace(inputs, generated_probabilities=inputs.generated_probabilities[:-1])
    message = r"generated_probabilities must have shape \(64,\); received \(63,\)"
    with pytest.raises(ValueError, match=message):
        render_report(bad, tmp_path / "report.html")
    bad = dataclasses.replace(inputs, trajectories_levels=np.ones((5, 4, 2)))
    with pytest.raises(ValueError, match=r"trajectories_levels must have shape \(n_paths, horizon, 3\)"):
        render_report(bad, tmp_path / "report.html")
    with pytest.raises(TypeError, match="history must be a pandas DataFrame or None; received dict"):
        render_report(dataclasses.replace(inputs, history={}), tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed")
def test_report_renders_in_headless_chromium(full_report, tmp_path):
    png = tmp_path / "report.png"
    subprocess.run(
        [sys.executable, str(REPO / "scripts/screenshot_report.py"), str(full_report), "--out", str(png),
         "--window-size", "1200,2000"],
        check=True,
        timeout=120,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


# --------------------------------------------------------------------------- papercuts


def _html(tmp_path, inputs: ReportInputs) -> str:
    return render_report(inputs, tmp_path / "report.html").read_text(encoding="utf-8")


def test_one_training_time_in_header_and_provenance(tmp_path) -> None:
    inputs = make_inputs()
    inputs.provenance["training_seconds"] = 3.25
    html = _html(tmp_path, inputs)
    assert "3.25 s of training" in html  # the header card shows provenance's figure, not the epochs' sum
    assert "1 s of training" not in html


def test_garch_residuals_are_labelled_as_residuals(tmp_path) -> None:
    html = _html(tmp_path, make_inputs())  # transform garch_t_residuals
    assert "Correlation matrix of the training standardised GARCH(1,1)-t residuals" in html
    assert "Each asset's standardised GARCH(1,1)-t residuals are discretised" in html
    assert "correlation matrix of the training data" not in html.lower()
    inputs = make_inputs()
    inputs.encoding["transform"] = "log_return"
    assert "Correlation matrix of the training log returns" in _html(tmp_path, inputs)


def test_stress_table_is_not_in_a_scroll_box(tmp_path) -> None:
    html = _html(tmp_path, make_inputs())
    stress = html[html.index('id="stress"'):html.index('id="backtest"')]
    assert 'class="table-wrap full"' in stress
    assert ".table-wrap.full { max-height: none; overflow: visible; }" in html


def test_registers_keep_the_asset_order(tmp_path) -> None:
    inputs = make_inputs(assets=("WTI", "SPX", "NDX"))
    inputs.circuit_stats["registers"] = {"WTI": 2, "SPX": 2, "NDX": 2}
    html = _html(tmp_path, inputs)
    assert "WTI 2 · SPX 2 · NDX 2" in html


def test_var_rejections_are_flagged(tmp_path) -> None:
    inputs = make_inputs()
    html = _html(tmp_path, inputs)
    assert "no rejection" in html and "VaR rejected" not in html
    inputs.var_backtest = pd.DataFrame({"asset": ["SPX", "portfolio"], "level": [0.99, 0.99],
                                        "exceedances": [30, 14], "kupiec_p": [0.0004, 0.6]})
    html = _html(tmp_path, inputs)
    assert '<span class="badge bad">VaR rejected</span>' in html
    assert "for: SPX: p = 0.0004." in html and "portfolio: p" not in html


def test_verification_outcome_is_shown(tmp_path) -> None:
    inputs = make_inputs()
    inputs.verification = {"ok": False, "headline": "FAILED: 1 of 9 checks failed", "checks": [
        {"name": "model file target.npy", "ok": False, "detail": "sha256 differs"},
        {"name": "model file circuit.qpy", "ok": True, "detail": "sha256 matches"}]}
    html = _html(tmp_path, inputs)
    assert "Model integrity" in html and "FAILED: 1 of 9 checks failed" in html
    assert "model file target.npy: sha256 differs" in html and "circuit.qpy: sha256 matches" not in html


def test_screenshot_captures_tall_pages_whole(tmp_path, monkeypatch) -> None:
    """No 6,000 px cut: the window grows until the capture ends in blank background, then is cropped."""
    import importlib.util

    from PIL import Image

    spec = importlib.util.spec_from_file_location("screenshot_report", REPO / "scripts/screenshot_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page_height, sizes = 9_500, []

    def fake_capture(report, out, window_size, chromium, timeout):
        width, height = (int(v) for v in window_size.split(","))
        sizes.append(height)
        image = Image.new("RGB", (width, height), (245, 247, 250))  # page background
        content = Image.new("RGB", (width - 200, min(height, page_height)), (255, 255, 255))
        content.putpixel((10, min(height, page_height) - 1), (0, 0, 0))
        image.paste(content, (100, 0))
        image.save(out)
        return out

    monkeypatch.setattr(module, "_capture", fake_capture)
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    out = module.screenshot(report, tmp_path / "shot.png", chromium="unused")
    assert sizes == [6_000, 12_000]
    with Image.open(out) as image:
        assert image.size == (1400, page_height + 16)
    with pytest.raises(ValueError, match="window_size must look like '1400,auto'"):
        module.screenshot(report, tmp_path / "x.png", window_size="big")
