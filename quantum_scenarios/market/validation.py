"""Validation of market data with great-expectations suites, and quarantine of bad rows.

Two suites run on long-form frames (one row per asset and date), so that every
failing row can be attributed to an asset and a date:

*prices* (columns ``date, asset, price, unchanged_run``)
    dates present, one price per asset and date, dates strictly increasing per
    asset, at least ``min_rows`` rows per asset; prices present, finite and
    strictly positive; no price unchanged for more than ``max_unchanged_run``
    consecutive days (``unchanged_run`` is computed in pandas: the number of
    consecutive zero price changes ending at the row).
*returns* (columns ``date, asset, <kind>_return``)
    returns present and finite, ``|return| <= max_abs_return``, at least
    ``min_observations`` returns per asset.

Each suite is validated once per pass in an ephemeral great-expectations
context, with ``result_format="COMPLETE"`` to get the failing row indices.

Modes:

``strict``
    any failure raises :class:`ValidationFailedError` whose message lists every
    failing expectation with its asset, column, count and example dates and values.
``repair``
    the dates holding a failing row are dropped from the wide frames (for every
    asset, since the frames are aligned), the returns are recomputed, the data
    is validated again, and the dropped rows are written with their reason to
    ``quarantine_path``. A return that fails because of a price spike is
    attributed to the spike's date only (the next return is re-checked over the
    gap first). Table-level failures (too few rows) cannot be repaired and raise.

Data Docs (great-expectations HTML) are built into ``docs_dir`` (``index.html``),
on success and on failure, so a failed run can be inspected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from quantum_scenarios.errors import ValidationFailedError
from quantum_scenarios.io import atomic_replace_dir, write_parquet
from quantum_scenarios.market.returns import compute_returns
from quantum_scenarios.market.sources import MarketData

logger = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("strict", "repair")
PRICES_SUITE = "prices"
RETURNS_SUITE = "returns"
ALIGNMENT_RULE = "dropped_with_date"
MISSING_RULE = "missing_price"
GAP_RULE = "max_gap_days"
_FMAX = float(np.finfo(np.float64).max)
_EXAMPLES = 3

QUARANTINE_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("date", pa.timestamp("ns"), nullable=True),
        pa.field("asset", pa.string(), nullable=False),
        pa.field("price", pa.float64(), nullable=True),
        pa.field("log_return", pa.float64(), nullable=True),
        pa.field("simple_return", pa.float64(), nullable=True),
        pa.field("suite", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)


@dataclass
class ExpectationFailure:
    """One failing expectation for one asset.

    Attributes:
        suite: ``"prices"`` or ``"returns"``.
        rule: great-expectations expectation type, e.g. ``expect_column_values_to_be_between``.
        asset: The asset whose rows failed.
        column: The column checked (``"(table)"`` for row counts).
        count: Number of failing rows (for a row count: the observed count).
        example_dates: A few failing dates (ISO strings).
        example_values: The values found on those dates.
        detail: The rule in words, e.g. ``price > 0``.
    """

    suite: str
    rule: str
    asset: str
    column: str
    count: int
    example_dates: list[str] = field(default_factory=list)
    example_values: list[float] = field(default_factory=list)
    detail: str = ""

    def describe(self) -> str:
        """One line: suite, rule, asset, column, count and examples."""
        examples = ", ".join(
            f"{d} = {_fmt(v)}" for d, v in zip(self.example_dates, self.example_values, strict=False)
        )
        rows = f"{self.count} row(s)" if self.column != "(table)" else f"observed {self.count}"
        text = f"[{self.suite}] {self.rule} ({self.detail}): asset {self.asset!r}, column {self.column!r}, {rows}"
        return text + (f"; e.g. {examples}" if examples else "")


@dataclass
class ValidationResult:
    """Outcome of :func:`validate_market`.

    Attributes:
        success: Whether the data returned passes every expectation (after repair in
            ``repair`` mode). ``False`` only on the result attached to a
            :class:`ValidationFailedError` (as ``error.result``).
        mode: ``"strict"`` or ``"repair"``.
        failures: Failing expectations found in the *input* data.
        quarantined: Rows removed by ``repair`` (columns of :data:`QUARANTINE_SCHEMA`).
        docs_index: Data Docs ``index.html``, or ``None`` when no ``docs_dir`` was given.
        statistics: Expectation counts per suite, rows in/out, timings.
    """

    success: bool
    mode: str
    failures: list[ExpectationFailure]
    quarantined: pd.DataFrame
    docs_index: Path | None
    statistics: dict[str, Any]

    def summary(self) -> str:
        """A short human-readable account of the validation."""
        stats = self.statistics
        suites = ", ".join(
            f"{name} {stats[name]['successful']}/{stats[name]['evaluated']} expectations met"
            for name in (PRICES_SUITE, RETURNS_SUITE)
            if name in stats
        )
        head = "passed" if self.success else "FAILED"
        lines = [f"Validation {head} (mode={self.mode}): {suites} on the input."]
        if stats.get("missing_prices"):
            lines.append(
                f"{stats['missing_prices']} missing price(s) (empty, NaN or N/A) in the input: "
                f"{stats.get('missing_filled', 0)} forward-filled, {stats.get('missing_dropped', 0)} dropped with "
                "their date" + (" and quarantined." if self.mode == "repair" else ".")
            )
        if self.mode == "repair" and len(self.quarantined):
            lines.append(
                f"Repair dropped {stats.get('dropped_dates', 0)} date(s); {len(self.quarantined)} row(s) "
                f"quarantined; {stats.get('rows_out')} of {stats.get('rows_in')} dates kept."
            )
        lines += [f"  - {f.describe()}" for f in self.failures]
        if self.docs_index is not None:
            lines.append(f"Data Docs: {self.docs_index}")
        return "\n".join(lines)


def _fmt(value: float) -> str:
    return "NaN" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.6g}"


# --------------------------------------------------------------------------- long-form frames


def _unchanged_runs(values: np.ndarray) -> np.ndarray:
    """Number of consecutive zero changes ending at each position (0 where the value moved)."""
    same = np.zeros(len(values), dtype=bool)
    same[1:] = values[1:] == values[:-1]
    counts = np.cumsum(same)
    last_reset = np.maximum.accumulate(np.where(same, 0, counts))
    return (counts - last_reset).astype(np.int64)


def _long_prices(prices: pd.DataFrame) -> pd.DataFrame:
    n = len(prices)
    parts = []
    for asset in prices.columns:
        values = prices[asset].to_numpy(dtype=np.float64)
        parts.append(
            pd.DataFrame(
                {
                    "date": pd.DatetimeIndex(prices.index).as_unit("ns"),
                    "asset": str(asset),
                    "price": values,
                    "unchanged_run": _unchanged_runs(values),
                    "position": np.arange(n),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _long_returns(returns: pd.DataFrame, column: str) -> pd.DataFrame:
    n = len(returns)
    parts = [
        pd.DataFrame(
            {
                "date": pd.DatetimeIndex(returns.index).as_unit("ns"),
                "asset": str(asset),
                column: returns[asset].to_numpy(dtype=np.float64),
                "position": np.arange(n),
            }
        )
        for asset in returns.columns
    ]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- suites


def _prices_expectations(assets: Iterable[str], *, min_rows: int, max_unchanged_run: int) -> list[Any]:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    out = [
        gxe.ExpectColumnValuesToNotBeNull(column="date", meta={"detail": "date present"}),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["asset", "date"], meta={"detail": "one price per asset and date"}
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="price", meta={"detail": "price present"}),
        gxe.ExpectColumnValuesToBeBetween(
            column="price", min_value=-_FMAX, max_value=_FMAX, meta={"detail": "price finite"}
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="price", min_value=0.0, strict_min=True, meta={"detail": "price > 0"}
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="unchanged_run",
            min_value=0,
            max_value=max_unchanged_run,
            meta={"detail": f"price unchanged for at most {max_unchanged_run} consecutive days"},
        ),
    ]
    for asset in assets:
        out += [
            gxe.ExpectColumnValuesToBeIncreasing(
                column="date", strictly=True, row_condition=Column("asset") == asset,
                meta={"asset": asset, "detail": "dates strictly increasing"},
            ),
            gxe.ExpectTableRowCountToBeBetween(
                min_value=min_rows, row_condition=Column("asset") == asset,
                meta={"asset": asset, "detail": f"at least {min_rows} rows"},
            ),
        ]
    return out


def _returns_expectations(
    assets: Iterable[str], column: str, *, max_abs_return: float, min_observations: int
) -> list[Any]:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    out = [
        gxe.ExpectColumnValuesToNotBeNull(column=column, meta={"detail": "return defined"}),
        gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=-_FMAX, max_value=_FMAX, meta={"detail": "return finite"}
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=-max_abs_return, max_value=max_abs_return,
            meta={"detail": f"|return| <= {max_abs_return:g}"},
        ),
    ]
    for asset in assets:
        out.append(
            gxe.ExpectTableRowCountToBeBetween(
                min_value=min_observations, row_condition=Column("asset") == asset,
                meta={"asset": asset, "detail": f"at least {min_observations} observations"},
            )
        )
    return out


class _Runner:
    """An ephemeral great-expectations context with one pandas asset per suite."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self._gx = gx
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self._source = self.context.data_sources.add_pandas("market")
        self._definitions: dict[str, Any] = {}

    def define(self, name: str, expectations: list[Any]) -> None:
        asset = self._source.add_dataframe_asset(name)
        batch = asset.add_batch_definition_whole_dataframe(f"{name}_frame")
        suite = self.context.suites.add(self._gx.ExpectationSuite(name=name))
        for expectation in expectations:
            suite.add_expectation(expectation)
        self._definitions[name] = self.context.validation_definitions.add(
            self._gx.ValidationDefinition(name=f"{name}_validation", data=batch, suite=suite)
        )

    def run(self, name: str, frame: pd.DataFrame, run_name: str) -> Any:
        from great_expectations.core.run_identifier import RunIdentifier

        return self._definitions[name].run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE"},
            run_id=RunIdentifier(run_name=run_name),
        )

    def build_docs(self, docs_dir: Path) -> Path:
        def build(tmp: Path) -> None:
            self.context.add_data_docs_site(
                "local_site",
                {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(tmp.resolve()),  # GX needs an absolute path
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
            try:
                self.context.build_data_docs(site_names=["local_site"])
            finally:
                self.context.delete_data_docs_site("local_site")

        atomic_replace_dir(docs_dir, build)
        return docs_dir / "index.html"


# --------------------------------------------------------------------------- results


@dataclass
class _Pass:
    failures: list[ExpectationFailure]
    flagged: list[tuple[str, int, str, str]]  # (asset, position, rule, detail) of failing rows
    table_failures: bool
    statistics: dict[str, dict[str, int]]


def _collect(suite: str, result: Any, frame: pd.DataFrame) -> _Pass:
    """Turn a great-expectations suite result into per-asset failures and flagged rows."""
    failures: list[ExpectationFailure] = []
    flagged: list[tuple[str, int, str, str]] = []
    table_failure = False  # a failure that dropping rows cannot fix
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        meta = dict(config.meta or {})
        detail = str(meta.get("detail", ""))
        kwargs = config.kwargs
        column = kwargs.get("column") or ",".join(kwargs.get("column_list") or []) or "(table)"
        info = item.exception_info or {}
        if info.get("raised_exception"):
            failures.append(
                ExpectationFailure(suite, config.type, str(meta.get("asset", "*")), column, 0,
                                   detail=f"{detail}; raised {info.get('exception_message')}")
            )
            table_failure = True
            continue
        indices = item.result.get("unexpected_index_list")
        if indices is None:  # table-level expectation (row count)
            observed = item.result.get("observed_value")
            failures.append(
                ExpectationFailure(suite, config.type, str(meta.get("asset", "*")), column,
                                   int(observed or 0), detail=detail)
            )
            table_failure = True
            continue
        rows = frame.loc[list(indices)]
        value_col = column if column in frame.columns and pd.api.types.is_numeric_dtype(frame[column]) else None
        value_col = value_col or ("price" if "price" in frame.columns else frame.columns[2])
        for asset, group in rows.groupby("asset", sort=False):
            head = group.head(_EXAMPLES)
            failures.append(
                ExpectationFailure(
                    suite=suite,
                    rule=config.type,
                    asset=str(asset),
                    column=column,
                    count=len(group),
                    example_dates=["NaT" if pd.isna(d) else str(pd.Timestamp(d).date()) for d in head["date"]],
                    example_values=[float(v) for v in head[value_col]],
                    detail=detail,
                )
            )
            flagged += [(str(asset), int(p), config.type, detail) for p in group["position"]]
    stats = result.statistics
    counts = {
        "evaluated": int(stats["evaluated_expectations"]),
        "successful": int(stats["successful_expectations"]),
        "unsuccessful": int(stats["unsuccessful_expectations"]),
    }
    return _Pass(failures, flagged, table_failure, {suite: counts})


def _validate_once(
    runner: _Runner, data: MarketData, return_column: str, run_name: str
) -> tuple[_Pass, _Pass]:
    prices_frame = _long_prices(data.prices)
    returns_frame = _long_returns(data.returns, return_column)
    return (
        _collect(PRICES_SUITE, runner.run(PRICES_SUITE, prices_frame, run_name), prices_frame),
        _collect(RETURNS_SUITE, runner.run(RETURNS_SUITE, returns_frame, run_name), returns_frame),
    )


# --------------------------------------------------------------------------- repair


def _return_value(previous: float, current: float, kind: str) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.float64(current) / np.float64(previous)
        return float(np.log(ratio) if kind == "log" else ratio - 1.0)


def _rows_to_drop(
    data: MarketData, prices_pass: _Pass, returns_pass: _Pass, max_abs_return: float
) -> dict[int, list[tuple[str, str, str, str]]]:
    """Map price positions to drop -> [(asset, suite, rule, detail)]."""
    drop: dict[int, list[tuple[str, str, str, str]]] = {}
    for asset, pos, rule, detail in prices_pass.flagged:
        drop.setdefault(pos, []).append((asset, PRICES_SUITE, rule, detail))
    values = data.prices.to_numpy(dtype=np.float64)
    column_of = {str(a): i for i, a in enumerate(data.prices.columns)}
    kept = np.ones(len(values), dtype=bool)
    kept[list(drop)] = False
    reasons: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for asset, pos, rule, detail in returns_pass.flagged:
        reasons.setdefault((asset, pos + 1), []).append((rule, detail))  # return row q -> price row q+1
    for asset, pos in sorted(reasons, key=lambda k: (k[1], k[0])):
        if pos in drop and any(entry[1] == PRICES_SUITE for entry in drop[pos]):
            continue  # the price itself is already rejected
        earlier = np.flatnonzero(kept[:pos])
        if kept[pos] and earlier.size:
            col = column_of[asset]
            r = _return_value(values[earlier[-1], col], values[pos, col], data.return_kind)
            if np.isfinite(r) and abs(r) <= max_abs_return:
                continue  # explained by an earlier drop (e.g. the way back from a spike)
        kept[pos] = False
        drop.setdefault(pos, []).extend((asset, RETURNS_SUITE, rule, detail) for rule, detail in reasons[(asset, pos)])
    return drop


def _quarantine_frame(data: MarketData, drop: dict[int, list[tuple[str, str, str, str]]]) -> pd.DataFrame:
    prices = data.prices
    log_r = compute_returns(prices, "log").to_numpy()
    simple_r = compute_returns(prices, "simple").to_numpy()
    records = []
    for pos in sorted(drop):
        failed: dict[str, list[tuple[str, str, str]]] = {}
        for asset, suite, rule, detail in drop[pos]:
            failed.setdefault(asset, []).append((suite, rule, detail))
        for j, asset in enumerate(prices.columns):
            asset = str(asset)
            if asset in failed:
                entries = list(dict.fromkeys(failed[asset]))
                suite = ";".join(dict.fromkeys(e[0] for e in entries))
                rule = ";".join(e[1] for e in entries)
                reason = "; ".join(f"failed {e[2]} ({e[0]} suite)" for e in entries)
            else:
                suite, rule = "alignment", ALIGNMENT_RULE
                reason = f"date dropped because {', '.join(repr(a) for a in failed)} failed validation"
            records.append(
                {
                    "date": prices.index[pos],
                    "asset": asset,
                    "price": float(prices.iat[pos, j]),
                    "log_return": float(log_r[pos - 1, j]) if pos > 0 else np.nan,
                    "simple_return": float(simple_r[pos - 1, j]) if pos > 0 else np.nan,
                    "suite": suite,
                    "rule": rule,
                    "reason": reason,
                }
            )
    frame = pd.DataFrame.from_records(records, columns=QUARANTINE_SCHEMA.names)
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    for col in ("price", "log_return", "simple_return"):
        frame[col] = frame[col].astype(np.float64)
    return frame


def _repaired(data: MarketData, drop: dict[int, Any]) -> MarketData:
    keep = np.ones(len(data.prices), dtype=bool)
    keep[list(drop)] = False
    prices = data.prices.iloc[keep]
    return MarketData(
        prices=prices,
        returns=compute_returns(prices, data.return_kind),
        source=data.source,
        return_kind=data.return_kind,
    )


# --------------------------------------------------------------------------- missing prices and gaps


def _missing_failures(data: MarketData) -> list[ExpectationFailure]:
    """One failure per asset for price cells the input left empty and alignment dropped."""
    missing = data.missing if data.missing is not None else pd.DataFrame(columns=["date", "asset", "outcome"])
    dropped = missing.loc[missing["outcome"] == "dropped"]
    out = []
    for asset, group in dropped.groupby("asset", sort=False):
        head = group.head(_EXAMPLES)
        out.append(ExpectationFailure(
            PRICES_SUITE, MISSING_RULE, str(asset), "price", len(group),
            [str(pd.Timestamp(d).date()) for d in head["date"]], [float("nan")] * len(head),
            "price present in the input (empty, NaN and N/A cells are missing prices)",
        ))
    return out


def _missing_quarantine(data: MarketData) -> pd.DataFrame:
    missing = data.missing if data.missing is not None else pd.DataFrame(columns=["date", "asset", "outcome"])
    dropped = missing.loc[missing["outcome"] == "dropped"]
    frame = pd.DataFrame({
        "date": pd.to_datetime(dropped["date"]).astype("datetime64[ns]").to_numpy(),
        "asset": dropped["asset"].astype(str).to_numpy(),
        "price": np.nan, "log_return": np.nan, "simple_return": np.nan,
        "suite": PRICES_SUITE, "rule": MISSING_RULE,
        "reason": "price missing in the input (empty, NaN or N/A); its date was dropped by alignment "
                  "(source.align=ffill would carry the last price forward)",
    }, columns=QUARANTINE_SCHEMA.names)
    for col in ("price", "log_return", "simple_return"):
        frame[col] = frame[col].astype(np.float64)
    return frame


def _gap_failures(data: MarketData, max_gap_days: int) -> list[ExpectationFailure]:
    """Gaps between consecutive dates longer than ``max_gap_days`` calendar days (not repairable)."""
    index = pd.DatetimeIndex(data.prices.index)
    if len(index) < 2:
        return []
    days = np.diff(index.values).astype("timedelta64[D]").astype(np.int64)
    where = np.flatnonzero(days > max_gap_days)
    if not where.size:
        return []
    spans = [f"{index[i].date()} to {index[i + 1].date()} ({days[i]} days)" for i in where[:_EXAMPLES]]
    return [ExpectationFailure(
        PRICES_SUITE, GAP_RULE, "*", "date", int(where.size),
        [str(index[i + 1].date()) for i in where[:_EXAMPLES]], [float(days[i]) for i in where[:_EXAMPLES]],
        f"at most {max_gap_days} calendar days between consecutive prices (validation.max_gap_days); "
        f"found {'; '.join(spans)}",
    )]


def quick_check(data: MarketData, *, mode: str = "strict", max_gap_days: int = 10) -> None:
    """The checks that need no great-expectations run, for failing in seconds before a pipeline starts.

    Gaps longer than ``max_gap_days`` fail in both modes; missing prices that alignment
    dropped fail in ``strict`` mode (``repair`` quarantines them later). The message is the
    one :func:`validate_market` gives.

    Raises:
        ValidationFailedError: as :func:`validate_market` would for these rules.
    """
    failures = _gap_failures(data, int(max_gap_days))
    if mode == "strict":
        failures = _missing_failures(data) + failures
    if failures:
        raise ValidationFailedError(_error_message(data, mode, failures, None))


# --------------------------------------------------------------------------- entry point


def _check_arguments(
    mode: str, *, min_rows: int, max_abs_return: float, max_unchanged_run: int, min_observations: int,
    max_gap_days: int = 10,
) -> str:
    if not isinstance(mode, str) or mode.strip().lower() not in MODES:
        raise ValueError(f"mode must be one of {MODES}; received {mode!r}.")
    for name, value, lowest in (
        ("min_rows", min_rows, 2),
        ("max_unchanged_run", max_unchanged_run, 1),
        ("min_observations", min_observations, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
            raise ValueError(f"{name} must be an integer >= {lowest}; received {value!r}.")
    if isinstance(max_gap_days, bool) or not isinstance(max_gap_days, (int, np.integer)) or max_gap_days < 1:
        raise ValueError(f"max_gap_days must be an integer >= 1; received {max_gap_days!r}.")
    if (isinstance(max_abs_return, bool) or not isinstance(max_abs_return, (int, float, np.number))
            or not np.isfinite(max_abs_return) or max_abs_return <= 0):
        raise ValueError(f"max_abs_return must be a finite number > 0; received {max_abs_return!r}.")
    return mode.strip().lower()


def _error_message(data: MarketData, mode: str, failures: list[ExpectationFailure], docs: Path | None) -> str:
    head = (
        f"Market data from {data.source!r} failed validation (mode={mode!r}): "
        f"{len(failures)} failing expectation(s)."
    )
    lines = [head] + [f"  - {f.describe()}" for f in failures]
    rules = {f.rule for f in failures}
    if MISSING_RULE in rules:
        lines.append(
            "Missing prices: fill them in the input, set source.align=ffill (--set source.align=ffill) to carry "
            "the last price forward for up to source.ffill_limit days, or use --mode repair to drop and "
            "quarantine their dates."
        )
    if GAP_RULE in rules:
        lines.append(
            "Gaps: a return across a gap would be read as one day's return. Restrict the dates "
            "(source.start / source.end), fill the gap in the input, or raise validation.max_gap_days."
        )
    if rules <= {GAP_RULE, MISSING_RULE}:
        pass  # the hints above say what to do
    elif mode == "repair":
        lines.append(
            "Repair cannot fix these by dropping rows (too few rows left, or a persistent jump): "
            "fix the input or relax the bounds (min_rows, min_observations, max_abs_return)."
        )
    else:
        lines.append(
            "Fix the input, relax the bounds, or use mode='repair' (--mode repair) to drop the offending "
            "dates and keep them in quarantine."
        )
    if docs is not None:
        lines.append(f"Data Docs: {docs}")
    return "\n".join(lines)


def validate_market(
    data: MarketData,
    *,
    mode: str = "strict",
    min_rows: int = 250,
    max_abs_return: float = 0.5,
    max_unchanged_run: int = 10,
    min_observations: int = 250,
    max_gap_days: int = 10,
    docs_dir: Path | None = None,
    quarantine_path: Path | None = None,
) -> tuple[MarketData, ValidationResult]:
    """Validate market data with the prices and returns suites.

    Args:
        data: Market data from :func:`quantum_scenarios.market.sources.ingest`.
        mode: ``"strict"`` (fail on any failing expectation) or ``"repair"`` (drop
            and quarantine failing dates, then re-validate).
        min_rows: Minimum number of price rows per asset.
        max_abs_return: Largest allowed absolute daily return (0.5 by default).
        max_unchanged_run: Longest allowed run of consecutive unchanged prices.
        min_observations: Minimum number of returns per asset.
        max_gap_days: Longest allowed gap between consecutive dates, in calendar days; a
            longer gap fails in both modes (dropping rows cannot close it).
        docs_dir: Directory for the Data Docs HTML (``index.html``); replaced as a
            whole. ``None`` skips the docs.
        quarantine_path: Parquet file for the quarantined rows (``repair`` mode,
            written atomically even when empty). ``None`` skips the file.

    Returns:
        The validated (in ``repair`` mode: repaired) data and the result.

    Raises:
        ValueError: If ``mode`` or a bound is invalid.
        ValidationFailedError: In ``strict`` mode on any failing expectation; in
            ``repair`` mode if the repaired data still fails. The exception has the
            :class:`ValidationResult` as ``result``.
    """
    mode = _check_arguments(
        mode, min_rows=min_rows, max_abs_return=max_abs_return,
        max_unchanged_run=max_unchanged_run, min_observations=min_observations, max_gap_days=max_gap_days,
    )
    if not isinstance(data, MarketData):
        raise TypeError(f"data must be MarketData; received {type(data).__name__}.")
    started = time.perf_counter()
    return_column = f"{data.return_kind}_return"
    runner = _Runner()
    runner.define(PRICES_SUITE, _prices_expectations(
        data.assets, min_rows=int(min_rows), max_unchanged_run=int(max_unchanged_run)))
    runner.define(RETURNS_SUITE, _returns_expectations(
        data.assets, return_column, max_abs_return=float(max_abs_return), min_observations=int(min_observations)))

    prices_pass, returns_pass = _validate_once(runner, data, return_column, "input")
    missing_failures = _missing_failures(data)
    gap_failures = _gap_failures(data, int(max_gap_days))
    gx_failures = prices_pass.failures + returns_pass.failures
    failures = gx_failures + missing_failures + gap_failures
    missing = data.missing if data.missing is not None else pd.DataFrame(columns=["outcome"])
    statistics: dict[str, Any] = {
        **prices_pass.statistics, **returns_pass.statistics,
        "rows_in": len(data.prices), "rows_out": len(data.prices), "dropped_dates": 0,
        "input_success": not failures, "passes": 1,
        "missing_prices": int(len(missing)),
        "missing_filled": int((missing["outcome"] == "filled").sum()),
        "missing_dropped": int((missing["outcome"] == "dropped").sum()),
        "gaps": int(gap_failures[0].count) if gap_failures else 0,
    }
    empty = _quarantine_frame(data, {})
    result = ValidationResult(True, mode, failures, empty, None, statistics)
    repaired = data
    final_failures: list[ExpectationFailure] = []

    if failures and mode == "strict":
        final_failures = failures
    elif failures and mode == "repair":
        result.quarantined = pd.concat([_missing_quarantine(data), empty], ignore_index=True) \
            if missing_failures else empty
        if gap_failures or prices_pass.table_failures or returns_pass.table_failures:
            final_failures = gx_failures + gap_failures
        elif not gx_failures:
            pass  # only missing prices: already dropped by alignment, now quarantined with their reason
        else:
            drop = _rows_to_drop(data, prices_pass, returns_pass, float(max_abs_return))
            result.quarantined = pd.concat(
                [result.quarantined, _quarantine_frame(data, drop)], ignore_index=True
            ).sort_values(["date", "asset"], kind="stable", ignore_index=True)
            repaired = _repaired(data, drop)
            statistics.update(rows_out=len(repaired.prices), dropped_dates=len(drop), passes=2)
            again_prices, again_returns = _validate_once(runner, repaired, return_column, "after_repair")
            final_failures = again_prices.failures + again_returns.failures

    if docs_dir is not None:
        result.docs_index = runner.build_docs(Path(docs_dir))
    statistics["seconds"] = round(time.perf_counter() - started, 3)
    if final_failures:
        result.success = False
        error = ValidationFailedError(
            _error_message(data, mode, final_failures, result.docs_index)
        )
        error.result = result  # type: ignore[attr-defined]
        raise error
    if mode == "repair" and quarantine_path is not None:
        write_parquet(
            result.quarantined, quarantine_path, schema=QUARANTINE_SCHEMA,
            metadata={"table": "quarantine", "source": data.source, "return_kind": data.return_kind,
                      "failures": failures},
        )
    logger.info("validated %s in %.2fs: %d failing expectation(s) in input", data.source,
                statistics["seconds"], len(failures))
    return repaired, result
