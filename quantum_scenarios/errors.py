"""Exception hierarchy.

Bad *arguments* raise ``ValueError`` / ``TypeError``. Domain failures raise a
subclass of :class:`QuantumScenariosError`. Every message says what was
expected, what was received, and how to fix it.
"""

from __future__ import annotations


class QuantumScenariosError(Exception):
    """Root of every domain failure raised by quantum-scenarios."""


class InputDataError(QuantumScenariosError):
    """An input file or frame cannot be read as market data (names the file/column/asset/date)."""


class ValidationFailedError(QuantumScenariosError):
    """Market data failed its great-expectations suites in ``strict`` mode."""


class EncodingContractError(QuantumScenariosError):
    """A model's encoding contract does not match the data or the model it meets."""


class ModelNotTrainedError(QuantumScenariosError):
    """A trained generator was required but none was found or it is incomplete."""


class DataSourceUnavailableError(QuantumScenariosError):
    """An optional online data source could not be reached (no network, provider down)."""
