"""Integrity of saved runs and models: checksums, and probabilities re-derived with qiskit.

Two levels:

* **a model folder** (:func:`verify_model`, also run by
  :func:`quantum_scenarios.model.load_model`, which refuses a model that fails):

  - every file matches the SHA-256 recorded in ``model.json`` when the model was
    saved (a flipped byte in ``probabilities.npy``, ``discriminator.pt`` or a
    replaced ``target.npy`` is caught);
  - ``probabilities.npy`` and ``target.npy`` are distributions (finite,
    non-negative, summing to 1);
  - the encoding contract agrees with its own bounds (edges evenly spaced
    between the bounds, centres the midpoints of the edges);
  - the probabilities re-derived from ``circuit.qpy`` bound with
    ``parameters.json`` by ``qiskit.quantum_info.Statevector`` equal the saved
    ones (to 1e-8 for the exact executors; within the shot noise for sampling
    executors, whose saved probabilities are estimates).

* **a run folder** (:func:`verify_run`, the ``qscen verify`` command): every
  file listed in ``manifest.json`` exists with its recorded size and SHA-256,
  no file was added beside them, and the model folder passes
  :func:`verify_model`.

Note:
    Checksums detect accidental change and careless edits, not an adversary who
    rewrites both a file and its recorded checksum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quantum_scenarios.errors import ModelNotTrainedError

__all__ = [
    "Check",
    "IntegrityError",
    "VerificationReport",
    "check_checksums",
    "check_contract_grid",
    "check_distribution",
    "check_rederived",
    "rederive_probabilities",
    "verify_model",
    "verify_run",
]

EXACT_TOLERANCE = 1e-8
"""Largest |saved - re-derived| probability for the exact (statevector) executors."""

CHECKSUMMED_MODEL_FILES = (
    "circuit.qpy", "parameters.json", "probabilities.npy", "encoding.json", "target.npy", "discriminator.pt",
    "history.csv",
)


class IntegrityError(ModelNotTrainedError):
    """A saved model's files disagree with each other or with their recorded checksums."""


@dataclass
class Check:
    """One integrity check: what was checked, whether it held, and the detail."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerificationReport:
    """Outcome of :func:`verify_run` (or :func:`verify_model`).

    Attributes:
        target: the folder verified.
        checks: every check, in order.
    """

    target: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def headline(self) -> str:
        """One line: verified or not, and how many checks."""
        if self.ok:
            return f"verified: {len(self.checks)} checks passed"
        return f"FAILED: {len(self.failures)} of {len(self.checks)} checks failed"

    def describe(self) -> str:
        """A line per check, then the outcome."""
        lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.name}" + (f": {c.detail}" if c.detail else "") for c in self.checks]
        return "\n".join(lines + [f"{self.target}: {self.headline()}"])

    def to_dict(self) -> dict[str, Any]:
        return {"target": str(self.target), "ok": self.ok, "headline": self.headline(),
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks]}


# --------------------------------------------------------------------------- single checks


def check_checksums(folder: Path, recorded: dict[str, Any], *, label: str) -> list[Check]:
    """Compare files with recorded ``{name: sha256}`` or ``{name: {"sha256":, "bytes":}}``."""
    from quantum_scenarios.io import sha256_file

    checks = []
    for name, entry in sorted(recorded.items()):
        want = entry["sha256"] if isinstance(entry, dict) else str(entry)
        path = folder / name
        if not path.is_file():
            checks.append(Check(f"{label} {name}", False, "missing (listed with a checksum, not on disk)"))
            continue
        found = sha256_file(path)
        if found != want:
            checks.append(Check(f"{label} {name}", False,
                                f"sha256 {found[:12]}… differs from the recorded {want[:12]}…: the file changed "
                                "after it was written"))
        else:
            checks.append(Check(f"{label} {name}", True, "sha256 matches"))
    return checks


def check_distribution(name: str, p: np.ndarray, *, tolerance: float = 1e-6) -> Check:
    """A probability vector: finite, non-negative, summing to 1."""
    p = np.asarray(p, dtype=float)
    if not np.all(np.isfinite(p)):
        return Check(f"{name} is a distribution", False, f"{int((~np.isfinite(p)).sum())} value(s) are not finite")
    if (p < -1e-12).any():
        return Check(f"{name} is a distribution", False, f"{int((p < -1e-12).sum())} negative value(s), min {p.min():.3g}")
    total = float(p.sum())
    if abs(total - 1.0) > tolerance:
        return Check(f"{name} is a distribution", False, f"sums to {total:.6g}, expected 1")
    return Check(f"{name} is a distribution", True, f"{p.size} cells, sum 1")


def check_contract_grid(contract: Any) -> Check:
    """The contract's edges are evenly spaced between its bounds and its centres are their midpoints."""
    for i, asset in enumerate(contract.assets):
        lo, hi = contract.bounds[i]
        edges = np.asarray(contract.bin_edges[i], dtype=float)
        centres = np.asarray(contract.bin_centres[i], dtype=float)
        bins = 2 ** int(contract.num_qubits[i])
        expected = np.linspace(lo, hi, bins + 1)
        scale = max(abs(lo), abs(hi), 1e-300)
        if edges.shape != expected.shape or not np.allclose(edges, expected, rtol=0, atol=1e-9 * scale):
            return Check("encoding contract vs its bounds", False,
                         f"asset {asset!r}: bounds ({lo:.6g}, {hi:.6g}) but bin edges run from "
                         f"{edges.min():.6g} to {edges.max():.6g}; the contract was edited")
        if centres.shape != (bins,) or not np.allclose(centres, (edges[:-1] + edges[1:]) / 2, rtol=0,
                                                        atol=1e-9 * scale):
            return Check("encoding contract vs its bounds", False,
                         f"asset {asset!r}: bin centres are not the midpoints of the bin edges")
    return Check("encoding contract vs its bounds", True, f"{len(contract.assets)} asset grid(s) consistent")


def rederive_probabilities(circuit: Any, theta: np.ndarray) -> np.ndarray:
    """``Statevector(circuit bound with theta).probabilities()`` (qiskit's basis order)."""
    from qiskit.quantum_info import Statevector

    bound = circuit.assign_parameters(dict(zip(list(circuit.parameters), np.asarray(theta, dtype=float))))
    return np.asarray(Statevector(bound).probabilities(), dtype=float)


def _executor(metadata: dict[str, Any]) -> dict[str, Any]:
    config = metadata.get("config") or {}
    executor = config.get("executor") if isinstance(config, dict) else None
    return executor if isinstance(executor, dict) else {}


def check_rederived(saved: np.ndarray, exact: np.ndarray, metadata: dict[str, Any]) -> Check:
    """Saved probabilities against the re-derived ones, with the executor's tolerance."""
    executor = _executor(metadata)
    name = executor.get("name", "exact")
    diff = float(np.max(np.abs(np.asarray(saved) - exact))) if saved.shape == exact.shape else float("inf")
    if name in ("exact", "statevector") and not executor.get("noise_backend"):
        ok, bound = diff <= EXACT_TOLERANCE, f"{EXACT_TOLERANCE:g} ({name} executor)"
    else:  # sampled or noisy estimates: the total variation must stay within a few shot-noise widths
        shots = max(int(executor.get("shots", 1024) or 1024), 1)
        tv = 0.5 * float(np.abs(np.asarray(saved) - exact).sum())
        limit = min(0.5, 3.0 * np.sqrt(exact.size / shots))
        ok, diff, bound = tv <= limit, tv, f"total variation {limit:.3g} ({name} executor, {shots} shots)"
    detail = f"max deviation {diff:.3g} (allowed {bound})"
    if not ok:
        detail += ": parameters.json and circuit.qpy no longer give probabilities.npy"
    return Check("probabilities re-derived from circuit.qpy + parameters.json (qiskit Statevector)", ok, detail)


# --------------------------------------------------------------------------- model and run


def model_file_checksums(model_dir: Path) -> dict[str, str]:
    """SHA-256 of the model files that ``model.json`` records."""
    from quantum_scenarios.io import sha256_file

    return {name: sha256_file(model_dir / name) for name in CHECKSUMMED_MODEL_FILES if (model_dir / name).is_file()}


def verify_model(model_dir: str | Path) -> VerificationReport:
    """Every integrity check of a model folder (none stops the others)."""
    from qiskit import qpy

    from quantum_scenarios.encoding import EncodingContract

    model_dir = Path(model_dir)
    report = VerificationReport(model_dir)
    try:
        info = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.checks.append(Check("model.json readable", False, f"{type(exc).__name__}: {exc}"))
        return report
    recorded = info.get("files") or {}
    if recorded:
        report.checks += check_checksums(model_dir, recorded, label="model file")
    else:
        report.checks.append(Check("model file checksums recorded", False,
                                   "model.json records no checksums (saved by an older version); retrain"))
    probabilities = target = None
    for name in ("probabilities.npy", "target.npy"):
        try:
            vector = np.load(model_dir / name, allow_pickle=False)
        except (OSError, ValueError) as exc:
            report.checks.append(Check(f"{name} readable", False, f"{type(exc).__name__}: {exc}"))
            continue
        report.checks.append(check_distribution(name, vector))
        probabilities, target = (vector, target) if name == "probabilities.npy" else (probabilities, vector)
    try:
        contract = EncodingContract.from_json(model_dir / "encoding.json")
        report.checks.append(check_contract_grid(contract))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a failed check
        report.checks.append(Check("encoding.json readable", False, f"{type(exc).__name__}: {exc}"))
    try:
        with open(model_dir / "circuit.qpy", "rb") as handle:
            circuit = qpy.load(handle)[0]
        values = json.loads((model_dir / "parameters.json").read_text(encoding="utf-8"))
        theta = np.array([float(values[p.name]) for p in circuit.parameters])
    except Exception as exc:  # noqa: BLE001
        report.checks.append(Check("circuit.qpy + parameters.json readable", False, f"{type(exc).__name__}: {exc}"))
        return report
    if probabilities is not None:
        report.checks.append(check_rederived(np.asarray(probabilities, dtype=float),
                                             rederive_probabilities(circuit, theta), info.get("metadata") or {}))
    return report


def verify_run(run_dir: str | Path) -> VerificationReport:
    """Check a committed run: manifest checksums and sizes, no unlisted files, the model folder.

    Args:
        run_dir: ``data/runs/<run_id>``.
    """
    run_dir = Path(run_dir)
    report = VerificationReport(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not run_dir.is_dir():
        report.checks.append(Check("run folder", False, f"{run_dir} does not exist; pass a run id or data/runs/<id>"))
        return report
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        report.checks.append(Check("manifest.json", False, f"unreadable or without 'files' ({type(exc).__name__}: {exc})"))
        return report
    report.checks.append(Check("manifest.json", True, f"{len(files)} files listed"))
    checked = check_checksums(run_dir, files, label="file")
    for check in checked:
        name = check.name.removeprefix("file ")
        entry = files.get(name)
        path = run_dir / name
        if check.ok and isinstance(entry, dict) and "bytes" in entry and path.stat().st_size != entry["bytes"]:
            check.ok, check.detail = False, f"{path.stat().st_size} bytes, manifest says {entry['bytes']}"
    report.checks += [c for c in checked if not c.ok]
    passed = sum(c.ok for c in checked)
    report.checks.append(Check("manifest checksums", passed == len(checked), f"{passed} of {len(checked)} files match"))
    listed = set(files) | {"manifest.json"}
    extra = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()
                   and p.relative_to(run_dir).as_posix() not in listed)
    report.checks.append(Check("no unlisted files", not extra,
                               "none" if not extra else f"{len(extra)} file(s) not in the manifest: {extra[:5]}"))
    model_dir = run_dir / "model"
    if model_dir.is_dir():
        report.checks += verify_model(model_dir).checks
    return report
