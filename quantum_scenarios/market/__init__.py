"""Market data: ingest (bundled, files, Yahoo), returns, and great-expectations validation.

The two first stages of the pipeline::

    data = ingest("bundled")                       # MarketData: wide prices + returns
    data, result = validate_market(data, mode="repair", quarantine_path=..., docs_dir=...)

great-expectations is imported only when :func:`validate_market` runs.
"""

from quantum_scenarios.market.returns import RETURN_KINDS, compute_returns
from quantum_scenarios.market.sources import (
    ALIGN_POLICIES,
    BUNDLED_ASSETS,
    MarketData,
    align_prices,
    ingest,
    load_bundled,
    load_file,
    load_yahoo,
)
from quantum_scenarios.market.validation import (
    MODES,
    ExpectationFailure,
    ValidationResult,
    validate_market,
)

__all__ = [
    "ALIGN_POLICIES",
    "BUNDLED_ASSETS",
    "MODES",
    "RETURN_KINDS",
    "ExpectationFailure",
    "MarketData",
    "ValidationResult",
    "align_prices",
    "compute_returns",
    "ingest",
    "load_bundled",
    "load_file",
    "load_yahoo",
    "validate_market",
]
