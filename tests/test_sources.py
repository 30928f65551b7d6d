"""Tests for quantum_scenarios.market.sources: bundled data, files (long/wide, CSV/Parquet), Yahoo, ingest."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quantum_scenarios.errors import DataSourceUnavailableError, InputDataError
from quantum_scenarios.market.returns import compute_returns
from quantum_scenarios.market.sources import (
    BUNDLED_ASSETS,
    MarketData,
    align_prices,
    ingest,
    load_bundled,
    load_file,
    load_yahoo,
)

LONG_CSV = """date,asset,price
2020-01-02,AAA,100.0
2020-01-02,BBB,50.0
2020-01-03,AAA,101.0
2020-01-03,BBB,51.0
2020-01-06,AAA,99.5
2020-01-06,BBB,50.5
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- bundled


def test_bundled_data_covers_1999_to_2018_with_4500_aligned_days(bundled_market):
    prices = bundled_market.prices
    assert bundled_market.assets == BUNDLED_ASSETS == ("SP500", "NASDAQ", "WTI")
    assert len(prices) >= 4500
    assert prices.index.min() >= pd.Timestamp("1999-01-01")
    assert prices.index.max() <= pd.Timestamp("2018-12-31")
    assert prices.index.min().year == 1999 and prices.index.max().year == 2018
    assert prices.index.name == "date" and prices.index.tz is None
    assert prices.index.is_monotonic_increasing and prices.index.is_unique
    assert prices.index.dtype == "datetime64[ns]"
    assert (prices.dtypes == np.float64).all() and not prices.isna().any().any()
    assert bundled_market.source == "bundled" and bundled_market.return_kind == "log"
    pd.testing.assert_frame_equal(bundled_market.returns, compute_returns(prices, "log"))


def test_bundled_values_are_the_arch_closes(bundled_market):
    from arch.data import nasdaq, sp500, wti

    date = pd.Timestamp("2008-10-15")
    row = bundled_market.prices.loc[date]
    assert row["SP500"] == sp500.load().loc[date, "Adj Close"]
    assert row["NASDAQ"] == nasdaq.load().loc[date, "Adj Close"]
    assert row["WTI"] == wti.load().loc[date, "DCOILWTICO"]
    # inner alignment: exactly the dates on which all three series have a value
    common = sp500.load().index.intersection(nasdaq.load().index).intersection(wti.load()["DCOILWTICO"].dropna().index)
    assert len(bundled_market.prices) == len(common)


def test_bundled_subset_order_and_unknown_asset():
    prices = load_bundled(["WTI", "SP500"])
    assert list(prices.columns) == ["WTI", "SP500"]
    with pytest.raises(InputDataError, match=r"Unknown asset\(s\) \['GOLD'\] requested from the bundled data; "
                                             r"available assets: \['SP500', 'NASDAQ', 'WTI'\]"):
        load_bundled(["SP500", "GOLD"])


def test_ffill_alignment_bridges_gaps_and_keeps_inner_dates(bundled_market):
    ffilled = ingest("bundled", align="ffill", ffill_limit=5)
    assert bundled_market.prices.index.isin(ffilled.prices.index).all()
    assert len(ffilled.prices) > len(bundled_market.prices)
    assert not ffilled.prices.isna().any().any()


def test_align_prices_policies():
    idx = pd.bdate_range("2020-01-01", periods=6)
    raw = pd.DataFrame({"A": [1, 2, np.nan, np.nan, np.nan, 6.0], "B": [np.nan, 1, 2, 3, 4, 5.0]}, index=idx)
    assert list(align_prices(raw).index) == [idx[1], idx[5]]
    # ffill bridges at most `ffill_limit` rows; the leading NaN of B is never filled
    assert list(align_prices(raw, align="ffill", ffill_limit=2).index) == [idx[1], idx[2], idx[3], idx[5]]
    assert list(align_prices(raw, align="ffill", ffill_limit=3).index) == list(idx[1:])
    with pytest.raises(ValueError, match=r"align must be one of \('inner', 'ffill'\); received 'outer'"):
        align_prices(raw, align="outer")
    with pytest.raises(ValueError, match="ffill_limit must be an integer >= 0; received -1"):
        align_prices(raw, align="ffill", ffill_limit=-1)


def test_ingest_date_range_is_inclusive_and_simple_returns():
    data = ingest("bundled", assets=["SP500"], start="2008-09-15", end="2008-09-19", return_kind="simple")
    assert [d.strftime("%Y-%m-%d") for d in data.prices.index] == [
        "2008-09-15", "2008-09-16", "2008-09-17", "2008-09-18", "2008-09-19"]
    p = data.prices["SP500"].to_numpy()
    np.testing.assert_allclose(data.returns["SP500"].to_numpy(), p[1:] / p[:-1] - 1.0)
    assert data.return_kind == "simple"


def test_ingest_argument_errors():
    with pytest.raises(ValueError, match="start must not be after end; received start=2010-01-05, end=2010-01-01"):
        ingest("bundled", start="2010-01-05", end="2010-01-01")
    with pytest.raises(ValueError, match=r"return kind must be one of"):
        ingest("bundled", return_kind="arith")
    with pytest.raises(ValueError, match="start must be a date such as 2005-01-31; received 'soon'"):
        ingest("bundled", start="soon")
    with pytest.raises(ValueError, match="source='yahoo' needs tickers"):
        ingest("yahoo")


def test_ingest_window_with_one_date_is_rejected():
    with pytest.raises(InputDataError, match=r"bundled has 1 aligned date\(s\) between 2008-09-15 and 2008-09-15 "
                                             r"\(2008-09-15\); at least 2 are needed to compute a return"):
        ingest("bundled", start="2008-09-15", end="2008-09-15")


def test_market_data_checks_and_assets(make_prices):
    prices = make_prices(5, ("A", "B"))
    data = MarketData(prices, compute_returns(prices), "x", "log")
    assert data.assets == ("A", "B")
    with pytest.raises(ValueError, match="must have the same asset columns"):
        MarketData(prices, compute_returns(prices[["A"]]), "x", "log")
    with pytest.raises(ValueError, match="return kind must be one of"):
        MarketData(prices, compute_returns(prices), "x", "weird")


# --------------------------------------------------------------------------- files: good input


def test_long_csv(tmp_path, untouched):
    path = _write(tmp_path, "prices.csv", LONG_CSV)
    check = untouched(path)
    prices = load_file(path)
    check()
    assert list(prices.columns) == ["AAA", "BBB"]
    assert prices.index.name == "date" and prices.index.dtype == "datetime64[ns]"
    assert prices.loc["2020-01-06", "AAA"] == 99.5 and prices.loc["2020-01-03", "BBB"] == 51.0


def test_recognised_column_names_case_insensitive(tmp_path):
    text = "Date,Ticker,Open,Adj Close,Close\n2020-01-02,X,1,10,11\n2020-01-03,X,1,12,13\n"
    prices = load_file(_write(tmp_path, "yahoo.csv", text))
    assert prices["X"].tolist() == [10.0, 12.0]  # "Adj Close" preferred over "Close"
    text = "DATETIME,SYMBOL,PRICE\n2020-01-02,X,1\n2020-01-03,X,2\n"
    assert load_file(_write(tmp_path, "upper.csv", text))["X"].tolist() == [1.0, 2.0]


def test_explicit_column_options(tmp_path):
    text = "when,name,px,other\n2020-01-02,X,1,9\n2020-01-03,X,2,9\n"
    prices = load_file(_write(tmp_path, "custom.csv", text), date_col="when", asset_col="name", price_col="px")
    assert prices["X"].tolist() == [1.0, 2.0]
    with pytest.raises(InputDataError, match=r"Price column 'close' \(from price_col / --price-col\) not found in "
                                             r".*custom.csv; columns present: \['when', 'name', 'px', 'other'\]"):
        load_file(tmp_path / "custom.csv", date_col="when", asset_col="name", price_col="close")


def test_wide_csv_and_single_asset_file(tmp_path):
    wide = "Date,SPX,NDX\n2020-01-03,2,20\n2020-01-02,1,10\n2020-01-06,3,\n2020-01-07,4,40\n"
    prices = load_file(_write(tmp_path, "wide.csv", wide))
    assert list(prices.columns) == ["SPX", "NDX"]
    assert prices.index.is_monotonic_increasing
    assert len(prices) == 3  # inner: 2020-01-06 has no NDX price
    ffilled = load_file(tmp_path / "wide.csv", align="ffill")
    assert ffilled.loc["2020-01-06", "NDX"] == 20.0
    single = "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,100\n2020-01-03,1,2,0.5,1.7,100\n"
    prices = load_file(_write(tmp_path, "SPY.csv", single))
    assert list(prices.columns) == ["SPY"] and prices["SPY"].tolist() == [1.5, 1.7]


def test_long_and_wide_parquet(tmp_path, make_prices):
    wide = make_prices(10, ("A", "B"))
    path = tmp_path / "wide.parquet"
    wide.reset_index().to_parquet(path)
    pd.testing.assert_frame_equal(load_file(path), wide, check_freq=False)
    long = wide.reset_index().melt(id_vars="date", var_name="symbol", value_name="close")
    path = tmp_path / "long.parquet"
    long.to_parquet(path)
    pd.testing.assert_frame_equal(load_file(path), wide, check_freq=False, check_names=False)
    indexed = tmp_path / "indexed.parquet"
    wide.to_parquet(indexed)  # date stored as the pandas index
    pd.testing.assert_frame_equal(load_file(indexed), wide, check_freq=False)


def test_parquet_date32_and_decimal_prices(tmp_path):
    import datetime as dt
    import decimal

    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({
        "date": pa.array([dt.date(2020, 1, 2), dt.date(2020, 1, 3)], pa.date32()),
        "ticker": ["X", "X"],
        "close": pa.array([decimal.Decimal("1.50"), decimal.Decimal("2.25")], pa.decimal128(10, 2)),
    }), path)
    prices = load_file(path)
    assert prices["X"].tolist() == [1.5, 2.25] and prices["X"].dtype == np.float64
    assert prices.index.dtype == "datetime64[ns]"


def test_all_tz_aware_dates_keep_their_wall_clock_date(tmp_path):
    text = "date,asset,price\n2020-01-02T00:00:00+09:00,X,1\n2020-01-03T00:00:00+09:00,X,2\n"
    prices = load_file(_write(tmp_path, "tz.csv", text))
    assert [d.strftime("%Y-%m-%d") for d in prices.index] == ["2020-01-02", "2020-01-03"]
    assert prices.index.tz is None


def test_zero_and_negative_prices_are_loaded_for_validation(tmp_path):
    text = LONG_CSV.replace("2020-01-03,AAA,101.0", "2020-01-03,AAA,-1.0").replace("BBB,50.5", "BBB,0")
    prices = load_file(_write(tmp_path, "neg.csv", text))
    assert prices.loc["2020-01-03", "AAA"] == -1.0 and prices.loc["2020-01-06", "BBB"] == 0.0


def test_ingest_from_file_selects_assets(tmp_path):
    path = _write(tmp_path, "prices.csv", LONG_CSV)
    data = ingest(path, assets=["BBB"])
    assert data.assets == ("BBB",) and data.source == str(path)
    assert data.returns.shape == (2, 1)


# --------------------------------------------------------------------------- files: bad input


BAD_CSV_CASES = {
    "empty": ("", r"Input file .*empty\.csv is empty \(0 bytes\)"),
    "header_only": ("date,asset,price\n", r"has a header \(\['date', 'asset', 'price'\]\) but no data rows"),
    "no_date_col": ("when,asset,price\nx,A,1\n", r"No date column in .*; columns present: \['when', 'asset', 'price'\]"
                                                 r"\. Expected a column named one of Date/date/Datetime"),
    "no_price_col": ("date,asset,volume\n2020-01-02,A,1\n",
                     r"No price column in long-form file .* \(asset column 'asset'\).*pass price_col= \(--price-col\)"),
    "only_date_col": ("date\n2020-01-02\n", r"No price column in .*: only the date column 'date' is present"),
    "bad_dates": ("date,asset,price\n2020-01-02,A,1\n2020-13-45,A,2\nyesterday,A,3\n",
                  r"Cannot parse 2 date\(s\) in column 'date' of .*bad_dates\.csv \(row 2: '2020-13-45', "
                  r"row 3: 'yesterday'\)\. Expected one date format throughout"),
    "mixed_tz": ("date,asset,price\n2020-01-02,A,1\n2020-01-03T00:00:00+01:00,A,2\n",
                 r"mixes timezone-aware and naive dates: data row 2 is '2020-01-03T00:00:00\+01:00' \(with an offset\) "
                 r"but data row 1 is '2020-01-02' \(without\)"),
    "ancient_dates": ("date,A\n1500-01-02,1\n1500-01-03,2\n",
                      r"Dates in column 'date' of .* run from 1500-01-02 00:00:00 to 1500-01-03 00:00:00, outside the "
                      r"supported range 1678-2261"),
    "missing_date": ("date,asset,price\n2020-01-02,A,1\n,A,2\n", r"1 row\(s\) of .* have no date in column 'date'"),
    "non_numeric": ("date,asset,price\n2020-01-02,A,1\n2020-01-03,A,abc\n2020-01-06,A,1\n",
                    r"Non-numeric price\(s\) in column 'price' of .*: 1 value\(s\) cannot be read as numbers "
                    r"\(asset 'A', date 2020-01-03, value 'abc'\)"),
    "duplicate_long": ("date,asset,price\n2020-01-02,A,1\n2020-01-03,A,2\n2020-01-03,A,3\n2020-01-03,B,3\n",
                       r"Duplicate date 2020-01-03 for asset 'A' in .* \(data rows 2, 3\)\. "
                       r"Each asset needs exactly one price per date"),
    "duplicate_wide": ("date,A,B\n2020-01-02,1,2\n2020-01-02,1,2\n",
                       r"Duplicate date 2020-01-02 for every asset of the wide file in .*duplicate_wide\.csv "
                       r"\(data rows 1, 2\)"),
    "all_nan_asset": ("date,A,B\n2020-01-02,1,\n2020-01-03,2,\n",
                      r"Asset\(s\) \['B'\] in .* have no prices: all 2 values are missing"),
    "no_asset_name": ("date,asset,price\n2020-01-02,,1\n", r"1 row\(s\) of .* have no asset in column 'asset'"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV_CASES))
def test_bad_csv_input_is_rejected_and_left_untouched(tmp_path, untouched, case):
    text, message = BAD_CSV_CASES[case]
    path = _write(tmp_path, f"{case}.csv", text)
    check = untouched(path)
    with pytest.raises(InputDataError, match=message):
        ingest(path)
    check()


def test_missing_file(tmp_path):
    listing = list(tmp_path.iterdir())
    with pytest.raises(InputDataError, match=r"Input file not found: .*nope\.csv\. Expected a CSV or Parquet file"):
        ingest(tmp_path / "nope.csv")
    assert list(tmp_path.iterdir()) == listing


def test_unsupported_extension(tmp_path):
    path = _write(tmp_path, "prices.xlsx", "x")
    with pytest.raises(InputDataError, match=r"Unsupported file type for .*prices\.xlsx"):
        load_file(path)


def test_single_row_file(tmp_path, untouched):
    path = _write(tmp_path, "one.csv", "date,asset,price\n2020-01-02,A,1.5\n")
    check = untouched(path)
    with pytest.raises(InputDataError, match=r"one\.csv has 1 aligned date\(s\) \(2020-01-02\); at least 2 are needed"):
        ingest(path)
    check()


def test_unknown_asset_requested_from_file(tmp_path, untouched):
    path = _write(tmp_path, "prices.csv", LONG_CSV)
    check = untouched(path)
    with pytest.raises(InputDataError, match=r"Unknown asset\(s\) \['ZZZ'\] requested from .*prices\.csv; "
                                             r"available assets: \['AAA', 'BBB'\]"):
        ingest(path, assets=["AAA", "ZZZ"])
    check()


def test_non_overlapping_assets(tmp_path):
    text = "date,A,B\n2020-01-02,1,\n2020-01-03,2,\n2020-01-06,,3\n2020-01-07,,4\n"
    with pytest.raises(InputDataError, match=r"No date in .* has a price for every asset \['A', 'B'\] after 'inner'"):
        ingest(_write(tmp_path, "apart.csv", text))


def test_parquet_with_string_prices(tmp_path, untouched):
    path = tmp_path / "strings.parquet"
    table = pa.table({"date": pa.array(pd.bdate_range("2020-01-01", periods=3).as_unit("ns")),
                      "asset": ["A"] * 3, "price": ["1.0", "2.0", "3.0"]})
    pq.write_table(table, path)
    check = untouched(path)
    with pytest.raises(InputDataError, match=r"Price column 'price' in Parquet file .*strings\.parquet has type "
                                             r"string; expected a floating-point number type \(float64\)\. "
                                             r"Cast the column"):
        ingest(path)
    check()


def test_parquet_with_integer_dates(tmp_path, untouched):
    path = tmp_path / "intdates.parquet"
    pq.write_table(pa.table({"date": [20200102, 20200103], "A": [1.0, 2.0]}), path)
    check = untouched(path)
    with pytest.raises(InputDataError, match=r"Date column 'date' in .* has type int64; expected dates"):
        ingest(path)
    check()


def test_parquet_with_null_dates(tmp_path):
    path = tmp_path / "nat.parquet"
    pq.write_table(pa.table({"date": pa.array([pd.Timestamp("2020-01-02"), None], pa.timestamp("ns")),
                             "A": [1.0, 2.0]}), path)
    with pytest.raises(InputDataError, match=r"1 row\(s\) of .*nat\.parquet have no date in column 'date' "
                                             r"\(first at data row 2\)"):
        ingest(path)


def test_corrupt_parquet(tmp_path):
    path = _write(tmp_path, "broken.parquet", "not parquet at all")
    with pytest.raises(InputDataError, match=r"Cannot read .*broken\.parquet as Parquet"):
        ingest(path)


# --------------------------------------------------------------------------- yahoo (never touches the network)


class _FakeProvider:
    fail: Exception | None = None

    def __init__(self, tickers, start, end):
        self.tickers, self.start, self.end = tickers, start, end
        self._data = []

    def run(self):
        if self.fail is not None:
            raise self.fail
        idx = pd.bdate_range("2020-01-01", periods=5, tz="America/New_York")
        self._data = [pd.Series(np.arange(1.0, 6.0) * (i + 1), index=idx) for i, _ in enumerate(self.tickers)]


@pytest.fixture
def fake_yahoo(monkeypatch):
    module = types.ModuleType("qiskit_finance.data_providers")
    module.YahooDataProvider = _FakeProvider
    monkeypatch.setitem(sys.modules, "qiskit_finance.data_providers", module)
    _FakeProvider.fail = None
    return _FakeProvider


def test_yahoo_through_the_provider(fake_yahoo):
    data = ingest("yahoo", tickers=["^GSPC", "^IXIC"], start="2020-01-01", end="2020-01-06")
    assert data.assets == ("^GSPC", "^IXIC") and data.source == "yahoo"
    assert data.prices.index.tz is None and len(data.prices) == 4  # 2020-01-07 is after `end`
    assert data.prices["^IXIC"].tolist() == [2.0, 4.0, 6.0, 8.0]


def test_yahoo_without_network(fake_yahoo):
    class QiskitFinanceError(Exception):
        pass

    error = QiskitFinanceError("Accessing Yahoo Data failed.")
    error.__cause__ = ConnectionError("Failed to resolve 'query2.finance.yahoo.com'")
    fake_yahoo.fail = error
    with pytest.raises(DataSourceUnavailableError,
                       match=r"Yahoo download failed for tickers \['\^GSPC'\] between 2020-01-01 and 2020-02-01: "
                             r"Accessing Yahoo Data failed\. \(ConnectionError: Failed to resolve .*\)\. "
                             r"The Yahoo source is optional: it needs network access and the yfinance package\. "
                             r"Use source='bundled'"):
        load_yahoo(["^GSPC"], "2020-01-01", "2020-02-01")


def test_yahoo_without_yfinance(monkeypatch):
    monkeypatch.setitem(sys.modules, "qiskit_finance.data_providers", None)  # import fails
    with pytest.raises(DataSourceUnavailableError, match=r"Yahoo source unavailable: .*needs network access and "
                                                         r"the yfinance package"):
        load_yahoo(["^GSPC"], "2020-01-01", "2020-02-01")


def test_yahoo_argument_errors():
    with pytest.raises(ValueError, match="load_yahoo needs both start and end dates"):
        load_yahoo(["^GSPC"], None, "2020-01-01")
    with pytest.raises(ValueError, match="end must be after start"):
        load_yahoo(["^GSPC"], "2020-01-02", "2020-01-01")


# --------------------------------------------------------------------------- odd input is explicit


def _put(path, text: str):
    path.write_text(text)
    return path


def _wide_text(n: int = 6, header: str = "date,AAA,BBB") -> str:
    rows = [f"2020-01-{d:02d},{100 + d},{50 + d}" for d in range(1, n + 1)]
    return header + "\n" + "\n".join(rows) + "\n"


def test_a_csv_gz_that_is_not_gzip_is_an_input_error(tmp_path) -> None:
    path = _put(tmp_path / "prices.csv.gz", _wide_text())
    with pytest.raises(InputDataError, match=r"prices.csv.gz: its name ends in .gz but its content is not valid gz "
                                             r"data .*Rename it to .csv"):
        ingest(path)


def test_duplicate_wide_column_is_an_error_not_a_new_asset(tmp_path) -> None:
    path = _put(tmp_path / "dup.csv", _wide_text(header="date,AAA,AAA"))
    with pytest.raises(InputDataError, match=r"Column name 'AAA' appears twice in .*dup.csv \(columns 2 and 3\)"):
        ingest(path)


def test_empty_header_is_an_error_not_unnamed(tmp_path) -> None:
    path = _put(tmp_path / "empty.csv", _wide_text(header="date,,BBB"))
    with pytest.raises(InputDataError, match=r"Column\(s\) \[2\] of .*empty.csv have an empty header"):
        ingest(path)


def test_control_characters_in_asset_names_are_refused(tmp_path) -> None:
    wide = _put(tmp_path / "esc.csv", _wide_text(header="date,AAA\x1b[31m,BBB"))
    with pytest.raises(InputDataError, match=r"Asset name 'AAA\\x1b\[31m' \(asset 1\) .* contains control "
                                             r"character\(s\) '\\x1b'; rename it"):
        ingest(wide)
    long = _put(tmp_path / "esc_long.csv", "date,asset,price\n2020-01-01,A\x07B,1\n2020-01-02,A\x07B,2\n")
    with pytest.raises(InputDataError, match=r"Asset name 'A\\x07B' .* column 'asset'"):
        ingest(long)


def test_more_long_form_names_and_m_d_y_dates_are_recognised(tmp_path) -> None:
    rows = ["Date,stock,value,change"]
    for day in range(1, 6):
        rows += [f"1/{day}/2020,AAA,{10 + day},0.1", f"1/{day}/2020,BBB,{20 + day},0.2"]
    data = ingest(_put(tmp_path / "long.csv", "\n".join(rows) + "\n"))
    assert data.assets == ("AAA", "BBB") and len(data.prices) == 5
    assert data.prices.loc["2020-01-03", "BBB"] == 23.0


def test_duplicate_dates_in_a_wide_file_suggest_asset_col(tmp_path) -> None:
    rows = ["Date,sym,px_close"] + [f"2020-01-0{d},{a},{d}" for d in range(1, 4) for a in ("A", "B")]
    with pytest.raises(InputDataError, match=r"Duplicate date 2020-01-01 .*name its asset and price columns with "
                                             r"--asset-col and --price-col \(columns: \['Date', 'sym', 'px_close'\]\)"):
        ingest(_put(tmp_path / "sym.csv", "\n".join(rows) + "\n"))


def test_nan_and_na_prices_are_recorded_with_their_outcome(tmp_path) -> None:
    text = _wide_text(8).replace("2020-01-03,103,53", "2020-01-03,N/A,53").replace("2020-01-06,106,56", "2020-01-06,106,")
    path = _put(tmp_path / "holes.csv", text)
    inner = ingest(path)
    assert len(inner.prices) == 6  # both dates dropped by the inner alignment ...
    assert inner.missing[["asset", "outcome"]].values.tolist() == [["AAA", "dropped"], ["BBB", "dropped"]]
    assert [d.day for d in inner.missing["date"]] == [3, 6]  # ... and recorded, for the validate stage
    filled = ingest(path, align="ffill")
    assert len(filled.prices) == 8 and filled.prices.loc["2020-01-03", "AAA"] == 102.0
    assert filled.missing["outcome"].tolist() == ["filled", "filled"]
    assert ingest(path, assets=["BBB"]).missing["asset"].tolist() == ["BBB"]
    assert ingest("bundled").missing.empty
