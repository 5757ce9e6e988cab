from __future__ import annotations

import base64

import pytest
from inventory.domain.pagination import (
    InvalidCursorError,
    Page,
    clamp_limit,
    decode_cursor,
    encode_cursor,
    next_cursor,
    page_from,
)


@pytest.mark.parametrize("last_id", [0, 1, 42, 10**6, 2**31 - 1, 2**62])
def test_cursor_round_trips(last_id: int) -> None:
    assert decode_cursor(encode_cursor(last_id)) == last_id


def test_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor(123456789)
    assert "=" not in cursor
    assert all(c.isalnum() or c in "-_" for c in cursor)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "not-base64-json",
        _b64(b"[1, 2]"),
        _b64(b'{"after": "7"}'),
        _b64(b'{"after": -1}'),
        _b64(b'{"after": true}'),
        _b64(b'{"before": 7}'),
        _b64(b"\xff\xfe"),
        _b64(b'{"after": 1.5}'),
    ],
)
def test_foreign_cursors_are_rejected(cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="cursor"):
        decode_cursor(cursor)


@pytest.mark.parametrize(
    ("requested", "expected"), [(None, 50), (1, 1), (50, 50), (199, 199), (200, 200), (5000, 200)]
)
def test_clamp_limit(requested: int | None, expected: int) -> None:
    assert clamp_limit(requested, default=50, maximum=200) == expected


@pytest.mark.parametrize("requested", [0, -5])
def test_clamp_limit_rejects_non_positive(requested: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        clamp_limit(requested, default=50, maximum=200)


def test_page_from_without_cursor_starts_at_beginning() -> None:
    assert page_from(None, 10) == Page(limit=10, after_id=None)


def test_page_from_cursor_resumes_after_id() -> None:
    assert page_from(encode_cursor(31), 10) == Page(limit=10, after_id=31)


@pytest.mark.parametrize(
    ("ids", "limit", "after"),
    [([], 10, None), ([1, 2, 3], 10, None), ([1, 2, 3], 3, None), ([1, 2, 3, 4], 3, 3), ([5, 9, 12], 2, 9)],
)
def test_next_cursor_only_when_an_extra_row_was_fetched(
    ids: list[int], limit: int, after: int | None
) -> None:
    cursor = next_cursor(ids, limit)
    if after is None:
        assert cursor is None
    else:
        assert cursor is not None
        assert decode_cursor(cursor) == after
