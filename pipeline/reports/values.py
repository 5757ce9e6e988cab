"""Lenient readers of report.json values: a report from an older Slipway, a merge of
several, or a hand-edited one must still render, so a missing or odd value becomes
a neutral one instead of an exception."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def entries(value: object) -> list[Mapping[str, Any]]:
    """The mappings of a list (a report's jobs, failures...); anything else is empty."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def seconds(value: object) -> float:
    """A number of seconds; 0.0 when it is missing or not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def when(value: object) -> datetime | None:
    """An ISO-8601 time; None when it is missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def offset(start: datetime | None, origin: datetime | None) -> float | None:
    """Seconds from ``origin`` to ``start``; None when either is unknown, or when one is
    naive and the other aware (an inconsistent report)."""
    if start is None or origin is None:
        return None
    try:
        return (start - origin).total_seconds()
    except TypeError:
        return None
