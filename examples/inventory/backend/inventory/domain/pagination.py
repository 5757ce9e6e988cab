"""Keyset pagination cursors: opaque to clients, stable while rows are inserted."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass


class InvalidCursorError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    after_id: int | None = None


def clamp_limit(requested: int | None, *, default: int, maximum: int) -> int:
    if requested is None:
        return default
    if requested < 1:
        raise ValueError("limit must be at least 1")
    return min(requested, maximum)


def encode_cursor(last_id: int) -> str:
    payload = json.dumps({"after": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursorError("cursor is not one this API issued") from exc
    if not isinstance(data, dict) or not isinstance(data.get("after"), int):
        raise InvalidCursorError("cursor is not one this API issued")
    after = data["after"]
    if isinstance(after, bool) or after < 0:
        raise InvalidCursorError("cursor is not one this API issued")
    return int(after)


def page_from(cursor: str | None, limit: int) -> Page:
    return Page(limit=limit, after_id=None if cursor is None else decode_cursor(cursor))


def next_cursor(fetched_ids: list[int], limit: int) -> str | None:
    """A cursor for the next page, or None when this page is the last one.

    Callers fetch ``limit + 1`` rows: the extra row says whether more exist without
    a second COUNT query.
    """
    if len(fetched_ids) <= limit:
        return None
    return encode_cursor(fetched_ids[limit - 1])
