"""Discretisation of returns onto qubit registers, and the encoding contract.

``d`` assets with ``n_i`` qubits each are discretised on ``2**n_i`` equal bins
per asset between bounds. The joint grid has ``2**N`` cells, ``N = Σ n_i``;
cell ``k`` is the computational basis state ``|k⟩`` of the generator circuit.

The *prior* state is loaded with :mod:`qiskit_finance.circuit.library`
(``NormalDistribution``, ``LogNormalDistribution`` or ``UniformDistribution``),
whose evaluation points (its ``values``) are exactly the bin centres. The
*target* is the empirical joint histogram of the data on the same grid.

The :class:`EncodingContract` records everything needed to decode a basis
state back into returns (assets, qubits, bounds, edges, centres, qubit order,
transform, loader). It is saved with every model and checked whenever a model
meets new data.

Note:
    **Qubit order.** qiskit-finance flattens the multivariate grid with
    ``numpy.meshgrid(..., indexing="ij")``, so dimension 0 varies slowest: it
    occupies the *most significant* qubits of the basis-state index, and each
    register is little-endian (qiskit convention). This was checked empirically
    against ``qiskit.quantum_info.Statevector`` (see ``tests/test_encoding.py``).
    Here basis index ``k = Σ_a b_a · Π_{j>a} 2**n_j`` where ``b_a`` is asset
    ``a``'s bin, and asset ``a``'s register holds qubits
    ``[Σ_{j>a} n_j, Σ_{j≥a} n_j)``. Registers are therefore added to the circuit
    last asset first.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from qiskit import QuantumCircuit, QuantumRegister

from quantum_scenarios.errors import EncodingContractError, InputDataError

SCHEMA_VERSION = 1
LOADERS = ("normal", "lognormal", "uniform", "none")
QUBIT_ORDER = (
    "qiskit-finance: asset 0 in the most significant qubits; little-endian within a register; "
    "basis index k = sum_a bin_a * prod_{j>a} 2**n_j"
)
MAX_TOTAL_QUBITS = 24  # a 2**N histogram must fit in memory comfortably

_COMPARED_FIELDS = (
    "schema_version",
    "assets",
    "num_qubits",
    "bounds",
    "bin_edges",
    "bin_centres",
    "qubit_order",
    "transform",
    "loader",
)


def _library_versions() -> dict[str, str]:
    versions = {}
    for package in ("quantum-scenarios", "qiskit", "qiskit-finance", "numpy", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _tuples(value: Any) -> Any:
    """Lists (from JSON) back to nested tuples of floats."""
    return tuple(tuple(float(v) for v in row) for row in value)


@dataclass(frozen=True)
class EncodingContract:
    """Everything needed to map basis states to values and back; saved with every model.

    Attributes:
        assets: Asset names, in dimension order (asset 0 is the most significant register).
        num_qubits: Qubits per asset.
        bounds: ``(low, high)`` per asset: outer edges of the grid.
        bin_edges: ``2**n + 1`` edges per asset.
        bin_centres: ``2**n`` centres per asset (the loader's evaluation points).
        qubit_order: How a basis-state index splits into per-asset bins (see module note).
        transform: What the encoded values are, e.g. ``"log_return"``.
        loader: Prior loader name, one of :data:`LOADERS`.
        loader_params: Fitted loader parameters (``mu`` and ``sigma``, a covariance).
        versions: Library versions that produced the encoding.
        schema_version: Version of this contract's layout.
    """

    assets: tuple[str, ...]
    num_qubits: tuple[int, ...]
    bounds: tuple[tuple[float, float], ...]
    bin_edges: tuple[tuple[float, ...], ...]
    bin_centres: tuple[tuple[float, ...], ...]
    qubit_order: str
    transform: str
    loader: str
    loader_params: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dictionary (tuples become lists)."""
        data = asdict(self)
        for key in ("assets", "num_qubits", "bounds", "bin_edges", "bin_centres"):
            data[key] = json.loads(json.dumps(data[key]))
        return data

    @classmethod
    def from_dict(cls, d: dict) -> EncodingContract:
        """Rebuild a contract from :meth:`to_dict` output.

        Raises:
            EncodingContractError: If fields are missing or the schema version is not supported.
        """
        if not isinstance(d, dict):
            raise TypeError(f"encoding contract must be a dict, received {type(d).__name__}")
        required = [f for f in _COMPARED_FIELDS if f != "schema_version"]
        missing = [f for f in required if f not in d]
        if missing:
            raise EncodingContractError(
                f"encoding contract is missing field(s) {missing}; expected all of {required}. "
                "Re-save the model with this version of quantum-scenarios."
            )
        version = d.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise EncodingContractError(
                f"encoding contract schema_version: expected {SCHEMA_VERSION}, received {version}. "
                "The model was written by a different quantum-scenarios version; retrain it or "
                "load it with the version that wrote it."
            )
        return cls(
            assets=tuple(str(a) for a in d["assets"]),
            num_qubits=tuple(int(n) for n in d["num_qubits"]),
            bounds=_tuples(d["bounds"]),
            bin_edges=_tuples(d["bin_edges"]),
            bin_centres=_tuples(d["bin_centres"]),
            qubit_order=str(d["qubit_order"]),
            transform=str(d["transform"]),
            loader=str(d["loader"]),
            loader_params=dict(d.get("loader_params", {})),
            versions=dict(d.get("versions", {})),
            schema_version=int(version),
        )

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write the contract as JSON, atomically (temp file + rename). Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.to_dict(), handle, indent=2)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> EncodingContract:
        """Read a contract written by :meth:`to_json`.

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            EncodingContractError: If the file is not a valid contract.
        """
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EncodingContractError(
                f"{path}: not valid JSON ({exc}); expected an encoding contract written by "
                "EncodingContract.to_json"
            ) from exc
        try:
            return cls.from_dict(data)
        except EncodingContractError as exc:
            raise EncodingContractError(f"{path}: {exc}") from exc

    def check_compatible(self, other: EncodingContract) -> None:
        """Check that ``other`` (received) decodes basis states exactly like ``self`` (expected).

        ``loader_params`` and ``versions`` describe how the grid was fitted, not the grid itself,
        and are not compared.

        Raises:
            EncodingContractError: Naming every differing field, expected vs received.
        """
        if not isinstance(other, EncodingContract):
            raise TypeError(f"expected an EncodingContract, received {type(other).__name__}")
        differences = []
        for name in _COMPARED_FIELDS:
            expected, received = getattr(self, name), getattr(other, name)
            if not _same(expected, received):
                differences.append(f"{name}: expected {expected!r}, received {received!r}")
        if differences:
            raise EncodingContractError(
                "encoding contract mismatch: "
                + "; ".join(differences)
                + ". Re-encode the data on the model's grid with encode_like(frame, contract) "
                "or retrain the model on the new encoding."
            )

    def check_frame(self, frame: pd.DataFrame) -> None:
        """Check that ``frame``'s columns are exactly this contract's assets, in order.

        Raises:
            EncodingContractError: If assets are missing, unexpected, or in another order.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame, received {type(frame).__name__}")
        columns = [str(c) for c in frame.columns]
        expected = list(self.assets)
        if columns == expected:
            return
        missing = [a for a in expected if a not in columns]
        unexpected = [c for c in columns if c not in expected]
        if missing or unexpected:
            raise EncodingContractError(
                f"asset columns do not match the encoding contract: expected {expected}, "
                f"received {columns} (missing {missing}, unexpected {unexpected}). "
                "Provide returns for exactly the assets the model was trained on."
            )
        raise EncodingContractError(
            f"asset columns are in a different order: expected {expected}, received {columns}. "
            "Reorder with frame[list(contract.assets)]."
        )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, int) and isinstance(b, int):
        return a == b
    try:
        fa, fb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return a == b
    if fa.shape != fb.shape:
        return False
    if not fa.size:
        return True
    scale = max(1.0, float(np.max(np.abs(fa))))
    return bool(np.allclose(fa, fb, rtol=1e-12, atol=1e-12 * scale))


@dataclass
class Encoding:
    """A discretised data set: contract, target histogram and prior loader.

    Attributes:
        contract: The encoding contract.
        target: Empirical joint histogram in basis-state order, shape ``(2**N,)``, sums to 1.
        loader: The qiskit-finance prior loader on named registers (one per asset).
        clipped: Per asset, the number of observations outside the bounds, clipped into edge bins.
        n_observations: Number of observations (rows) histogrammed.
        prior: The loader's probabilities in basis-state order, shape ``(2**N,)``.
        joint: ``False`` for a per-asset encoding (:func:`encode` with ``joint=False``): the
            contract's bins per asset only, with no joint target, prior or loader gates, for
            runs whose ``2**N`` grid is too large to build; its joint-grid methods
            (:meth:`histogram`, :meth:`values`, :meth:`sample`, :meth:`marginal`) refuse.
    """

    contract: EncodingContract
    target: np.ndarray
    loader: QuantumCircuit
    clipped: dict[str, int]
    n_observations: int
    prior: np.ndarray | None = None
    joint: bool = True

    @property
    def num_qubits_total(self) -> int:
        """Total qubits ``N``."""
        return int(sum(self.contract.num_qubits))

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Bins per asset, ``(2**n_0, ..., 2**n_{d-1})``; ``target.reshape(grid_shape)`` is the joint grid."""
        return tuple(2**n for n in self.contract.num_qubits)

    @property
    def assets(self) -> tuple[str, ...]:
        """Asset names, in dimension order."""
        return self.contract.assets

    def bin_widths(self) -> np.ndarray:
        """Bin width per asset, shape ``(d,)``."""
        return np.array([(hi - lo) / 2**n for (lo, hi), n in zip(self.contract.bounds, self.contract.num_qubits)])

    def values(self) -> np.ndarray:
        """Decoded value (bin centre) of every basis state, shape ``(2**N, d)``.

        Equal to the qiskit-finance loader's ``values`` (dimension 0 in the most significant qubits).
        """
        self._require_joint("values")
        grids = np.meshgrid(*[np.asarray(c) for c in self.contract.bin_centres], indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1)

    def digitize(self, x: np.ndarray) -> np.ndarray:
        """Map values to basis-state indices; values outside the bounds go to the edge bins.

        Args:
            x: Values, shape ``(m, d)`` in asset order.

        Returns:
            Basis-state indices, shape ``(m,)``.
        """
        self._require_joint("digitize")
        bins = self._bins(self._check_values(x))
        return np.ravel_multi_index(tuple(bins.T), self.grid_shape)

    def histogram(self, x: np.ndarray) -> np.ndarray:
        """Empirical probabilities on the grid, shape ``(2**N,)``, of values ``x`` of shape ``(m, d)``."""
        self._require_joint("histogram")
        index = self.digitize(x)
        if index.size == 0:
            raise ValueError("cannot histogram zero observations; received an empty array")
        counts = np.bincount(index, minlength=2**self.num_qubits_total)
        return counts / counts.sum()

    def sample(
        self,
        probabilities: np.ndarray,
        size: int,
        *,
        seed: int | np.random.Generator,
        dequantise: bool = True,
    ) -> np.ndarray:
        """Draw values from a distribution over the grid.

        Args:
            probabilities: Probabilities in basis-state order, shape ``(2**N,)``; renormalised.
            size: Number of draws.
            seed: Seed or generator.
            dequantise: Draw uniformly within the bin (else return bin centres).

        Returns:
            Values, shape ``(size, d)``.
        """
        p = self._check_probabilities(probabilities)
        if not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f"size must be a non-negative integer, received {size!r}")
        rng = np.random.default_rng(seed)
        index = np.minimum(np.searchsorted(np.cumsum(p), rng.random(int(size)) * p.sum(), side="right"), p.size - 1)
        bins = np.stack(np.unravel_index(index, self.grid_shape), axis=1)
        centres = np.stack(
            [np.asarray(self.contract.bin_centres[a])[bins[:, a]] for a in range(len(self.assets))], axis=1
        ).reshape(int(size), len(self.assets))
        if dequantise:
            centres = centres + (rng.random(centres.shape) - 0.5) * self.bin_widths()
        return centres

    def marginal(self, probabilities: np.ndarray, asset_index: int) -> np.ndarray:
        """Marginal distribution of asset ``asset_index`` on its ``2**n_i`` bins."""
        p = self._check_probabilities(probabilities)
        d = len(self.assets)
        if not isinstance(asset_index, (int, np.integer)) or not 0 <= asset_index < d:
            raise ValueError(f"asset_index must be an integer in [0, {d}), received {asset_index!r}")
        axes = tuple(a for a in range(d) if a != asset_index)
        return p.reshape(self.grid_shape).sum(axis=axes)

    def bins(self, x: np.ndarray) -> np.ndarray:
        """Bin index of every value per asset, shape ``(m, d)``; values outside the bounds go to the edge bins.

        Defined for per-asset encodings too (``joint=False``): it never forms a joint index.
        """
        return self._bins(self._check_values(x))

    def subgrid(self, indices: Sequence[int]) -> Encoding:
        """The grid of some of the assets: the same bounds, qubits and bin edges, without a prior.

        Args:
            indices: Asset positions, in the order the sub-grid's dimensions take (e.g. ``(i, j)``
                for one asset pair's 2-D grid).

        Returns:
            An :class:`Encoding` of those assets whose contract has ``loader="none"`` and whose
            loader circuit holds the named registers only. Its ``target`` is the marginal of
            this encoding's target on those assets, or empty for a per-asset encoding
            (``joint=False``), whose joint target does not exist. ``prior`` is ``None``.
        """
        positions = [int(i) for i in indices]
        d = len(self.assets)
        if not positions or len(set(positions)) != len(positions) or not all(0 <= i < d for i in positions):
            raise ValueError(f"indices must be distinct asset positions in [0, {d}); received {list(indices)!r}")
        c = self.contract
        contract = EncodingContract(
            assets=tuple(c.assets[i] for i in positions),
            num_qubits=tuple(c.num_qubits[i] for i in positions),
            bounds=tuple(c.bounds[i] for i in positions),
            bin_edges=tuple(c.bin_edges[i] for i in positions),
            bin_centres=tuple(c.bin_centres[i] for i in positions),
            qubit_order=c.qubit_order,
            transform=c.transform,
            loader="none",
            loader_params={},
            versions=dict(c.versions),
        )
        if self.joint and self.target.size:
            others = tuple(a for a in range(d) if a not in positions)
            kept = sorted(positions)
            marginal = np.asarray(self.target, dtype=float).reshape(self.grid_shape).sum(axis=others)
            target = np.transpose(marginal, [kept.index(i) for i in positions]).ravel()
        else:
            target = np.empty(0)
        return Encoding(
            contract=contract,
            target=target,
            loader=_register_circuit(contract.assets, contract.num_qubits, name="P(X) none"),
            clipped={a: self.clipped.get(a, 0) for a in contract.assets},
            n_observations=self.n_observations,
            prior=None,
        )

    # -- helpers -----------------------------------------------------------------------------

    def _require_joint(self, method: str) -> None:
        if not self.joint:
            raise ValueError(
                f"Encoding.{method} needs the joint grid, but this encoding of {len(self.assets)} assets was built "
                f"per asset only (encode(joint=False): 2**{self.num_qubits_total} cells are too many); take grid "
                "metrics pairwise (quantum_scenarios.evaluation.grids.PairwiseGrid) or lower encoding.num_qubits"
            )

    def _check_values(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        d = len(self.assets)
        if x.ndim == 1 and d == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"values must have shape (m, {d}) for assets {list(self.assets)}, received {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("values must be finite; received NaN or inf")
        return x

    def _bins(self, x: np.ndarray) -> np.ndarray:
        bins = np.empty(x.shape, dtype=np.int64)
        for a, ((lo, hi), n) in enumerate(zip(self.contract.bounds, self.contract.num_qubits)):
            k = np.floor((x[:, a] - lo) / (hi - lo) * 2**n)
            bins[:, a] = np.clip(k, 0, 2**n - 1).astype(np.int64)
        return bins

    def _check_probabilities(self, probabilities: Any) -> np.ndarray:
        self._require_joint("probabilities")
        if hasattr(probabilities, "detach"):
            probabilities = probabilities.detach().cpu().numpy()
        p = np.asarray(probabilities, dtype=float)
        size = 2**self.num_qubits_total
        if p.shape != (size,):
            raise ValueError(f"probabilities must have shape ({size},) for this grid, received {p.shape}")
        if not np.all(np.isfinite(p)) or np.any(p < -1e-12) or p.sum() <= 0:
            raise ValueError("probabilities must be finite, non-negative and not all zero")
        p = np.clip(p, 0.0, None)
        return p / p.sum()


def _check_frame(frame: pd.DataFrame) -> np.ndarray:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"frame must be a pandas DataFrame (rows = dates, columns = assets), received {type(frame).__name__}"
        )
    if frame.shape[1] == 0:
        raise InputDataError("returns frame has no asset columns; expected one column per asset")
    if frame.columns.has_duplicates:
        raise InputDataError(f"returns frame has duplicate asset columns: {list(frame.columns)}")
    if frame.shape[0] < 2:
        raise InputDataError(
            f"returns frame has {frame.shape[0]} row(s); expected at least 2 observations to fit bounds and a covariance"
        )
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise InputDataError(f"asset {column!r}: expected numeric returns, received dtype {frame[column].dtype}")
    x = frame.to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputDataError(
            f"asset {frame.columns[col]!r}, date {frame.index[row]}: value {x[row, col]} is not finite "
            f"({int(bad.sum())} non-finite value(s) in total); drop or fill them before encoding"
        )
    return x


def _normalise_qubits(num_qubits: int | Sequence[int], d: int, *, joint: bool = True) -> tuple[int, ...]:
    qubits = (num_qubits,) * d if isinstance(num_qubits, (int, np.integer)) else tuple(num_qubits)
    if len(qubits) != d:
        raise ValueError(f"num_qubits has {len(qubits)} entries; expected one per asset ({d})")
    for n in qubits:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"num_qubits entries must be integers >= 1, received {num_qubits!r}")
    if joint and sum(qubits) > MAX_TOTAL_QUBITS:
        raise ValueError(f"total qubits {sum(qubits)} exceeds the maximum of {MAX_TOTAL_QUBITS}")
    return tuple(int(n) for n in qubits)


def _default_bounds(
    x: np.ndarray, assets: Sequence[str], quantiles: tuple[float, float], margin: float
) -> list[tuple[float, float]]:
    q_lo, q_hi = quantiles
    if not 0.0 <= q_lo < q_hi <= 1.0:
        raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, received {quantiles!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, received {margin!r}")
    bounds = []
    for a, asset in enumerate(assets):
        lo, hi = np.quantile(x[:, a], [q_lo, q_hi])
        width = hi - lo
        if not width > 0:
            raise InputDataError(
                f"asset {asset!r}: the {q_lo:g} and {q_hi:g} quantiles are equal ({lo:g}); the returns are "
                "(nearly) constant, so no grid can be fitted. Pass explicit bounds or drop the asset."
            )
        bounds.append((float(lo - margin * width), float(hi + margin * width)))
    return bounds


def _check_bounds(bounds: Sequence[tuple[float, float]], assets: Sequence[str]) -> list[tuple[float, float]]:
    bounds = [tuple(b) for b in bounds]
    if len(bounds) != len(assets):
        raise ValueError(f"bounds has {len(bounds)} entries; expected one (low, high) pair per asset ({len(assets)})")
    for asset, b in zip(assets, bounds):
        if len(b) != 2 or not (np.isfinite(b[0]) and np.isfinite(b[1])) or not b[0] < b[1]:
            raise ValueError(f"bounds for asset {asset!r} must be finite with low < high, received {b!r}")
    return [(float(lo), float(hi)) for lo, hi in bounds]


def _register_circuit(assets: Sequence[str], num_qubits: Sequence[int], name: str) -> QuantumCircuit:
    """Empty circuit with one register per asset, asset 0 on the most significant qubits."""
    registers = [QuantumRegister(n, name=str(a)) for a, n in zip(assets, num_qubits)]
    return QuantumCircuit(*reversed(registers), name=name)


def _build_loader(
    loader: str,
    assets: Sequence[str],
    num_qubits: Sequence[int],
    centres: Sequence[np.ndarray],
    params: dict,
) -> tuple[QuantumCircuit, np.ndarray]:
    """The prior loader on named registers, and its probabilities in basis order.

    ``uniform`` is qiskit-finance's ``UniformDistribution``. ``normal`` and ``lognormal`` give the
    same discretised density as qiskit-finance's ``NormalDistribution`` / ``LogNormalDistribution``
    (evaluated at the bin centres, normalised over the grid), computed here in float64 from the
    log-density so that it neither underflows on wide grids nor depends on a synthesis: the
    circuit holds one :class:`~quantum_scenarios.quantum.circuits.StateLoader` gate named
    ``P(X)``, which the exact executor reads as its initial state and which is synthesised
    (Grover–Rudolph, RY multiplexers) only for shot executors and drawings. qiskit-finance's own
    circuit goes through qiskit's generic state preparation, which fails with "Input matrix is
    not unitary" from about 12 qubits and takes 40 s at 20.
    """
    from qiskit_finance.circuit.library import UniformDistribution

    from quantum_scenarios.quantum.circuits import StateLoader

    qubits = list(num_qubits)
    total = sum(qubits)
    circuit = _register_circuit(assets, qubits, name=f"P(X) {loader}")
    if loader in ("uniform", "none"):
        if loader == "uniform":
            circuit.compose(UniformDistribution(total), circuit.qubits, inplace=True)
        return circuit, np.full(2**total, 1.0 / 2**total) if loader == "uniform" else np.eye(1, 2**total)[0]
    loader_bounds = [(float(c[0]), float(c[-1])) for c in centres]
    probabilities = _prior_density(loader, assets, centres, params)
    if not np.all(np.isfinite(probabilities)) or not probabilities.sum() > 0:
        raise InputDataError(
            f"assets {list(assets)}: the {loader} loader has no probability mass on the grid "
            f"(mu={params['mu']}, bounds={loader_bounds}); widen the bounds or use loader='uniform'."
        )
    circuit.append(StateLoader(np.sqrt(probabilities)), circuit.qubits)
    return circuit, probabilities


def _prior_density(loader: str, assets: Sequence[str], centres: Sequence[np.ndarray], params: dict) -> np.ndarray:
    """Normalised (log)normal density at every grid cell, basis order (dimension 0 slowest), float64."""
    mu = np.asarray(params["mu"], dtype=float)
    sigma = np.atleast_2d(np.asarray(params["sigma"], dtype=float))
    eigenvalues = np.linalg.eigvalsh(sigma) if np.all(np.isfinite(sigma)) else np.array([np.nan])
    if not np.all(np.isfinite(mu)) or not np.min(eigenvalues) > 1e-14 * max(float(np.max(np.abs(eigenvalues))), 1e-300):
        raise InputDataError(
            f"assets {list(assets)}: cannot build the {loader} loader: the fitted covariance is not positive "
            f"definite (eigenvalues {np.round(eigenvalues, 12).tolist()}, sigma={sigma.tolist()}); duplicate or "
            "perfectly correlated assets make it singular. Drop redundant assets or use loader='uniform'."
        )
    from scipy.stats import multivariate_normal

    grids = np.meshgrid(*[np.asarray(c, dtype=float) for c in centres], indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=1)
    del grids
    if loader == "lognormal":
        positive = np.all(points > 0, axis=1)
        log_density = np.full(points.shape[0], -np.inf)
        logs = np.log(points[positive])
        log_density[positive] = multivariate_normal.logpdf(logs, mu, sigma) - logs.sum(axis=1)
    else:
        log_density = multivariate_normal.logpdf(points, mu, sigma)
    log_density = np.atleast_1d(log_density)
    top = np.max(log_density)
    if not np.isfinite(top):
        return np.full(points.shape[0], np.nan)
    density = np.exp(log_density - top)
    return density / density.sum()


def _fit_loader(loader: str, x: np.ndarray, assets: Sequence[str], centres: Sequence[np.ndarray]) -> dict:
    if loader == "normal":
        mu, sigma = x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))
        return {"mu": mu.tolist(), "sigma": sigma.tolist()}
    if loader == "lognormal":
        for a, asset in enumerate(assets):
            if np.min(x[:, a]) <= 0 or centres[a][0] <= 0:
                raise ValueError(
                    f"loader 'lognormal' needs strictly positive values, but asset {asset!r} has minimum "
                    f"value {np.min(x[:, a]):g} and lowest bin centre {centres[a][0]:g}. Use loader='normal' "
                    "for log returns, or encode a positive transform (gross returns, prices)."
                )
        logs = np.log(x)
        return {"mu": logs.mean(axis=0).tolist(), "sigma": np.atleast_2d(np.cov(logs, rowvar=False)).tolist()}
    return {}


def encode(
    frame: pd.DataFrame,
    *,
    num_qubits: int | Sequence[int] = 3,
    bounds: Sequence[tuple[float, float]] | None = None,
    quantiles: tuple[float, float] = (0.005, 0.995),
    margin: float = 0.1,
    loader: str = "normal",
    transform: str = "log_return",
    joint: bool = True,
) -> Encoding:
    """Discretise a wide frame of returns onto qubit registers.

    Args:
        frame: Rows are observations, columns are assets (column order = dimension order).
        num_qubits: Qubits per asset, one integer for all or one per asset.
        bounds: Explicit ``(low, high)`` per asset. Default: the ``quantiles`` of each asset
            widened on both sides by ``margin`` times their distance.
        quantiles: Robust quantiles for the default bounds.
        margin: Relative widening of the default bounds.
        loader: Prior: ``"normal"`` (multivariate, mean and covariance fitted to the data),
            ``"lognormal"`` (fitted to ``log x``; needs positive values), ``"uniform"``
            (Hadamard on every qubit) or ``"none"`` (``|0…0⟩``).
        transform: Label of what the values are (``"log_return"``, ``"garch_t_residual"``, ...).
        joint: ``False`` builds the per-asset grid only (bounds, edges, centres, clipping counts):
            no ``2**N`` target histogram, no prior and no loader gates, and no limit on the total
            qubits. For runs whose model does not train on the joint grid and whose evaluation
            is pairwise; the contract then records ``loader="none"``.

    Returns:
        The encoding: contract, target histogram, loader circuit and clipping counts.

    Raises:
        InputDataError: For non-finite or constant data, or a singular covariance.
        ValueError: For bad arguments.

    Note:
        The loader evaluates its density at the bin *centres*, so it is built with bounds
        ``(first centre, last centre)``; its ``values`` then equal :meth:`Encoding.values`.
    """
    x = _check_frame(frame)
    assets = tuple(str(c) for c in frame.columns)
    if loader not in LOADERS:
        raise ValueError(f"loader must be one of {LOADERS}, received {loader!r}")
    if not isinstance(transform, str) or not transform:
        raise ValueError(f"transform must be a non-empty string, received {transform!r}")
    qubits = _normalise_qubits(num_qubits, len(assets), joint=joint)
    grid_bounds = _default_bounds(x, assets, quantiles, margin) if bounds is None else _check_bounds(bounds, assets)
    edges = [np.linspace(lo, hi, 2**n + 1) for (lo, hi), n in zip(grid_bounds, qubits)]
    centres = [(e[:-1] + e[1:]) / 2 for e in edges]
    if not joint:
        loader = "none"
    params = _fit_loader(loader, x, assets, centres)
    contract = EncodingContract(
        assets=assets,
        num_qubits=qubits,
        bounds=tuple(grid_bounds),
        bin_edges=tuple(tuple(float(v) for v in e) for e in edges),
        bin_centres=tuple(tuple(float(v) for v in c) for c in centres),
        qubit_order=QUBIT_ORDER,
        transform=transform,
        loader=loader,
        loader_params=params,
        versions=_library_versions(),
    )
    if not joint:
        return _per_asset_encoding(x, contract)
    return encode_like(frame, contract)


def _per_asset_encoding(x: np.ndarray, contract: EncodingContract) -> Encoding:
    """An :class:`Encoding` without its joint grid: registers, clipping counts, no target or prior."""
    clipped = {
        asset: int(np.sum((x[:, a] < lo) | (x[:, a] > hi)))
        for a, (asset, (lo, hi)) in enumerate(zip(contract.assets, contract.bounds))
    }
    return Encoding(
        contract=contract,
        target=np.empty(0),
        loader=_register_circuit(contract.assets, contract.num_qubits, name="P(X) none"),
        clipped=clipped,
        n_observations=int(x.shape[0]),
        prior=None,
        joint=False,
    )


def encode_like(frame: pd.DataFrame, contract: EncodingContract) -> Encoding:
    """Encode ``frame`` on an existing contract's grid and prior (e.g. a trained model's).

    Raises:
        EncodingContractError: If the frame's asset columns do not match the contract.
        InputDataError: For non-finite data.
    """
    contract.check_frame(frame)
    x = _check_frame(frame)
    if contract.loader not in LOADERS:
        raise EncodingContractError(
            f"encoding contract loader: expected one of {LOADERS}, received {contract.loader!r}"
        )
    centres = [np.asarray(c) for c in contract.bin_centres]
    circuit, prior = _build_loader(
        contract.loader, contract.assets, contract.num_qubits, centres, contract.loader_params
    )
    clipped = {
        asset: int(np.sum((x[:, a] < lo) | (x[:, a] > hi)))
        for a, (asset, (lo, hi)) in enumerate(zip(contract.assets, contract.bounds))
    }
    encoding = Encoding(
        contract=contract, target=np.empty(0), loader=circuit, clipped=clipped, n_observations=int(x.shape[0]), prior=prior
    )
    encoding.target = encoding.histogram(x)
    return encoding


def clipped_fraction(encoding: Encoding) -> dict[str, float]:
    """Fraction of observations clipped into the edge bins, per asset."""
    return {a: c / encoding.n_observations for a, c in encoding.clipped.items()}


__all__ = [
    "LOADERS",
    "MAX_TOTAL_QUBITS",
    "QUBIT_ORDER",
    "SCHEMA_VERSION",
    "Encoding",
    "EncodingContract",
    "clipped_fraction",
    "encode",
    "encode_like",
]
