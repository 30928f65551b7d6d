"""Market-data sources: bundled real data, CSV/Parquet files, Yahoo; and :func:`ingest`.

Every loader returns the same shape: a *wide* price frame with a tz-naive,
sorted, unique :class:`~pandas.DatetimeIndex` named ``"date"`` and one float64
column per asset, aligned across assets by the chosen policy:

* ``"inner"`` (default): keep only dates on which every asset has a price;
* ``"ffill"``: on the union of dates, carry each asset's last price forward for
  at most ``ffill_limit`` rows, then drop the rows that are still incomplete.

:func:`ingest` picks a loader, filters the date range and computes returns,
giving a :class:`MarketData`, the object the ``validate`` stage receives.

Loaders reject input they cannot interpret (:class:`InputDataError` naming the
file, column, asset, date and value). Values that parse but are implausible
(zero or negative prices, huge jumps, stale runs) are left in on purpose: the
great-expectations suites in :mod:`quantum_scenarios.market.validation` judge
them, so ``repair`` mode can quarantine exactly those rows.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import lzma
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quantum_scenarios.errors import DataSourceUnavailableError, InputDataError
from quantum_scenarios.market.returns import check_return_kind, compute_returns

BUNDLED_ASSETS: tuple[str, ...] = ("SP500", "NASDAQ", "WTI")
ALIGN_POLICIES: tuple[str, ...] = ("inner", "ffill")

# Recognised column names, compared case-insensitively after stripping spaces, "_" and "-".
DATE_COLUMN_NAMES: tuple[str, ...] = ("date", "datetime", "timestamp", "time", "day")
ASSET_COLUMN_NAMES: tuple[str, ...] = (
    "asset", "ticker", "symbol", "instrument", "security", "stock", "name", "assetname", "code", "series",
)
PRICE_COLUMN_NAMES: tuple[str, ...] = (
    "adjclose", "adjustedclose", "close", "price", "closeprice", "pxlast", "last", "value", "closingprice",
    "settle", "settlement", "px",
)
CSV_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq", ".parq")

_BUNDLED_COLUMNS: dict[str, tuple[str, str]] = {
    # asset -> (arch.data module, price column)
    "SP500": ("sp500", "Adj Close"),
    "NASDAQ": ("nasdaq", "Adj Close"),
    "WTI": ("wti", "DCOILWTICO"),
}
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?|\s*(?:UTC|GMT))$", re.IGNORECASE)
_TIME_PART = re.compile(r"[T\s]\d{1,2}:\d{2}")


@dataclass(frozen=True)
class MarketData:
    """Prices and returns of several assets on common dates.

    Attributes:
        prices: Wide frame, ``DatetimeIndex`` named ``"date"`` (tz-naive, sorted,
            unique), one float64 column per asset.
        returns: Returns of ``prices`` (same columns, index ``prices.index[1:]``).
        source: Where the prices came from: ``"bundled"``, a file path or ``"yahoo"``.
        return_kind: ``"log"`` or ``"simple"``.
        missing: Price cells present in an input file but empty, ``NaN`` or ``N/A``:
            columns ``date, asset, outcome`` where ``outcome`` is ``"filled"`` (carried
            forward by ``align="ffill"``) or ``"dropped"`` (the date was removed by
            alignment). Empty for sources without explicit missing cells. The validate
            stage reports them, fails on dropped ones in strict mode and quarantines
            them in repair mode.
    """

    prices: pd.DataFrame
    returns: pd.DataFrame
    source: str
    return_kind: str = "log"
    missing: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.prices, pd.DataFrame) or not isinstance(self.returns, pd.DataFrame):
            raise TypeError(
                "MarketData.prices and MarketData.returns must be pandas DataFrames; received "
                f"{type(self.prices).__name__} and {type(self.returns).__name__}."
            )
        if list(self.prices.columns) != list(self.returns.columns):
            raise ValueError(
                "MarketData.prices and MarketData.returns must have the same asset columns; received "
                f"{list(self.prices.columns)} and {list(self.returns.columns)}."
            )
        check_return_kind(self.return_kind)
        if self.missing is None:
            object.__setattr__(self, "missing", _missing_frame([]))

    @property
    def assets(self) -> tuple[str, ...]:
        """Asset names, in column order."""
        return tuple(str(c) for c in self.prices.columns)


MISSING_OUTCOMES: tuple[str, ...] = ("filled", "dropped")


def _missing_frame(records: list[tuple[pd.Timestamp, str]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=["date", "asset"])
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["asset"] = frame["asset"].astype(object)
    frame["outcome"] = pd.Series(["dropped"] * len(frame), dtype=object)
    return frame


def check_asset_names(names: Sequence[object], *, origin: str) -> None:
    """Refuse empty asset names and names holding control characters (they would reach terminals and reports).

    Raises:
        InputDataError: naming the position and the offending name (escaped).
    """
    for position, name in enumerate(names, start=1):
        text = str(name)
        if not text.strip():
            raise InputDataError(
                f"Asset {position} in {origin} has an empty name; give every price column (or asset) a name."
            )
        bad = sorted({c for c in text if ord(c) < 32 or 127 <= ord(c) < 160})
        if bad:
            shown = ", ".join(ascii(c) for c in bad)
            raise InputDataError(
                f"Asset name {ascii(text)} (asset {position}) in {origin} contains control character(s) {shown}; "
                "rename it with printable characters only."
            )


# --------------------------------------------------------------------------- alignment


def _check_align(align: str, ffill_limit: int) -> tuple[str, int]:
    if not isinstance(align, str) or align.strip().lower() not in ALIGN_POLICIES:
        raise ValueError(f"align must be one of {ALIGN_POLICIES}; received {align!r}.")
    if isinstance(ffill_limit, bool) or not isinstance(ffill_limit, (int, np.integer)) or ffill_limit < 0:
        raise ValueError(f"ffill_limit must be an integer >= 0; received {ffill_limit!r}.")
    return align.strip().lower(), int(ffill_limit)


def align_prices(prices: pd.DataFrame, *, align: str = "inner", ffill_limit: int = 5) -> pd.DataFrame:
    """Align a wide price frame whose assets have gaps (``NaN``) onto common dates.

    Args:
        prices: Wide frame on the union of dates, ``NaN`` where an asset has no price.
        align: ``"inner"`` keeps complete rows only; ``"ffill"`` first forward-fills each
            asset for at most ``ffill_limit`` consecutive rows.
        ffill_limit: Longest gap (in rows) bridged by ``"ffill"``.

    Returns:
        The aligned frame (rows with any remaining ``NaN`` dropped).

    Raises:
        ValueError: If ``align`` or ``ffill_limit`` is invalid.
    """
    align, ffill_limit = _check_align(align, ffill_limit)
    if align == "ffill" and ffill_limit > 0:
        prices = prices.ffill(limit=ffill_limit)
    return prices.dropna(how="any")


def _finish(
    raw: pd.DataFrame,
    *,
    origin: str,
    assets: Sequence[str] | None,
    align: str,
    ffill_limit: int,
) -> pd.DataFrame:
    """Select assets, reject all-missing assets, align, and normalise index and dtypes."""
    align, ffill_limit = _check_align(align, ffill_limit)
    raw = raw.copy()
    raw.columns = [str(c) for c in raw.columns]
    check_asset_names(list(raw.columns), origin=origin)
    if assets is not None:
        requested = _check_assets(assets)
        unknown = [a for a in requested if a not in raw.columns]
        if unknown:
            raise InputDataError(
                f"Unknown asset(s) {unknown} requested from {origin}; available assets: "
                f"{list(raw.columns)}. Fix the asset selection (--assets) or the input."
            )
        raw = raw[requested]
    empty = [c for c in raw.columns if raw[c].isna().all()]
    if empty:
        raise InputDataError(
            f"Asset(s) {empty} in {origin} have no prices: all {len(raw)} values are missing. "
            "Expected at least two prices per asset; drop the asset or fix the input."
        )
    aligned = align_prices(raw, align=align, ffill_limit=ffill_limit)
    if aligned.empty:
        raise InputDataError(
            f"No date in {origin} has a price for every asset {list(raw.columns)} after "
            f"{align!r} alignment (ffill_limit={ffill_limit}); the assets' date ranges do not "
            "overlap. Select fewer assets or use align='ffill' with a larger ffill_limit."
        )
    aligned = aligned.astype(np.float64)
    aligned.index = pd.DatetimeIndex(aligned.index).as_unit("ns")
    aligned.index.name = "date"
    aligned.columns.name = None
    return aligned


def _check_assets(assets: Sequence[str]) -> list[str]:
    if isinstance(assets, str):
        assets = [assets]
    out = [str(a).strip() for a in assets]
    if not out:
        raise ValueError("assets must name at least one asset when given; received an empty list.")
    if len(set(out)) != len(out):
        raise ValueError(f"assets must not repeat a name; received {out}.")
    return out


# --------------------------------------------------------------------------- bundled


def load_bundled(
    assets: Sequence[str] | None = None, *, align: str = "inner", ffill_limit: int = 5
) -> pd.DataFrame:
    """Load the real daily closes shipped inside the ``arch`` package.

    ``SP500`` and ``NASDAQ`` are the adjusted closes of ``arch.data.sp500`` and
    ``arch.data.nasdaq`` (1999-01-04 to 2018-12-31); ``WTI`` is the FRED series
    ``DCOILWTICO`` of ``arch.data.wti`` (1986-2019, with holiday gaps).

    Args:
        assets: Subset of :data:`BUNDLED_ASSETS` (default: all, in that order).
        align: Alignment policy, ``"inner"`` (default) or ``"ffill"``.
        ffill_limit: Longest gap bridged by ``"ffill"``.

    Returns:
        Wide aligned price frame (about 5,000 rows for all three assets, inner).

    Raises:
        InputDataError: If an unknown asset is requested.
    """
    requested = list(BUNDLED_ASSETS) if assets is None else _check_assets(assets)
    unknown = [a for a in requested if a not in _BUNDLED_COLUMNS]
    if unknown:
        raise InputDataError(
            f"Unknown asset(s) {unknown} requested from the bundled data; available assets: "
            f"{list(BUNDLED_ASSETS)}. Fix the asset selection (--assets / source.assets)."
        )
    series = {}
    for asset in requested:
        module_name, column = _BUNDLED_COLUMNS[asset]
        frame = importlib.import_module(f"arch.data.{module_name}").load()
        series[asset] = frame[column].astype(np.float64)
    raw = pd.concat(series, axis=1, join="outer", sort=True)
    return _finish(raw, origin="the bundled data (arch.data)", assets=None, align=align, ffill_limit=ffill_limit)


# --------------------------------------------------------------------------- files


def _norm(name: object) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _pick_column(
    columns: Sequence[str], explicit: str | None, candidates: Sequence[str], *, role: str, option: str, path: Path
) -> str | None:
    """Find a column by explicit name or by the recognised names (case-insensitive)."""
    if explicit is not None:
        if explicit in columns:
            return explicit
        matches = [c for c in columns if _norm(c) == _norm(explicit)]
        if len(matches) == 1:
            return matches[0]
        raise InputDataError(
            f"{role.capitalize()} column {explicit!r} (from {option}) not found in {path}; "
            f"columns present: {list(columns)}. Pass the exact column name."
        )
    by_norm = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    for cand in candidates:
        if cand in by_norm:
            return by_norm[cand]
    return None


def _read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (as strings) or a Parquet file (typed) into a frame."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
            raise InputDataError(
                f"Cannot read {path} as Parquet: {exc}. Expected a valid Parquet file."
            ) from exc
        _check_header([str(c) for c in table.column_names], path=path)
        frame = table.to_pandas()
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()
        return frame
    if name.endswith(CSV_SUFFIXES):
        try:
            header = pd.read_csv(path, dtype=str, header=None, nrows=1, keep_default_na=False,
                                 skipinitialspace=True)
            _check_header([str(c).strip() for c in header.iloc[0].tolist()] if len(header) else [], path=path)
            return pd.read_csv(path, dtype=str, skipinitialspace=True)
        except pd.errors.EmptyDataError as exc:
            raise InputDataError(
                f"Input file {path} is empty: no header and no rows. Expected a header line such as "
                "'date,asset,price' followed by one row per observation."
            ) from exc
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputDataError(f"Cannot parse {path} as CSV: {' '.join(str(exc).split())}.") from exc
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, lzma.LZMAError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # a real I/O error (permissions, disk): not the file's content
            kind = name.rsplit(".", 1)[-1]
            raise InputDataError(
                f"Cannot read {path}: its name ends in .{kind} but its content is not valid {kind} data "
                f"({exc}). Rename it to .csv if it is plain text, or recompress it."
            ) from exc
    raise InputDataError(
        f"Unsupported file type for {path}: expected one of {CSV_SUFFIXES + PARQUET_SUFFIXES}."
    )


def _check_header(names: list[str], *, path: Path) -> None:
    """Refuse empty and duplicate column names (pandas would silently invent ``Unnamed: 1`` / ``AAA.1``)."""
    empty = [i + 1 for i, n in enumerate(names) if not str(n).strip() or str(n).strip().lower() == "nan"]
    if empty:
        raise InputDataError(
            f"Column(s) {empty} of {path} have an empty header (columns: {names}). Give every column a name."
        )
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        key = str(n).strip()
        if key in seen:
            raise InputDataError(
                f"Column name {key!r} appears twice in {path} (columns {seen[key] + 1} and {i + 1}). Each asset "
                "needs one column; rename or remove the duplicate."
            )
        seen[key] = i


def _check_no_missing_dates(missing: np.ndarray, *, column: str, path: Path) -> None:
    rows = np.flatnonzero(missing)
    if rows.size:
        raise InputDataError(
            f"{rows.size} row(s) of {path} have no date in column {column!r} (first at data row "
            f"{rows[0] + 1}). Every row needs a date."
        )


def _as_dates(parsed: pd.Series, *, column: str, path: Path) -> pd.DatetimeIndex:
    """Midnight, nanosecond, tz-naive dates; reject missing and out-of-range ones."""
    _check_no_missing_dates(parsed.isna().to_numpy(), column=column, path=path)
    index = pd.DatetimeIndex(parsed)
    if index.tz is not None:
        index = index.tz_localize(None)  # keep the wall-clock (exchange) date
    try:
        return index.normalize().as_unit("ns")
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise InputDataError(
            f"Dates in column {column!r} of {path} run from {index.min()} to {index.max()}, outside the "
            "supported range 1678-2261."
        ) from exc


def _parse_dates(values: pd.Series, *, column: str, path: Path) -> pd.DatetimeIndex:
    """Parse a date column into tz-naive midnight timestamps, or raise with examples."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
        return _as_dates(values, column=column, path=path)
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise InputDataError(
            f"Date column {column!r} in {path} has type {values.dtype}; expected dates "
            "(a timestamp/date column, or strings like 2010-01-05)."
        )
    blank = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    _check_no_missing_dates(blank, column=column, path=path)
    text = values.astype(str).str.strip()
    has_tz = text.map(lambda s: bool(_TIME_PART.search(s) and _TZ_SUFFIX.search(s)))
    if has_tz.any() and not has_tz.all():
        aware, naive = int(np.argmax(has_tz.to_numpy())), int(np.argmin(has_tz.to_numpy()))
        raise InputDataError(
            f"Column {column!r} of {path} mixes timezone-aware and naive dates: data row {aware + 1} "
            f"is {text.iloc[aware]!r} (with an offset) but data row {naive + 1} is "
            f"{text.iloc[naive]!r} (without). Use naive exchange dates throughout (e.g. 2010-01-05), "
            "or give every date an offset."
        )
    if has_tz.all():
        text = text.str.replace(_TZ_SUFFIX, "", regex=True)  # keep the wall-clock (exchange) date
    with warnings.catch_warnings():  # "could not infer format" for M/D/YYYY: the result is checked below
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(text, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        examples = ", ".join(f"row {i + 1}: {text.iloc[i]!r}" for i in bad[:3])
        raise InputDataError(
            f"Cannot parse {bad.size} date(s) in column {column!r} of {path} ({examples}). "
            "Expected one date format throughout, e.g. 2010-01-05."
        )
    return _as_dates(parsed, column=column, path=path)


def _parse_prices(
    values: pd.Series, *, column: str, path: Path, dates: pd.DatetimeIndex, assets: pd.Series | str
) -> np.ndarray:
    """Parse a price column into float64 (``NaN`` for blanks), or raise naming asset and date."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise InputDataError(f"Price column {column!r} in {path} is boolean; expected numbers.")
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        raise InputDataError(
            f"Price column {column!r} in {path} has type {values.dtype}; expected a floating-point "
            "number column (float64). Cast it before saving the file."
        )
    if path.name.lower().endswith(PARQUET_SUFFIXES) and values.map(lambda v: isinstance(v, str)).any():
        raise InputDataError(
            f"Price column {column!r} in Parquet file {path} has type string; expected a "
            "floating-point number type (float64). Cast the column to float64 before writing the "
            "file, e.g. df[col] = df[col].astype('float64')."
        )
    blank = values.isna() | (values.astype(str).str.strip() == "")
    numbers = pd.to_numeric(values.where(~blank, None), errors="coerce")
    bad = np.flatnonzero((numbers.isna() & ~blank).to_numpy())
    if bad.size:
        def asset_at(i: int) -> str:
            return assets if isinstance(assets, str) else str(assets.iloc[i])

        examples = "; ".join(
            f"asset {asset_at(i)!r}, date {dates[i].date()}, value {values.iloc[i]!r}" for i in bad[:3]
        )
        raise InputDataError(
            f"Non-numeric price(s) in column {column!r} of {path}: {bad.size} value(s) cannot be read "
            f"as numbers ({examples}). Expected decimal numbers such as 101.25; leave a cell empty "
            "for a missing price."
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _duplicate_error(
    path: Path, who: str, date: pd.Timestamp, rows: Sequence[int], columns: Sequence[str] | None = None
) -> InputDataError:
    where = ", ".join(str(r + 1) for r in rows[:5])
    hint = "Each asset needs exactly one price per date; remove or aggregate the duplicates."
    if columns is not None:
        hint = (
            f"If this is a long file (one row per asset and date), name its asset and price columns with "
            f"--asset-col and --price-col (columns: {list(columns)}); otherwise each date needs one row."
        )
    return InputDataError(f"Duplicate date {date.date()} for {who} in {path} (data rows {where}). {hint}")


def _read_wide_prices(
    path: Path, *, date_col: str | None, asset_col: str | None, price_col: str | None
) -> tuple[pd.DataFrame, list[tuple[pd.Timestamp, str]]]:
    """Read a file into a wide frame on the union of dates (``NaN`` where missing).

    Returns:
        The wide frame, and the (date, asset) of every price cell present in the file but
        empty, ``NaN`` or ``N/A`` (a date absent from a long file is not such a cell).
    """
    if not path.exists():
        raise InputDataError(f"Input file not found: {path}. Expected a CSV or Parquet file; check the path.")
    if not path.is_file():
        raise InputDataError(f"Input path {path} is not a file. Expected a CSV or Parquet file.")
    if path.stat().st_size == 0:
        raise InputDataError(
            f"Input file {path} is empty (0 bytes). Expected a header line such as 'date,asset,price' "
            "followed by one row per observation."
        )
    frame = _read_table(path)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    dcol = _pick_column(columns, date_col, DATE_COLUMN_NAMES, role="date", option="date_col / --date-col",
                        path=path)
    if dcol is None:
        raise InputDataError(
            f"No date column in {path}; columns present: {columns}. Expected a column named one of "
            "Date/date/Datetime/Timestamp, or pass date_col= (--date-col)."
        )
    if frame.empty:
        raise InputDataError(
            f"Input file {path} has a header ({columns}) but no data rows. Expected one row per "
            "observation."
        )
    acol = _pick_column(columns, asset_col, ASSET_COLUMN_NAMES, role="asset", option="asset_col / --asset-col",
                        path=path)
    pcol = _pick_column(columns, price_col, PRICE_COLUMN_NAMES, role="price", option="price_col / --price-col",
                        path=path)
    dates = _parse_dates(frame[dcol], column=dcol, path=path)

    if acol is not None:  # long form: date, asset, price
        if pcol is None:
            raise InputDataError(
                f"No price column in long-form file {path} (asset column {acol!r}); columns present: "
                f"{columns}. Expected a column named one of Close/Adj Close/price, or pass "
                "price_col= (--price-col)."
            )
        names = frame[acol].astype(object)
        blank = names.isna() | (names.astype(str).str.strip() == "")
        if blank.any():
            first = int(np.argmax(blank.to_numpy()))
            raise InputDataError(
                f"{int(blank.sum())} row(s) of {path} have no asset in column {acol!r} (first at data "
                f"row {first + 1}, date {dates[first].date()}). Every row needs an asset name."
            )
        names = names.astype(str).str.strip()
        prices = _parse_prices(frame[pcol], column=pcol, path=path, dates=dates, assets=names)
        long = pd.DataFrame({"date": dates, "asset": names.to_numpy(), "price": prices})
        dup = long.duplicated(["asset", "date"], keep=False).to_numpy()
        if dup.any():
            first = int(np.argmax(dup))
            asset, date = long.at[first, "asset"], long.at[first, "date"]
            rows = np.flatnonzero(((long["asset"] == asset) & (long["date"] == date)).to_numpy())
            raise _duplicate_error(path, f"asset {asset!r}", date, list(rows))
        order = list(dict.fromkeys(long["asset"]))
        check_asset_names(order, origin=f"column {acol!r} of {path}")
        wide = long.pivot(index="date", columns="asset", values="price")[order]
        holes = long.loc[long["price"].isna(), ["date", "asset"]]
        return wide.sort_index(), list(holes.itertuples(index=False, name=None))

    # wide form: date + one column per asset, or a single-asset file with a price column
    if pcol is not None:
        value_cols = {path.name.split(".")[0]: pcol}
    else:
        value_cols = {c: c for c in columns if c != dcol}
    if not value_cols:
        raise InputDataError(
            f"No price column in {path}: only the date column {dcol!r} is present. Expected a long "
            "form (date, asset, price) or a wide form (date plus one price column per asset)."
        )
    dup = dates.duplicated(keep=False)
    if dup.any():
        first = int(np.argmax(dup))
        rows = list(np.flatnonzero(dates == dates[first]))
        raise _duplicate_error(path, "every asset of the wide file", dates[first], rows, columns)
    data = {
        asset: _parse_prices(frame[col], column=col, path=path, dates=dates, assets=asset)
        for asset, col in value_cols.items()
    }
    wide = pd.DataFrame(data, index=dates).sort_index()
    stacked = wide.isna().stack()
    holes = [(d, str(a)) for (d, a), flag in stacked.items() if flag]
    return wide, holes


def load_file(
    path: str | Path,
    *,
    date_col: str | None = None,
    asset_col: str | None = None,
    price_col: str | None = None,
    assets: Sequence[str] | None = None,
    align: str = "inner",
    ffill_limit: int = 5,
) -> pd.DataFrame:
    """Load prices from a CSV or Parquet file in long or wide form.

    * *Long* form has a date, an asset and a price column, one row per observation.
    * *Wide* form has a date column and one price column per asset.
    * A file with a date and a recognised price column but no asset column (a
      typical single-ticker download) is one asset named after the file stem.

    Column names are found case-insensitively among common spellings (``Date``,
    ``Datetime``; ``Ticker``, ``Symbol``, ``asset``; ``Adj Close``, ``Close``,
    ``price``), or given explicitly. Blank prices are missing values (filled
    or dropped by the alignment policy). Zero and negative prices are kept: the
    validation suites reject or quarantine them. The file is only read.

    Args:
        path: CSV (``.csv``, ``.txt``, compressed ``.csv.gz``...) or Parquet file.
        date_col: Name of the date column (``--date-col``).
        asset_col: Name of the asset column of a long file (``--asset-col``).
        price_col: Name of the price column (``--price-col``).
        assets: Assets to keep, in this order (default: all, in file order).
        align: Alignment policy, ``"inner"`` (default) or ``"ffill"``.
        ffill_limit: Longest gap bridged by ``"ffill"``.

    Returns:
        Wide aligned price frame.

    Raises:
        InputDataError: If the file is missing or empty, a column is missing, a date
            cannot be parsed or mixes timezones, a price is not a number, a date
            repeats for an asset, a Parquet column has the wrong type, an asset is
            unknown or has no prices.
    """
    prices, _ = _load_file(
        path, date_col=date_col, asset_col=asset_col, price_col=price_col, assets=assets, align=align,
        ffill_limit=ffill_limit,
    )
    return prices


def _load_file(
    path: str | Path, *, date_col: str | None, asset_col: str | None, price_col: str | None,
    assets: Sequence[str] | None, align: str, ffill_limit: int,
) -> tuple[pd.DataFrame, list[tuple[pd.Timestamp, str]]]:
    """:func:`load_file`, also returning the file's empty / ``NaN`` / ``N/A`` price cells."""
    path = Path(path)
    raw, holes = _read_wide_prices(path, date_col=date_col, asset_col=asset_col, price_col=price_col)
    return _finish(raw, origin=str(path), assets=assets, align=align, ffill_limit=ffill_limit), holes


# --------------------------------------------------------------------------- yahoo


def load_yahoo(
    tickers: Sequence[str] | str,
    start: str | _dt.date | None,
    end: str | _dt.date | None,
    *,
    align: str = "inner",
    ffill_limit: int = 5,
) -> pd.DataFrame:
    """Download adjusted closes from Yahoo Finance through qiskit-finance.

    Uses :class:`qiskit_finance.data_providers.YahooDataProvider` (which wraps
    ``yfinance``). Optional: needs network access; tests never call it for real.

    Args:
        tickers: Yahoo tickers, e.g. ``["^GSPC", "^IXIC", "CL=F"]``; the column names.
        start: First date (inclusive), ``YYYY-MM-DD`` or a date.
        end: Last date, ``YYYY-MM-DD`` or a date.
        align: Alignment policy, ``"inner"`` (default) or ``"ffill"``.
        ffill_limit: Longest gap bridged by ``"ffill"``.

    Returns:
        Wide aligned price frame, one column per ticker.

    Raises:
        ValueError: If no ticker is given or ``start``/``end`` are missing or reversed.
        DataSourceUnavailableError: If ``yfinance`` is not installed, the network is
            unreachable, or Yahoo returns no data.
    """
    names = _check_assets(tickers)
    if start is None or end is None:
        raise ValueError(f"load_yahoo needs both start and end dates; received start={start!r}, end={end!r}.")
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if end_ts <= start_ts:
        raise ValueError(f"end must be after start; received start={start_ts.date()}, end={end_ts.date()}.")
    hint = (
        "The Yahoo source is optional: it needs network access and the yfinance package. "
        "Use source='bundled' or a CSV/Parquet file instead."
    )
    try:
        from qiskit_finance.data_providers import YahooDataProvider
    except ImportError as exc:
        raise DataSourceUnavailableError(f"Yahoo source unavailable: {exc}. {hint}") from exc
    # yfinance treats ``end`` as exclusive; ask for one more day so ``end`` is included.
    provider = YahooDataProvider(
        tickers=names,
        start=start_ts.to_pydatetime(),
        end=(end_ts + pd.Timedelta(days=1)).to_pydatetime(),
    )
    try:
        provider.run()
    except Exception as exc:  # provider wraps network and parsing failures alike
        cause = exc.__cause__ or exc
        raise DataSourceUnavailableError(
            f"Yahoo download failed for tickers {names} between {start_ts.date()} and {end_ts.date()}: "
            f"{exc} ({type(cause).__name__}: {cause}). {hint}"
        ) from exc
    series = {}
    for name, values in zip(names, provider._data, strict=True):
        s = pd.Series(values).astype(np.float64)
        index = pd.DatetimeIndex(s.index)
        s.index = (index.tz_localize(None) if index.tz is not None else index).normalize()
        series[name] = s
    raw = pd.concat(series, axis=1, join="outer", sort=True)
    raw = raw.loc[(raw.index >= start_ts) & (raw.index <= end_ts)]
    return _finish(raw, origin=f"Yahoo ({', '.join(names)})", assets=None, align=align, ffill_limit=ffill_limit)


# --------------------------------------------------------------------------- ingest


def _to_timestamp(value: str | _dt.date | None, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a date such as 2005-01-31; received {value!r}.") from exc
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def ingest(
    source: str | Path = "bundled",
    *,
    assets: Sequence[str] | None = None,
    start: str | _dt.date | None = None,
    end: str | _dt.date | None = None,
    date_col: str | None = None,
    asset_col: str | None = None,
    price_col: str | None = None,
    align: str = "inner",
    ffill_limit: int = 5,
    return_kind: str = "log",
    tickers: Sequence[str] | None = None,
) -> MarketData:
    """Load prices from a source, filter dates, align, and compute returns.

    Args:
        source: ``"bundled"`` (default), ``"yahoo"``, or the path of a CSV/Parquet file.
        assets: Assets to keep (default: all). For ``"yahoo"``, the tickers when
            ``tickers`` is not given.
        start: First date kept (inclusive).
        end: Last date kept (inclusive).
        date_col: Date column of a file source.
        asset_col: Asset column of a long-form file source.
        price_col: Price column of a file source.
        align: ``"inner"`` (default) or ``"ffill"``, see :func:`align_prices`.
        ffill_limit: Longest gap bridged by ``"ffill"``.
        return_kind: ``"log"`` (default) or ``"simple"``.
        tickers: Yahoo tickers (``source="yahoo"`` only).

    Returns:
        The :class:`MarketData` for the validate stage.

    Raises:
        ValueError: For invalid arguments (unknown align policy or return kind, start after end).
        InputDataError: If the input cannot be read, or fewer than two dates remain.
        DataSourceUnavailableError: If the Yahoo source cannot be reached.
    """
    return_kind = check_return_kind(return_kind)
    _check_align(align, ffill_limit)
    start_ts, end_ts = _to_timestamp(start, "start"), _to_timestamp(end, "end")
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise ValueError(f"start must not be after end; received start={start_ts.date()}, end={end_ts.date()}.")
    if not isinstance(source, (str, Path)) or str(source).strip() == "":
        raise ValueError(f"source must be 'bundled', 'yahoo' or a file path; received {source!r}.")

    loader: Callable[[], pd.DataFrame]
    holes: list[tuple[pd.Timestamp, str]] = []
    key = str(source).strip()
    if isinstance(source, str) and key.lower() == "bundled":
        label = "bundled"
        loader = lambda: load_bundled(assets, align=align, ffill_limit=ffill_limit)  # noqa: E731
    elif isinstance(source, str) and key.lower() == "yahoo":
        label = "yahoo"
        names = tickers if tickers is not None else assets
        if names is None:
            raise ValueError("source='yahoo' needs tickers (or assets), e.g. tickers=['^GSPC', '^IXIC'].")
        loader = lambda: load_yahoo(names, start_ts, end_ts, align=align, ffill_limit=ffill_limit)  # noqa: E731
    else:
        label = str(source)

        def loader() -> pd.DataFrame:
            prices, found = _load_file(
                source, date_col=date_col, asset_col=asset_col, price_col=price_col,
                assets=assets, align=align, ffill_limit=ffill_limit,
            )
            holes.extend(found)
            return prices

    prices = loader()
    if start_ts is not None:
        prices = prices.loc[prices.index >= start_ts]
    if end_ts is not None:
        prices = prices.loc[prices.index <= end_ts]
    if len(prices) < 2:
        window = ""
        if start_ts is not None or end_ts is not None:
            lo = start_ts.date() if start_ts is not None else "the first date"
            hi = end_ts.date() if end_ts is not None else "the last date"
            window = f" between {lo} and {hi}"
        found = ", ".join(str(d.date()) for d in prices.index) or "none"
        raise InputDataError(
            f"{label} has {len(prices)} aligned date(s){window} ({found}); at least 2 are needed to "
            "compute a return. Provide more rows or widen the date range."
        )
    returns = compute_returns(prices, kind=return_kind)
    missing = _missing_frame(
        [(d, a) for d, a in holes if a in prices.columns
         and (start_ts is None or d >= start_ts) and (end_ts is None or d <= end_ts)]
    )
    if len(missing):
        missing["outcome"] = np.where(missing["date"].isin(prices.index), "filled", "dropped")
    return MarketData(prices=prices, returns=returns, source=label, return_kind=return_kind, missing=missing)
