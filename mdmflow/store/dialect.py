"""Upserts differ per backend; this picks the right INSERT construct for the engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mdmflow.store.database import Database


def upsert(db: Database, table: Table, values: Any, keys: list[str]) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` setting every non-key column."""
    insert_fn = pg_insert if db.dialect == "postgresql" else sqlite_insert
    stmt = insert_fn(table).values(values)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


def insert_ignore(db: Database, table: Table, values: Any, keys: list[str]) -> Any:
    """``INSERT … ON CONFLICT (keys) DO NOTHING``: idempotent on retries."""
    insert_fn = pg_insert if db.dialect == "postgresql" else sqlite_insert
    return insert_fn(table).values(values).on_conflict_do_nothing(index_elements=keys)
