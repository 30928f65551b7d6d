"""Parquet and manifest output: explicit schemas, metadata, atomic writes.

Every file this project writes goes through :func:`atomic_write` (a temporary
file in the target directory, then :func:`os.replace`) or, for a directory of
files, :func:`atomic_replace_dir` (a temporary directory swapped in place), so
a failed run never leaves a half-written file and a re-run never mixes old and
new output.

Parquet files use zstd compression, an explicit :mod:`pyarrow` schema, and a
JSON document under the schema-metadata key ``b"quantum_scenarios"`` holding
the caller's metadata (config, encoding contract, metrics...) and the library
versions. :func:`read_parquet_metadata` reads it back.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
import math
import os
import platform
import shutil
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import metadata as _metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from quantum_scenarios.errors import InputDataError

if TYPE_CHECKING:
    from quantum_scenarios.market.sources import MarketData

METADATA_KEY: bytes = b"quantum_scenarios"
COMPRESSION: str = "zstd"
MANIFEST_NAME: str = "manifest.json"

# manifest key -> distribution name on PyPI
_DISTRIBUTIONS: dict[str, str] = {
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "qiskit": "qiskit",
    "qiskit_aer": "qiskit-aer",
    "qiskit_finance": "qiskit-finance",
    "torch": "torch",
    "great_expectations": "great_expectations",
    "arch": "arch",
    "quantum_scenarios": "quantum-scenarios",
}

SCENARIO_COLUMNS: tuple[str, ...] = ("run_id", "scenario_type", "path_id", "step", "asset", "log_return", "level")
SCENARIO_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("scenario_type", pa.string(), nullable=False),
        pa.field("path_id", pa.int32(), nullable=False),
        pa.field("step", pa.int32(), nullable=False),
        pa.field("asset", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("log_return", pa.float64(), nullable=False),
        pa.field("level", pa.float64(), nullable=False),
    ]
)


# --------------------------------------------------------------------------- versions and JSON


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a run depends on.

    Read from installed distribution metadata, so nothing heavy (torch, qiskit)
    is imported. A library that is not installed reads ``"not installed"``.

    Returns:
        A new dict ``{"python": ..., "numpy": ..., ..., "quantum_scenarios": ...}``.
    """
    return dict(_library_versions())


@lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for key, dist in _DISTRIBUTIONS.items():
        try:
            versions[key] = _metadata.version(dist)
        except _metadata.PackageNotFoundError:
            versions[key] = "not installed"
    if versions["quantum_scenarios"] == "not installed":
        from quantum_scenarios import __version__

        versions["quantum_scenarios"] = __version__
    return versions


def to_jsonable(value: Any) -> Any:
    """Convert a value to plain JSON types (recursively).

    Handles mappings, sequences, sets, dataclasses, pydantic models (``model_dump``),
    numpy scalars and arrays, pandas/datetime timestamps, paths and enums.
    Non-finite floats become ``None`` so the output is strict JSON.

    Args:
        value: Any nested structure.

    Returns:
        The same structure made of ``dict``, ``list``, ``str``, ``int``, ``float``,
        ``bool`` and ``None``.

    Raises:
        TypeError: If a value has no JSON representation.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if value is pd.NaT:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    raise TypeError(f"Cannot convert {type(value).__name__} to JSON: {value!r}.")


def _dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), allow_nan=False, sort_keys=False)


# --------------------------------------------------------------------------- atomic writes


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Write a file atomically: ``writer`` fills a temporary file that then replaces ``path``.

    The temporary file lives in the target directory (created if needed), so the
    final :func:`os.replace` is atomic: readers see the old file or the new one,
    never a partial one. If ``writer`` raises, the temporary file is removed,
    ``path`` is left as it was, and the exception propagates.

    Args:
        path: Destination file.
        writer: Called with the temporary path; must write the complete file there.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"  # created by writer: umask applies
    try:
        writer(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_replace_dir(path: str | Path, builder: Callable[[Path], None]) -> Path:
    """Build a directory in a temporary sibling, then swap it in place of ``path``.

    An existing ``path`` is replaced as a whole (its old content is deleted), so a
    re-run never mixes with a previous one. If ``builder`` raises, the temporary
    directory is deleted and ``path`` is left as it was.

    Args:
        path: Destination directory.
        builder: Called with the empty temporary directory; must write everything there.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        builder(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.parent / f".{path.name}.{uuid.uuid4().hex}.old"
    had_old = path.exists()
    if had_old:
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if had_old:
            os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)
    return path


# --------------------------------------------------------------------------- parquet


def _with_metadata(schema: pa.Schema, metadata: Mapping[str, Any] | None) -> pa.Schema:
    document = {"library_versions": library_versions(), **to_jsonable(dict(metadata or {}))}
    existing = dict(schema.metadata or {})
    existing[METADATA_KEY] = _dumps(document).encode("utf-8")
    return schema.with_metadata(existing)


def _to_table(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame; received {type(frame).__name__}.")
    if schema is not None:
        missing = [n for n in schema.names if n not in frame.columns]
        extra = [str(c) for c in frame.columns if c not in schema.names]
        if missing or extra:
            raise ValueError(
                f"frame columns do not match the schema: missing {missing}, unexpected {extra}; "
                f"schema columns are {schema.names}."
            )
        for field in schema:
            if not field.nullable and frame[field.name].isna().any():
                count = int(frame[field.name].isna().sum())
                raise ValueError(f"column {field.name!r} must not contain nulls; received {count} null value(s).")
        try:
            return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise ValueError(f"frame does not fit the schema {schema}: {exc}") from exc
    return pa.Table.from_pandas(frame, preserve_index=False)


def write_parquet(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    schema: pa.Schema | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a frame to one Parquet file, atomically, zstd-compressed.

    Args:
        frame: Data to write (its index is not written; reset it first if needed).
        path: Destination file.
        schema: Explicit schema (column names, types, nullability); inferred when omitted.
            Non-nullable fields are checked for nulls before writing.
        metadata: JSON-able document stored under ``b"quantum_scenarios"`` together
            with :func:`library_versions`.

    Returns:
        The written path.

    Raises:
        ValueError: If the frame does not match ``schema``.
        TypeError: If ``frame`` is not a DataFrame or metadata is not JSON-able.
    """
    table = _to_table(frame, schema)
    table = table.replace_schema_metadata(_with_metadata(table.schema, metadata).metadata)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression=COMPRESSION))


def read_parquet_metadata(path: str | Path) -> dict[str, Any]:
    """Read the ``b"quantum_scenarios"`` JSON document of a Parquet file or dataset directory.

    Args:
        path: A Parquet file, or a dataset directory written by :func:`write_scenario_dataset`.

    Returns:
        The decoded document (``{}`` when the file carries none).

    Raises:
        InputDataError: If ``path`` does not exist or is not Parquet.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"Parquet path not found: {path}.")
    try:
        if path.is_dir():
            common = path / "_common_metadata"
            schema = pq.read_schema(common) if common.exists() else pads.dataset(path, partitioning="hive").schema
        else:
            schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputDataError(f"Cannot read Parquet schema of {path}: {exc}.") from exc
    raw = (schema.metadata or {}).get(METADATA_KEY)
    return json.loads(raw.decode("utf-8")) if raw else {}


def market_schema(assets: tuple[str, ...] | list[str]) -> pa.Schema:
    """Schema of the wide market files: ``date`` (timestamp[ns]) then one float64 column per asset."""
    fields = [pa.field("date", pa.timestamp("ns"), nullable=False)]
    fields += [pa.field(str(a), pa.float64(), nullable=False) for a in assets]
    return pa.schema(fields)


def write_market_data(
    data: MarketData, run_dir: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> dict[str, Path]:
    """Write prices and returns to ``run_dir/market/{prices,returns}.parquet``.

    Both files are wide: a ``date`` column (``timestamp[ns]``, non-null) and one
    non-null float64 column per asset, with the source, return kind, assets and
    ``metadata`` in the schema metadata. The ``market/`` directory is replaced as
    a whole, so a re-run never mixes files from two runs.

    Args:
        data: Market data to write.
        run_dir: The run directory (``data/runs/<run_id>``).
        metadata: Extra JSON-able metadata (e.g. the config) stored in both files.

    Returns:
        ``{"prices": path, "returns": path}``.
    """
    if "date" in data.assets:
        raise ValueError("an asset named 'date' clashes with the date column of the market files; rename it.")
    schema = market_schema(data.assets)
    common = {
        "source": data.source,
        "return_kind": data.return_kind,
        "assets": list(data.assets),
        **dict(metadata or {}),
    }
    market_dir = Path(run_dir) / "market"

    def build(tmp: Path) -> None:
        for name, frame in (("prices", data.prices), ("returns", data.returns)):
            flat = frame.copy()
            flat.columns = [str(c) for c in flat.columns]
            flat.index = pd.DatetimeIndex(flat.index).as_unit("ns")
            flat = flat.rename_axis("date").reset_index()
            info = {
                **common,
                "table": name,
                "rows": len(flat),
                "start": flat["date"].min() if len(flat) else None,
                "end": flat["date"].max() if len(flat) else None,
            }
            write_parquet(flat, tmp / f"{name}.parquet", schema=schema, metadata=info)

    atomic_replace_dir(market_dir, build)
    return {"prices": market_dir / "prices.parquet", "returns": market_dir / "returns.parquet"}


def read_market_data(run_dir: str | Path) -> MarketData:
    """Read a run's ``market/prices.parquet`` and ``returns.parquet`` back as :class:`MarketData`.

    Raises:
        InputDataError: a file is missing (names it and the command that writes it).
    """
    market_dir = Path(run_dir) / "market"
    frames = {}
    for name in ("prices", "returns"):
        path = market_dir / f"{name}.parquet"
        if not path.is_file():
            raise InputDataError(
                f"{path} not found: run 'qscen validate' or 'qscen run' for this run id first, "
                "or pass --source to ingest prices"
            )
        frame = pd.read_parquet(path).set_index("date")
        frame.index = pd.DatetimeIndex(frame.index, name="date")
        frames[name] = frame.astype("float64")
    info = read_parquet_metadata(market_dir / "prices.parquet")
    from quantum_scenarios.market.sources import MarketData  # noqa: PLC0415 - sources imports io

    return MarketData(
        frames["prices"], frames["returns"], str(info.get("source", market_dir)), str(info.get("return_kind", "log"))
    )


def write_scenario_dataset(
    frame: pd.DataFrame, dataset_dir: str | Path, *, metadata: Mapping[str, Any]
) -> Path:
    """Write scenarios as a hive-partitioned Parquet dataset (``scenario_type=<type>/``).

    Columns and types (all non-null): ``run_id`` string, ``scenario_type`` string
    (the partition key, so it lives in the directory names), ``path_id`` int32,
    ``step`` int32, ``asset`` dictionary<int32, string>, ``log_return`` float64,
    ``level`` float64. ``metadata`` (config, encoding contract, metrics...) goes into
    every file's schema metadata and into ``_common_metadata``. An existing
    ``dataset_dir`` is replaced as a whole.

    Args:
        frame: Long-form scenarios with exactly the columns above.
        dataset_dir: Destination directory (``data/runs/<run_id>/scenarios``).
        metadata: JSON-able document for the schema metadata.

    Returns:
        ``dataset_dir``.

    Raises:
        ValueError: If the frame is empty, misses or adds columns, has nulls, or
            has an integer outside the int32 range.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame; received {type(frame).__name__}.")
    if frame.empty:
        raise ValueError("the scenario frame is empty; expected at least one row.")
    for col in ("path_id", "step"):
        if col in frame.columns and pd.api.types.is_numeric_dtype(frame[col]):
            lo, hi = frame[col].min(), frame[col].max()
            info = np.iinfo(np.int32)
            if lo < info.min or hi > info.max:
                raise ValueError(f"column {col!r} must fit in int32; received values in [{lo}, {hi}].")
    table = _to_table(frame, SCENARIO_SCHEMA)
    schema = _with_metadata(table.schema, metadata)
    table = table.replace_schema_metadata(schema.metadata)
    partitioning = pads.partitioning(pa.schema([pa.field("scenario_type", pa.string())]), flavor="hive")
    options = pads.ParquetFileFormat().make_write_options(compression=COMPRESSION)

    def build(tmp: Path) -> None:
        pads.write_dataset(
            table,
            tmp,
            format="parquet",
            partitioning=partitioning,
            file_options=options,
            basename_template="part-{i}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
        pq.write_metadata(schema, tmp / "_common_metadata")

    return atomic_replace_dir(dataset_dir, build)


# --------------------------------------------------------------------------- manifest


def sha256_file(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(
    run_dir: str | Path,
    *,
    config: Mapping[str, Any] | Any,
    seeds: Mapping[str, Any],
    metrics: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``run_dir/manifest.json``: config, seeds, metrics, versions and file checksums.

    ``files`` maps every file under ``run_dir`` (relative POSIX path, sorted),
    except the manifest itself and temporary files of in-flight atomic writes, to
    its size and SHA-256. Write the manifest last.

    Args:
        run_dir: The run directory.
        config: The run configuration (a mapping or a pydantic model).
        seeds: Every seed used, by name.
        metrics: Headline metrics.
        extra: More top-level entries (e.g. ``run_id``); must not reuse a reserved key.

    Returns:
        The manifest path.

    Raises:
        ValueError: If ``extra`` reuses a reserved key.
        FileNotFoundError: If ``run_dir`` does not exist.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    files = {}
    for file in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = file.relative_to(run_dir)
        if rel.as_posix() == MANIFEST_NAME or any(part.startswith(".") and part.endswith((".tmp", ".old"))
                                                   for part in rel.parts):
            continue
        files[rel.as_posix()] = {"bytes": file.stat().st_size, "sha256": sha256_file(file)}
    manifest: dict[str, Any] = {
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "seeds": seeds,
        "metrics": metrics,
        "versions": library_versions(),
        "files": files,
    }
    clash = sorted(set(extra or {}) & set(manifest))
    if clash:
        raise ValueError(f"extra must not reuse the manifest keys {clash}; rename them.")
    manifest.update(extra or {})
    text = json.dumps(to_jsonable(manifest), indent=2, allow_nan=False)
    path = run_dir / MANIFEST_NAME
    return atomic_write(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
