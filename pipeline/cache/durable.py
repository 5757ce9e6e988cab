"""Small JSON documents that must outlive a runner: test durations, release history.

They live in the same store as the cache, as named objects. Reads and writes are
best-effort like the rest of the cache: a missing, unreachable or unreadable
document gives the caller's default (with a warning if it was unreadable), and a
failed save returns False. Read-modify-write is not locked: two runners saving the
same document at once keep the last write, which is fine for durations and is why
release history should be one document per environment.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.cache.store import Store, check_key, log


def durations_name(group: str) -> str:
    """Where pytest-split's durations for a test group live."""
    return check_key(f"durations/{group}.json")


def releases_name(environment: str) -> str:
    """Where the release history (a JSON list) of an environment lives."""
    return check_key(f"releases/{environment}.json")


def load_json(store: Store, name: str, default: Any) -> Any:
    """The stored JSON value, or ``default`` if it is missing or unreadable."""
    raw = store.get_object(name)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("cache %s: object %s is not valid JSON, ignoring it: %s", store.description, name, exc)
        return default


def save_json(store: Store, name: str, value: object) -> bool:
    """Replace the named JSON document; False (logged by the store) if it could not."""
    data = json.dumps(value, indent=1, sort_keys=True).encode()
    return store.put_object(name, data)
