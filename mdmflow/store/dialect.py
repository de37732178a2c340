"""Upserts differ per backend; this picks the right INSERT construct for the engine.

Each statement is built once per backend, table and key and then run with its rows as
parameters: the enqueue records a route (and, on a run's first, its start) with every step,
and building an ``ON CONFLICT`` statement costs more than running it (SQLAlchemy then reuses
its compiled form too)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert

from mdmflow.store.database import Database


def upsert(db: Database, table: Table, keys: Sequence[str]) -> Insert:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` setting every non-key column."""
    return _upsert(db.dialect, table, tuple(keys))


def insert_ignore(db: Database, table: Table, keys: Sequence[str]) -> Insert:
    """``INSERT … ON CONFLICT (keys) DO NOTHING``: idempotent on retries."""
    return _insert_ignore(db.dialect, table, tuple(keys))


@functools.cache
def _upsert(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)


@functools.cache
def _insert_ignore(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return stmt.on_conflict_do_nothing(index_elements=list(keys))
