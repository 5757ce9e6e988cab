from __future__ import annotations

import pytest
from inventory.config import DEFAULT_DATABASE_URL, Settings, _parse_bool, normalize_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+psycopg://u:p@h:5433/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("  postgresql://u@h/db\n", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+psycopg://u@h/db?sslmode=require"),
    ],
)
def test_normalize_database_url_selects_psycopg3(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize("bad", ["", "   ", "sqlite:///x.db", "mysql://u@h/db", "h:5432/db"])
def test_normalize_database_url_rejects_non_postgres(bad: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        normalize_database_url(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_parse_bool(raw: str, expected: bool) -> None:
    assert _parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["2", "maybe", "tru"])
def test_parse_bool_rejects_other_words(raw: str) -> None:
    with pytest.raises(ValueError, match="not a boolean"):
        _parse_bool(raw)


def test_settings_defaults_when_environment_is_empty() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.sql_echo is False
    assert (settings.default_page_size, settings.max_page_size) == (50, 200)


def test_settings_read_from_environment() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgres://app@db/inv",
            "INVENTORY_SQL_ECHO": "1",
            "INVENTORY_PAGE_SIZE": "10",
            "INVENTORY_MAX_PAGE_SIZE": "20",
        }
    )
    assert settings.database_url == "postgresql+psycopg://app@db/inv"
    assert settings.sql_echo is True
    assert (settings.default_page_size, settings.max_page_size) == (10, 20)


@pytest.mark.parametrize(("default", "maximum"), [(0, 10), (11, 10), (-1, 5)])
def test_settings_reject_page_size_outside_limits(default: int, maximum: int) -> None:
    with pytest.raises(ValueError, match="default_page_size"):
        Settings(database_url=DEFAULT_DATABASE_URL, default_page_size=default, max_page_size=maximum)


def test_settings_are_immutable() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.sql_echo = True  # type: ignore[misc]
