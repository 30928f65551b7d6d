"""Prefect flows end to end under a throwaway Prefect API (``prefect_test_harness``).

Tasks are thin wrappers, so the flows are exercised through the CLI as a user would.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from prefect.testing.utilities import prefect_test_harness

from qscen.cli import main


@pytest.fixture(scope="module", autouse=True)
def prefect_api():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def _negative_price_csv(path, make_prices):
    prices = make_prices(300, ("AAA", "BBB"), seed=3)
    long = prices.stack().rename("price").reset_index().rename(columns={"level_1": "asset"})
    long.columns = ["date", "asset", "price"]
    bad_date = prices.index[150]
    long.loc[(long["asset"] == "BBB") & (long["date"] == bad_date), "price"] = -4.2
    long.to_csv(path, index=False)
    return bad_date.date()


def test_validate_strict_fails_naming_asset_and_date(tmp_path, make_prices, untouched, capsys) -> None:
    csv = tmp_path / "in" / "prices.csv"
    csv.parent.mkdir()
    bad_date = _negative_price_csv(csv, make_prices)
    unchanged = untouched(csv)
    code = main(["validate", str(csv), "--mode", "strict", "--workdir", str(tmp_path / "w"), "--run-id", "s"])
    err = capsys.readouterr().err
    assert code == 1
    assert "asset 'BBB'" in err and str(bad_date) in err and "price > 0" in err
    unchanged()
    assert not (tmp_path / "w" / "data" / "runs" / "s").exists()  # no partial output
    assert not list((tmp_path / "w" / "data" / "runs").iterdir())
    assert (tmp_path / "w" / "reports" / "s" / "validation" / "index.html").is_file()  # docs say why


def test_validate_repair_quarantines_the_row(tmp_path, make_prices, untouched, capsys) -> None:
    csv = tmp_path / "in" / "prices.csv"
    csv.parent.mkdir()
    bad_date = _negative_price_csv(csv, make_prices)
    unchanged = untouched(csv)
    code = main(["validate", str(csv), "--mode", "repair", "--workdir", str(tmp_path / "w"), "--run-id", "r"])
    out = capsys.readouterr().out
    assert code == 0, out
    unchanged()
    run = tmp_path / "w" / "data" / "runs" / "r"
    quarantine = pd.read_parquet(run / "quarantine.parquet")
    row = quarantine[(quarantine["asset"] == "BBB") & (quarantine["price"] == -4.2)]
    assert len(row) == 1 and row["date"].iloc[0].date() == bad_date
    assert "price > 0" in row["reason"].iloc[0]
    returns = pd.read_parquet(run / "market" / "returns.parquet")
    assert pd.Timestamp(bad_date) not in set(returns["date"])
    assert "quarantine" in out


def test_validate_bundled_writes_parquet_and_data_docs(tmp_path, bundled_market, capsys) -> None:
    assert main(["validate", "bundled", "--workdir", str(tmp_path), "--run-id", "b"]) == 0
    run = tmp_path / "data" / "runs" / "b"
    returns = duckdb.sql(f"SELECT * FROM read_parquet('{run / 'market' / 'returns.parquet'}') ORDER BY date").df()
    assert list(returns.columns) == ["date", "SP500", "NASDAQ", "WTI"]
    assert len(returns) >= 4500
    expected = bundled_market.returns
    assert (returns[["SP500", "NASDAQ", "WTI"]].to_numpy() == expected.to_numpy()).all()
    assert (tmp_path / "reports" / "b" / "validation" / "index.html").is_file()
    assert "SP500, NASDAQ, WTI" in capsys.readouterr().out


def test_cached_stage_results_go_to_the_configured_storage_block(tmp_path) -> None:
    """PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK moves the encode/train cache (object storage for several workers)."""
    import numpy as np
    from prefect import flow
    from prefect.filesystems import LocalFileSystem
    from prefect.settings import PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK, temporary_settings

    from quantum_scenarios.config import EncodingConfig
    from tasks.quantum import encode_task

    shared = tmp_path / "shared-results"
    LocalFileSystem(basepath=str(shared)).save("qscen-results", overwrite=True)
    values = pd.DataFrame(np.random.default_rng(0).normal(0, 0.01, size=(400, 2)), columns=["AAA", "BBB"])

    @flow
    def encode_twice():
        first = encode_task(values, EncodingConfig(num_qubits=2), "log_return", return_state=True)
        second = encode_task(values, EncodingConfig(num_qubits=2), "log_return", return_state=True)
        return first, second

    with temporary_settings(updates={PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK: "local-file-system/qscen-results"}):
        first, second = encode_twice()
    assert first.is_completed() and second.name == "Cached"
    assert [p for p in shared.rglob("*") if p.is_file()], "no cached result written to the storage block"
