"""Tests for quantum_scenarios.io: atomic writes, Parquet schemas/metadata, market files, dataset, manifest."""

from __future__ import annotations

import hashlib
import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from quantum_scenarios.errors import InputDataError
from quantum_scenarios.io import (
    METADATA_KEY,
    SCENARIO_SCHEMA,
    atomic_replace_dir,
    atomic_write,
    library_versions,
    read_parquet_metadata,
    sha256_file,
    to_jsonable,
    write_manifest,
    write_market_data,
    write_parquet,
    write_scenario_dataset,
)
from quantum_scenarios.market.returns import compute_returns
from quantum_scenarios.market.sources import MarketData

VERSION_KEYS = {"python", "numpy", "pandas", "pyarrow", "qiskit", "qiskit_aer", "qiskit_finance", "torch",
                "great_expectations", "arch", "quantum_scenarios"}


def _boom(_path):
    raise RuntimeError("disk full")


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    atomic_write(target, lambda p: p.write_text("first"))
    assert target.read_text() == "first"

    def half_then_fail(path):
        path.write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]  # no temp file left


def test_atomic_write_failure_on_new_file_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "new.parquet", _boom)
    assert list(tmp_path.iterdir()) == []


def test_atomic_replace_dir(tmp_path):
    target = tmp_path / "out"
    atomic_replace_dir(target, lambda d: (d / "old.txt").write_text("old"))
    atomic_replace_dir(target, lambda d: (d / "new.txt").write_text("new"))
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]  # replaced, not merged
    with pytest.raises(RuntimeError):
        atomic_replace_dir(target, lambda d: ((d / "x.txt").write_text("x"), _boom(d)))
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --------------------------------------------------------------------------- parquet


def test_write_parquet_schema_compression_metadata(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    schema = pa.schema([pa.field("a", pa.int16(), nullable=False), pa.field("b", pa.string())])
    path = write_parquet(frame, tmp_path / "t.parquet", schema=schema, metadata={"config": {"k": np.float64(0.5)}})
    file = pq.ParquetFile(path)
    assert file.schema_arrow.field("a").type == pa.int16() and not file.schema_arrow.field("a").nullable
    assert file.metadata.row_group(0).column(0).compression == "ZSTD"
    meta = read_parquet_metadata(path)
    assert meta["config"] == {"k": 0.5}
    assert set(meta["library_versions"]) == VERSION_KEYS
    assert json.loads(file.schema_arrow.metadata[METADATA_KEY]) == meta


def test_write_parquet_rejects_schema_mismatch_and_nulls(tmp_path):
    schema = pa.schema([pa.field("a", pa.float64(), nullable=False)])
    with pytest.raises(ValueError, match=r"frame columns do not match the schema: missing \['a'\], unexpected \['b'\]"):
        write_parquet(pd.DataFrame({"b": [1.0]}), tmp_path / "x.parquet", schema=schema)
    with pytest.raises(ValueError, match=r"column 'a' must not contain nulls; received 1 null value\(s\)"):
        write_parquet(pd.DataFrame({"a": [1.0, np.nan]}), tmp_path / "x.parquet", schema=schema)
    with pytest.raises(ValueError, match="frame does not fit the schema"):
        write_parquet(pd.DataFrame({"a": ["text"]}), tmp_path / "x.parquet", schema=schema)
    assert list(tmp_path.iterdir()) == []


def test_read_parquet_metadata_errors(tmp_path):
    with pytest.raises(InputDataError, match=r"Parquet path not found: .*missing\.parquet"):
        read_parquet_metadata(tmp_path / "missing.parquet")
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1]}), plain)
    assert read_parquet_metadata(plain) == {}


def test_to_jsonable():
    out = to_jsonable({"n": np.int64(3), "x": float("nan"), "t": pd.Timestamp("2020-01-02"), "s": {2, 1},
                       "a": np.arange(2), "nat": pd.NaT})
    assert out == {"n": 3, "x": None, "t": "2020-01-02T00:00:00", "s": [1, 2], "a": [0, 1], "nat": None}
    with pytest.raises(TypeError, match="Cannot convert object to JSON"):
        to_jsonable(object())


# --------------------------------------------------------------------------- market files


@pytest.fixture(scope="module")
def written_market(tmp_path_factory, bundled_market):
    run_dir = tmp_path_factory.mktemp("run")
    paths = write_market_data(bundled_market, run_dir, metadata={"config": {"mode": "strict"}})
    return bundled_market, paths


def test_market_files_layout_and_schema(written_market):
    data, paths = written_market
    assert paths["prices"].name == "prices.parquet" and paths["prices"].parent.name == "market"
    schema = pq.read_schema(paths["returns"])
    assert schema.names == ["date", "SP500", "NASDAQ", "WTI"]
    assert schema.field("date").type == pa.timestamp("ns")
    assert all(schema.field(a).type == pa.float64() for a in data.assets)
    meta = read_parquet_metadata(paths["prices"])
    assert meta["source"] == "bundled" and meta["assets"] == list(data.assets)
    assert meta["rows"] == len(data.prices) and meta["config"] == {"mode": "strict"}


def test_pandas_and_duckdb_read_the_library_returns(written_market):
    data, paths = written_market
    by_pandas = pd.read_parquet(paths["returns"]).set_index("date")
    np.testing.assert_array_equal(by_pandas.to_numpy(), data.returns.to_numpy())
    assert (by_pandas.index == data.returns.index).all()
    by_duckdb = duckdb.sql(
        f"SELECT date, SP500, NASDAQ, WTI FROM read_parquet('{paths['returns'].as_posix()}') ORDER BY date"
    ).fetchnumpy()
    np.testing.assert_array_equal(np.column_stack([by_duckdb[a] for a in data.assets]), data.returns.to_numpy())
    assert (pd.DatetimeIndex(by_duckdb["date"]) == data.returns.index).all()
    prices = pd.read_parquet(paths["prices"]).set_index("date")
    np.testing.assert_array_equal(prices.to_numpy(), data.prices.to_numpy())


def test_market_rewrite_replaces_directory(tmp_path, make_prices):
    prices = make_prices(5, ("A",))
    data = MarketData(prices, compute_returns(prices), "x", "log")
    write_market_data(data, tmp_path)
    (tmp_path / "market" / "stale.txt").write_text("old")
    write_market_data(data, tmp_path)
    assert sorted(p.name for p in (tmp_path / "market").iterdir()) == ["prices.parquet", "returns.parquet"]


# --------------------------------------------------------------------------- scenario dataset


def _scenarios(run_id="r1", types=("tail", "iid"), paths=3, steps=4, assets=("SP500", "WTI")):
    rows = [
        (run_id, t, p, s, a, 0.01 * (p - s), 100.0 + p + s)
        for t in types for p in range(paths) for s in range(1, steps + 1) for a in assets
    ]
    return pd.DataFrame(rows, columns=list(SCENARIO_SCHEMA.names))


def test_scenario_dataset_partitioning_types_and_metadata(tmp_path):
    frame = _scenarios()
    out = write_scenario_dataset(frame, tmp_path / "scenarios", metadata={"metrics": {"kl": 0.1}, "encoding": {"n": 3}})
    assert sorted(p.name for p in out.iterdir()) == ["_common_metadata", "scenario_type=iid", "scenario_type=tail"]
    file = next((out / "scenario_type=iid").glob("*.parquet"))
    schema = pq.read_schema(file)
    assert schema.field("asset").type == pa.dictionary(pa.int32(), pa.string())
    assert schema.field("path_id").type == pa.int32() and schema.field("step").type == pa.int32()
    assert all(not f.nullable for f in schema)
    assert pq.ParquetFile(file).metadata.row_group(0).column(0).compression == "ZSTD"
    meta = read_parquet_metadata(out)
    assert meta["metrics"] == {"kl": 0.1} and meta["encoding"] == {"n": 3}
    assert read_parquet_metadata(file)["metrics"] == {"kl": 0.1}
    back = pads.dataset(out, partitioning="hive").to_table().to_pandas()
    assert len(back) == len(frame)
    keys = ["scenario_type", "path_id", "step", "asset"]
    merged = back.astype({"scenario_type": str, "asset": str}).sort_values(keys)
    expected = frame.sort_values(keys)
    np.testing.assert_array_equal(merged["log_return"].to_numpy(), expected["log_return"].to_numpy())


def test_scenario_dataset_duckdb_query_and_rerun_replaces(tmp_path):
    target = tmp_path / "scenarios"
    write_scenario_dataset(_scenarios(run_id="old", types=("historical",)), target, metadata={})
    write_scenario_dataset(_scenarios(run_id="new"), target, metadata={})
    assert not (target / "scenario_type=historical").exists()
    rows = duckdb.sql(
        f"SELECT scenario_type, count(*) AS n, min(run_id) FROM read_parquet('{target.as_posix()}/**/*.parquet', "
        "hive_partitioning = true) GROUP BY scenario_type ORDER BY scenario_type"
    ).fetchall()
    assert rows == [("iid", 24, "new"), ("tail", 24, "new")]


def test_scenario_dataset_rejects_bad_frames(tmp_path):
    target = tmp_path / "scenarios"
    frame = _scenarios()
    with pytest.raises(ValueError, match=r"column 'level' must not contain nulls; received 1 null value\(s\)"):
        write_scenario_dataset(frame.assign(level=[np.nan] + [1.0] * (len(frame) - 1)), target, metadata={})
    with pytest.raises(ValueError, match=r"missing \['level'\]"):
        write_scenario_dataset(frame.drop(columns="level"), target, metadata={})
    with pytest.raises(ValueError, match=r"column 'path_id' must fit in int32"):
        write_scenario_dataset(frame.assign(path_id=2**40), target, metadata={})
    with pytest.raises(ValueError, match="the scenario frame is empty"):
        write_scenario_dataset(frame.iloc[:0], target, metadata={})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- manifest


def test_sha256_matches_known_digest(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big.bin"
    payload = np.random.default_rng(0).bytes(3 * 1024 * 1024 + 7)
    big.write_bytes(payload)
    assert sha256_file(big, chunk_size=1000) == hashlib.sha256(payload).hexdigest()


def test_manifest_lists_every_file_with_checksums(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.pt").write_bytes(b"\x00\x01")
    (tmp_path / "a.txt").write_text("a")
    path = write_manifest(tmp_path, config={"seed": 1}, seeds={"train": 7}, metrics={"kl": float("nan")},
                          extra={"run_id": "r1"})
    manifest = json.loads(path.read_text())
    assert set(manifest["files"]) == {"a.txt", "model/weights.pt"}
    assert manifest["files"]["model/weights.pt"]["sha256"] == hashlib.sha256(b"\x00\x01").hexdigest()
    assert manifest["metrics"] == {"kl": None} and manifest["seeds"] == {"train": 7}
    assert manifest["run_id"] == "r1" and set(manifest["versions"]) == VERSION_KEYS
    rewritten = json.loads(write_manifest(tmp_path, config={}, seeds={}, metrics={}).read_text())
    assert "manifest.json" not in rewritten["files"]
    with pytest.raises(ValueError, match=r"extra must not reuse the manifest keys \['files'\]"):
        write_manifest(tmp_path, config={}, seeds={}, metrics={}, extra={"files": 1})


def test_library_versions_reads_installed_distributions():
    versions = library_versions()
    assert set(versions) == VERSION_KEYS
    assert versions["pandas"] == pd.__version__ and versions["numpy"] == np.__version__
