"""Alembic environment: DATABASE_URL from the environment, or a connection handed in."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from inventory import models  # noqa: F401  (registers the tables on Base.metadata)
from inventory.config import Settings
from inventory.db import Base
from sqlalchemy import Connection, create_engine, pool, text

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Any constant works; it only has to be the same for every process migrating this app.
MIGRATION_LOCK_KEY = 7_202_611


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        # Several replicas (or test workers) may start at once against one database:
        # the first migrates, the others wait and then find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=Settings.from_env().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = create_engine(Settings.from_env().database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
