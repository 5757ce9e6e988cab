"""Settings read from the environment, once, when the app asks for them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@localhost:5432/inventory"

# SQLAlchemy picks psycopg2 for a bare postgresql:// URL; we ship psycopg 3 only.
_DRIVERLESS_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg2://")


def normalize_database_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver, whatever PostgreSQL scheme it used."""
    url = url.strip()
    if not url:
        raise ValueError("DATABASE_URL is empty")
    for scheme in _DRIVERLESS_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    if url.startswith("postgresql+psycopg://"):
        return url
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got scheme of {url.split(':', 1)[0]!r}")


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What the service needs to know about where it runs."""

    database_url: str
    sql_echo: bool = False
    default_page_size: int = 50
    max_page_size: int = 200

    def __post_init__(self) -> None:
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ValueError("default_page_size must be between 1 and max_page_size")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        source = os.environ if env is None else env
        return cls(
            database_url=normalize_database_url(source.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
            sql_echo=_parse_bool(source.get("INVENTORY_SQL_ECHO", "")),
            default_page_size=int(source.get("INVENTORY_PAGE_SIZE", "50")),
            max_page_size=int(source.get("INVENTORY_MAX_PAGE_SIZE", "200")),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    # Cached on first use, not at import: test harnesses set DATABASE_URL before that.
    return Settings.from_env()
