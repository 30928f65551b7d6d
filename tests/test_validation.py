"""Tests for quantum_scenarios.market.validation (great-expectations suites, strict and repair modes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quantum_scenarios.errors import ValidationFailedError
from quantum_scenarios.io import read_parquet_metadata
from quantum_scenarios.market.returns import compute_returns
from quantum_scenarios.market.sources import MarketData, ingest
from quantum_scenarios.market.validation import (
    ALIGNMENT_RULE,
    QUARANTINE_SCHEMA,
    _unchanged_runs,
    validate_market,
)


def _market(prices: pd.DataFrame, kind: str = "log") -> MarketData:
    return MarketData(prices, compute_returns(prices, kind), "synthetic", kind)


def _long_csv(prices: pd.DataFrame) -> str:
    long = prices.reset_index().melt(id_vars="date", var_name="asset", value_name="price")
    long["date"] = long["date"].dt.strftime("%Y-%m-%d")
    return long.to_csv(index=False)


@pytest.fixture(scope="module")
def bundled_validation(tmp_path_factory, bundled_market):
    docs = tmp_path_factory.mktemp("reports") / "validation"
    return validate_market(bundled_market, docs_dir=docs)


def test_bundled_data_passes_strict_with_data_docs(bundled_validation, bundled_market):
    data, result = bundled_validation
    assert data is bundled_market
    assert result.success and result.mode == "strict" and result.failures == []
    assert result.quarantined.empty and list(result.quarantined.columns) == QUARANTINE_SCHEMA.names
    assert result.docs_index is not None and result.docs_index.name == "index.html" and result.docs_index.is_file()
    # 6 global + 2 per asset (increasing, row count) price expectations; 3 global + 1 per asset for returns
    assert result.statistics["prices"] == {"evaluated": 12, "successful": 12, "unsuccessful": 0}
    assert result.statistics["returns"] == {"evaluated": 6, "successful": 6, "unsuccessful": 0}
    validations = result.docs_index.parent / "validations"
    assert {p.name for p in validations.iterdir()} == {"prices", "returns"}
    assert "Validation passed (mode=strict): prices 12/12 expectations met" in result.summary()


def test_negative_price_in_long_csv_strict_names_asset_and_date(tmp_path, make_prices, untouched):
    prices = make_prices(300, ("AAA", "BBB"), seed=1)
    prices.loc["2010-06-01", "BBB"] = -2.5
    path = tmp_path / "prices.csv"
    path.write_text(_long_csv(prices))
    check = untouched(path)
    data = ingest(path)
    quarantine = tmp_path / "run" / "quarantine.parquet"
    with pytest.raises(ValidationFailedError) as info:
        validate_market(data, mode="strict", quarantine_path=quarantine)
    message = str(info.value)
    assert "failed validation (mode='strict')" in message
    assert ("[prices] expect_column_values_to_be_between (price > 0): asset 'BBB', column 'price', 1 row(s); "
            "e.g. 2010-06-01 = -2.5") in message
    assert "[returns] expect_column_values_to_not_be_null (return defined): asset 'BBB', column 'log_return', " \
           "2 row(s); e.g. 2010-06-01 = NaN, 2010-06-02 = NaN" in message
    assert "mode='repair' (--mode repair)" in message
    assert not info.value.result.success and len(info.value.result.failures) == 2
    assert not quarantine.exists() and not quarantine.parent.exists()
    check()


def test_negative_price_repair_quarantines_the_row(tmp_path, make_prices, untouched):
    prices = make_prices(300, ("AAA", "BBB"), seed=1)
    prices.loc["2010-06-01", "BBB"] = -2.5
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "prices.csv"
    path.write_text(_long_csv(prices))
    check = untouched(path)
    quarantine = tmp_path / "run" / "quarantine.parquet"
    repaired, result = validate_market(ingest(path), mode="repair", quarantine_path=quarantine)
    check()
    assert result.success and result.statistics["input_success"] is False
    assert result.statistics["dropped_dates"] == 1 and result.statistics["rows_out"] == 299
    assert pd.Timestamp("2010-06-01") not in repaired.prices.index
    pd.testing.assert_frame_equal(repaired.returns, compute_returns(repaired.prices, "log"))
    table = pq.read_table(quarantine)
    assert table.schema.remove_metadata() == QUARANTINE_SCHEMA
    stored = table.to_pandas()
    bad = stored[stored["asset"] == "BBB"].iloc[0]
    assert bad["date"] == pd.Timestamp("2010-06-01") and bad["price"] == -2.5
    assert bad["rule"] == "expect_column_values_to_be_between" and bad["reason"] == "failed price > 0 (prices suite)"
    other = stored[stored["asset"] == "AAA"].iloc[0]  # the aligned price on the dropped date is kept too
    assert other["rule"] == ALIGNMENT_RULE and other["price"] == prices.loc["2010-06-01", "AAA"]
    assert "date dropped because 'BBB' failed validation" in other["reason"]
    assert read_parquet_metadata(quarantine)["failures"][0]["asset"] == "BBB"
    assert "1 date(s); 2 row(s) quarantined; 299 of 300 dates kept" in result.summary()


def test_zero_price_strict_and_repair(make_prices, tmp_path):
    prices = make_prices(300, ("AAA", "BBB"), seed=2)
    prices.iloc[10, 0] = 0.0
    date = prices.index[10].strftime("%Y-%m-%d")
    with pytest.raises(ValidationFailedError, match=rf"\(price > 0\): asset 'AAA', column 'price', 1 row\(s\); "
                                                    rf"e\.g\. {date} = 0"):
        validate_market(_market(prices))
    repaired, result = validate_market(_market(prices), mode="repair")
    assert len(repaired.prices) == 299 and np.isfinite(repaired.returns.to_numpy()).all()


def test_price_spike_drops_only_the_spike_date(make_prices):
    prices = make_prices(300, ("AAA", "BBB"), seed=3)
    prices.iloc[50, 1] *= 3.0  # one bad print: |log return| > 0.5 into and out of it
    with pytest.raises(ValidationFailedError, match=r"\(\|return\| <= 0\.5\): asset 'BBB', column 'log_return', "
                                                    r"2 row\(s\)"):
        validate_market(_market(prices))
    repaired, result = validate_market(_market(prices), mode="repair")
    assert list(prices.index.difference(repaired.prices.index)) == [prices.index[50]]
    assert set(result.quarantined["suite"]) == {"returns", "alignment"}


def test_max_abs_return_is_configurable(make_prices):
    prices = make_prices(300, ("AAA",), seed=4)
    largest = float(np.abs(compute_returns(prices)).to_numpy().max())
    validate_market(_market(prices), max_abs_return=largest * 1.01)
    with pytest.raises(ValidationFailedError, match=r"\|return\| <= "):
        validate_market(_market(prices), max_abs_return=largest * 0.99)


def test_unchanged_run_rule(make_prices):
    prices = make_prices(300, ("AAA", "BBB"), seed=5)
    prices.iloc[100:115, 0] = prices.iloc[100, 0]  # 14 consecutive unchanged days
    with pytest.raises(ValidationFailedError, match=r"\(price unchanged for at most 10 consecutive days\): "
                                                    r"asset 'AAA', column 'unchanged_run', 4 row\(s\); "
                                                    r"e\.g\. \S+ = 11, \S+ = 12"):
        validate_market(_market(prices))
    validate_market(_market(prices), max_unchanged_run=14)
    repaired, _ = validate_market(_market(prices), mode="repair")
    assert len(repaired.prices) == 296


def test_unchanged_runs_against_a_loop():
    values = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3, 1, np.nan, np.nan], dtype=float)
    expected, run = [], 0
    for i, v in enumerate(values):
        run = run + 1 if i > 0 and v == values[i - 1] else 0
        expected.append(run)
    assert _unchanged_runs(values).tolist() == expected == [0, 1, 2, 0, 1, 0, 1, 2, 3, 0, 0, 0]


def test_too_few_rows_fails_in_both_modes(make_prices):
    data = _market(make_prices(100, ("AAA", "BBB"), seed=6))
    with pytest.raises(ValidationFailedError, match=r"expect_table_row_count_to_be_between \(at least 250 rows\): "
                                                    r"asset 'AAA', column '\(table\)', observed 100"):
        validate_market(data)
    with pytest.raises(ValidationFailedError, match=r"(?s)mode='repair'.*at least 249 observations.*Repair cannot fix"
                                                    r" these by dropping rows"):
        validate_market(data, mode="repair", min_observations=249)
    validate_market(data, min_rows=100, min_observations=99)


def test_repair_that_leaves_too_few_rows_fails(make_prices, tmp_path):
    prices = make_prices(250, ("AAA",), seed=7)
    prices.iloc[5, 0] = -1.0
    with pytest.raises(ValidationFailedError, match=r"(?s)mode='repair'.*at least 250 rows.*observed 249") as info:
        validate_market(_market(prices), mode="repair", min_observations=1,
                        quarantine_path=tmp_path / "q.parquet", docs_dir=tmp_path / "docs")
    assert not (tmp_path / "q.parquet").exists()
    assert info.value.result.docs_index == tmp_path / "docs" / "index.html"
    assert (tmp_path / "docs" / "index.html").is_file()  # docs explain the failure
    assert f"Data Docs: {tmp_path / 'docs' / 'index.html'}" in str(info.value)


def test_unsorted_and_duplicate_dates_are_attributed(make_prices):
    prices = make_prices(300, ("AAA",), seed=8)
    index = prices.index.to_list()
    index[20], index[21] = index[21], index[20]
    index[40] = index[39]
    prices.index = pd.DatetimeIndex(index, name="date")
    with pytest.raises(ValidationFailedError) as info:
        validate_market(_market(prices))
    rules = {(f.rule, f.asset, f.count) for f in info.value.result.failures}
    assert ("expect_column_values_to_be_increasing", "AAA", 2) in rules  # the swapped date and the repeat
    assert ("expect_compound_columns_to_be_unique", "AAA", 2) in rules
    repaired, _ = validate_market(_market(prices), mode="repair")
    assert repaired.prices.index.is_monotonic_increasing and repaired.prices.index.is_unique


def test_simple_returns_are_validated_in_their_own_column(make_prices):
    prices = make_prices(300, ("AAA",), seed=9)
    prices.iloc[30, 0] *= 2.0  # simple return +100%
    with pytest.raises(ValidationFailedError,
                       match=r"column 'simple_return', 2 row\(s\); e\.g\. \S+ = 1\.0\d+, \S+ = -0\.5"):
        validate_market(_market(prices, "simple"))


def test_infinite_price(make_prices):
    prices = make_prices(300, ("AAA",), seed=10)
    prices.iloc[7, 0] = np.inf
    with pytest.raises(ValidationFailedError, match=r"\(price finite\): asset 'AAA', column 'price', 1 row\(s\); "
                                                    r"e\.g\. \S+ = inf"):
        validate_market(_market(prices))


def test_argument_errors(bundled_market):
    with pytest.raises(ValueError, match=r"mode must be one of \('strict', 'repair'\); received 'lenient'"):
        validate_market(bundled_market, mode="lenient")
    with pytest.raises(ValueError, match="max_abs_return must be a finite number > 0; received 0"):
        validate_market(bundled_market, max_abs_return=0)
    with pytest.raises(ValueError, match="min_rows must be an integer >= 2; received 1.5"):
        validate_market(bundled_market, min_rows=1.5)
    with pytest.raises(TypeError, match="data must be MarketData; received DataFrame"):
        validate_market(bundled_market.prices)


def test_repair_with_nothing_to_fix_writes_empty_quarantine_and_relative_docs(make_prices, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, result = validate_market(_market(make_prices(300)), mode="repair", quarantine_path=Path("run/q.parquet"),
                                docs_dir=Path("reports/validation"))
    table = pq.read_table(tmp_path / "run" / "q.parquet")
    assert table.num_rows == 0 and table.schema.field("date").type == pa.timestamp("ns")
    assert (tmp_path / "reports" / "validation" / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports", "run"]  # nothing else (no temp dirs)
    assert result.success and result.statistics["input_success"] and result.quarantined.empty


# --------------------------------------------------------------------------- missing prices and gaps


def _holes_csv(tmp_path, make_prices) -> tuple[Path, list]:
    prices = make_prices(300, ("AAA", "BBB"), seed=4)
    text = prices.to_csv(date_format="%Y-%m-%d").splitlines()
    holes = [prices.index[40], prices.index[41], prices.index[200]]
    for i, date in enumerate(holes):
        row = text.index(next(line for line in text if line.startswith(str(date.date()))))
        cells = text[row].split(",")
        cells[1 + (i % 2)] = "N/A" if i == 0 else ("NaN" if i == 1 else "")
        text[row] = ",".join(cells)
    path = tmp_path / "holes.csv"
    path.write_text("\n".join(text) + "\n")
    return path, holes


def test_strict_fails_on_missing_prices_with_their_count_and_the_fix(tmp_path, make_prices) -> None:
    path, holes = _holes_csv(tmp_path, make_prices)
    quarantine = tmp_path / "q.parquet"
    with pytest.raises(ValidationFailedError, match=r"missing_price \(price present in the input.*asset 'AAA', "
                                                    rf"column 'price', 2 row\(s\); e.g. {holes[0].date()} = NaN") as err:
        validate_market(ingest(path), min_rows=100, min_observations=100, quarantine_path=quarantine)
    message = str(err.value)
    assert "asset 'BBB', column 'price', 1 row(s)" in message
    assert "set source.align=ffill (--set source.align=ffill)" in message and "--mode repair" in message
    assert not quarantine.exists()


def test_repair_quarantines_every_missing_price_with_its_reason(tmp_path, make_prices) -> None:
    path, holes = _holes_csv(tmp_path, make_prices)
    quarantine = tmp_path / "q.parquet"
    data, result = validate_market(ingest(path), mode="repair", min_rows=100, min_observations=100,
                                   quarantine_path=quarantine)
    saved = pd.read_parquet(quarantine)
    missing = saved[saved["rule"] == "missing_price"]
    assert sorted(zip(missing["date"], missing["asset"])) == sorted(zip(holes, ["AAA", "BBB", "AAA"]))
    assert missing["reason"].str.contains("price missing in the input").all()
    assert len(data.prices) == 297
    assert "3 missing price(s) (empty, NaN or N/A) in the input: 0 forward-filled, 3 dropped" in result.summary()


def test_ffill_alignment_fills_missing_prices_and_says_so(tmp_path, make_prices) -> None:
    path, _ = _holes_csv(tmp_path, make_prices)
    data, result = validate_market(ingest(path, align="ffill"), min_rows=100, min_observations=100)
    assert len(data.prices) == 300 and result.success
    assert "3 missing price(s) (empty, NaN or N/A) in the input: 3 forward-filled, 0 dropped" in result.summary()


def _gap(make_prices) -> tuple[MarketData, pd.Timestamp, pd.Timestamp]:
    prices = make_prices(300, ("AAA", "BBB"), seed=5)
    index = prices.index.to_series()
    index.iloc[150:] = index.iloc[150:] + pd.Timedelta(days=60)
    prices.index = pd.DatetimeIndex(index.values, name="date")
    return _market(prices), prices.index[149], prices.index[150]


@pytest.mark.parametrize("mode", ["strict", "repair"])
def test_a_long_gap_fails_validation_naming_the_dates(make_prices, mode: str) -> None:
    data, before, after = _gap(make_prices)
    days = (after - before).days
    with pytest.raises(ValidationFailedError, match=rf"at most 10 calendar days between consecutive prices "
                                                    rf"\(validation.max_gap_days\); found {before.date()} to "
                                                    rf"{after.date()} \({days} days\)") as err:
        validate_market(data, mode=mode, min_rows=100, min_observations=100)
    assert "raise validation.max_gap_days" in str(err.value)
    _, result = validate_market(data, mode=mode, min_rows=100, min_observations=100, max_gap_days=days)
    assert result.success
