"""Alembic environment: the URL comes from the caller (shuzhi init) or SHUZHI_DATABASE_URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import pool

from shuzhi.adapters.db.engine import make_engine
from shuzhi.adapters.db.readings_partitions import include_name
from shuzhi.adapters.db.tables import Base
from shuzhi.config import get_settings

config = context.config
# The day partitions of readings are the database's own, not the models' (readings_partitions.py).
_OPTIONS: dict[str, Any] = {"target_metadata": Base.metadata, "include_name": include_name}
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()


def run_migrations_offline() -> None:
    context.configure(url=url, **_OPTIONS, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, **_OPTIONS, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, poolclass=pool.NullPool) if not url.startswith("sqlite") else make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, **_OPTIONS, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
