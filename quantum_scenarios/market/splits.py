"""Date splits of a return history: training up to a cut-off, test after it."""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["split_by_date"]


def split_by_date(
    frame: pd.DataFrame | pd.Series, cutoff: str | dt.date | pd.Timestamp = "2012-12-31"
) -> tuple[pd.DataFrame | pd.Series, pd.DataFrame | pd.Series]:
    """Split a date-indexed frame into training (``<= cutoff``) and test (``> cutoff``) parts.

    Args:
        frame: Frame or Series with a ``DatetimeIndex``.
        cutoff: Last training date, inclusive.

    Returns:
        ``(train, test)``.

    Raises:
        TypeError: If the index is not a ``DatetimeIndex``.
        ValueError: If either side would be empty (the message names the cut-off and the
            data's date range).
    """
    if not isinstance(frame, (pd.DataFrame, pd.Series)) or not isinstance(frame.index, pd.DatetimeIndex):
        kind = type(frame.index).__name__ if hasattr(frame, "index") else type(frame).__name__
        raise TypeError(f"split_by_date needs a frame with a DatetimeIndex; received {kind}")
    if len(frame) == 0:
        raise ValueError("split_by_date received an empty frame; expected dated rows on both sides of the cut-off")
    try:
        stamp = pd.Timestamp(cutoff)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cutoff must be a date such as '2012-12-31'; received {cutoff!r}") from exc
    if frame.index.tz is not None and stamp.tz is None:
        stamp = stamp.tz_localize(frame.index.tz)
    in_train = frame.index <= stamp
    first, last = frame.index.min(), frame.index.max()
    span = f"{first.date()} to {last.date()}"
    if not in_train.any():
        raise ValueError(
            f"cut-off {stamp.date()} leaves no training data: the data run from {span}; "
            f"choose a cut-off on or after {first.date()}"
        )
    if in_train.all():
        raise ValueError(
            f"cut-off {stamp.date()} leaves no test data: the data run from {span}; "
            f"choose a cut-off before {last.date()}"
        )
    return frame.loc[in_train], frame.loc[~in_train]
