"""Shared fixtures (keep small: fixtures used by several test files only)."""

from __future__ import annotations

import os
import tempfile

# Prefect reads its settings when first imported: keep its home (SQLite database, result
# storage) in a throwaway folder and switch telemetry off before any test imports it.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="qscen-prefect-home-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.market.sources import MarketData, ingest


@pytest.fixture(scope="session")
def bundled_market() -> MarketData:
    """The bundled SP500/NASDAQ/WTI data, inner-aligned, log returns (loaded once)."""
    return ingest("bundled")


@pytest.fixture
def make_prices() -> Callable[..., pd.DataFrame]:
    """Factory of deterministic wide price frames: geometric random walks on business days."""

    def make(
        n: int = 300, assets: Sequence[str] = ("AAA", "BBB"), *, seed: int = 0, start: str = "2010-01-04"
    ) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        steps = rng.normal(0.0, 0.01, size=(n, len(assets)))
        levels = 100.0 * np.exp(np.cumsum(steps, axis=0))
        index = pd.bdate_range(start, periods=n, name="date").as_unit("ns")
        return pd.DataFrame(levels, index=index, columns=list(assets))

    return make


@pytest.fixture
def untouched() -> Callable[[Path], Callable[[], None]]:
    """Snapshot a file (bytes, mtime) and its directory listing; calling the result asserts both unchanged."""

    def snapshot(path: Path) -> Callable[[], None]:
        path = Path(path)
        before = (path.read_bytes(), path.stat().st_mtime_ns) if path.exists() else None
        listing = sorted(p.name for p in path.parent.iterdir())

        def check() -> None:
            after = (path.read_bytes(), path.stat().st_mtime_ns) if path.exists() else None
            assert after == before, f"{path} was modified"
            assert sorted(p.name for p in path.parent.iterdir()) == listing, "files were written next to the input"

        return check

    return snapshot
