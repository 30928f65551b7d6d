"""The library never imports Prefect: orchestration lives in tasks/ and flows/ only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import quantum_scenarios

_PROBE = """
import importlib, json, pkgutil, sys
import quantum_scenarios
names, errors = ["quantum_scenarios"], {}
for info in pkgutil.walk_packages(quantum_scenarios.__path__, prefix="quantum_scenarios."):
    names.append(info.name)
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        errors[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"modules": names, "errors": errors,
                  "prefect": sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))}))
"""


def test_importing_every_library_module_does_not_import_prefect():
    root = Path(quantum_scenarios.__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=root, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "quantum_scenarios.market.validation" in report["modules"]
    assert "quantum_scenarios.io" in report["modules"]
    assert report["errors"] == {}, f"library modules failed to import: {report['errors']}"
    assert report["prefect"] == [], f"quantum_scenarios imported prefect modules: {report['prefect']}"


def test_no_library_source_imports_prefect_even_lazily():
    """A function-level ``import prefect`` escapes the import probe above; the source must not hold one."""
    import re

    root = Path(quantum_scenarios.__file__).resolve().parent
    pattern = re.compile(r"^\s*(from\s+prefect[\s.]|import\s+prefect\b)", re.MULTILINE)
    offenders = sorted(str(p.relative_to(root.parent)) for p in root.rglob("*.py") if pattern.search(p.read_text()))
    assert offenders == [], f"library modules import prefect: {offenders} (the qscen command lives in qscen/)"
