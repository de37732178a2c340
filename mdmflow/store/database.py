"""Open the app database (SQLite with WAL, or PostgreSQL) and bring its schema up to date."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, event, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mdmflow.store.schema import (
    cmdplans,
    command_routes,
    event_subscriptions,
    filevault_escrow,
    fleet_start_ids,
    inventory,
    inventory_secrets,
    profiles,
    report_payloads,
    schema_migrations,
    webhook_intake,
    workflow_starts,
)
from mdmflow.store.sqlite_thread import SQLiteThread

T = TypeVar("T")
SQLITE_POOL_TIMEOUT_S = 60.0
"""How long a statement waits for the one SQLite connection before failing (a backlog of
quick statements, never a held transaction: nothing awaits other work inside one)."""


class DatabaseError(Exception):
    """The database URL is unusable or the database cannot be reached."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    command_routes.create(conn)
    report_payloads.create(conn)


def _v2(conn: Connection) -> None:
    event_subscriptions.create(conn)
    workflow_starts.create(conn)


def _v3(conn: Connection) -> None:
    inventory.create(conn)


def _v4(conn: Connection) -> None:
    profiles.create(conn)
    cmdplans.create(conn)


def _v5(conn: Connection) -> None:
    filevault_escrow.create(conn)
    inventory_secrets.create(conn)


def _v6(conn: Connection) -> None:
    webhook_intake.create(conn)


def _v7(conn: Connection) -> None:
    fleet_start_ids.create(conn)


def _v8(conn: Connection) -> None:
    """Subscription contexts sealed at rest. A table made by this code's ``_v2`` has the flag
    already; rows from before it stay plain until they are written again."""
    columns = {c["name"] for c in inspect(conn).get_columns(event_subscriptions.name)}
    if "context_sealed" not in columns:
        conn.execute(
            text(
                "ALTER TABLE event_subscriptions"
                " ADD COLUMN context_sealed BOOLEAN NOT NULL DEFAULT FALSE"
            )
        )


MIGRATIONS: Sequence[Migration] = (
    Migration(1, "command routes and stored report payloads", _v1),
    Migration(2, "event subscriptions and last workflow starts", _v2),
    Migration(3, "inventory values per enrollment", _v3),
    Migration(4, "profiles and command plans", _v4),
    Migration(5, "FileVault escrow identity and sealed inventory secrets", _v5),
    Migration(6, "durable webhook intake", _v6),
    Migration(7, "the IDs of fleet starts waiting for their fan-out", _v7),
    Migration(8, "event subscription contexts sealed at rest", _v8),
)


class Database:
    """One async engine per process; repositories take it in their constructor. On a SQLite
    file, the statements of every step and report also have a connection on a thread of their
    own (:meth:`transaction`)."""

    def __init__(self, engine: AsyncEngine, sqlite: SQLiteThread | None = None) -> None:
        self.engine = engine
        self._sqlite = sqlite

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` (sync SQLAlchemy Core on the connection it is given) in one
        transaction, committed when it returns: for the statements run on every step and
        report, in one hop to SQLite's thread where there is one (see ``sqlite_thread``),
        else on the async engine."""
        if self._sqlite is not None:
            return await self._sqlite.transaction(work)
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    async def open(cls, url: str) -> Self:
        """Connect, enable WAL for SQLite, and apply pending migrations."""
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise DatabaseError(f"MDMFLOW_DATABASE_URL is not a database URL: {exc}") from None
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                # One connection per process, statements queued for it: SQLite takes one
                # writer at a time, and more connections only meet in its busy handler, which
                # sleeps (1 to 100 ms a try). The pool's default also opened and closed a
                # connection, and aiosqlite a thread, for every checkout past five: 392 of
                # them in one bench scenario of 100 devices.
                kwargs.update(pool_size=1, max_overflow=0, pool_timeout=SQLITE_POOL_TIMEOUT_S)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        try:
            engine = create_async_engine(url, **kwargs)
        except Exception as exc:
            raise DatabaseError(f"cannot use database URL: {exc}") from None
        sqlite = None
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            if parsed.database and parsed.database != ":memory:":
                sqlite = SQLiteThread(parsed, _sqlite_pragmas)
        db = cls(engine, sqlite)
        try:
            await db.migrate()
        except Exception as exc:
            await db.close()
            raise DatabaseError(f"cannot open the app database: {exc}") from exc
        return db

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_migrate)

    async def close(self) -> None:
        if self._sqlite is not None:
            await asyncio.to_thread(self._sqlite.close)
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=30000")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _enable_wal(cursor: Any, attempts: int = 100) -> None:
    # Two connections switching a new file to WAL at once can deadlock on the file lock; SQLite
    # then answers one "database is locked" without waiting. The other one completes the switch,
    # and the loser's next read of the mode waits for it (busy_timeout) and finds WAL.
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise


def _migrate(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(728190)"))
    elif conn.dialect.name == "sqlite":
        # The sqlite3 driver runs DDL outside any transaction; take the write lock up front so
        # concurrent openers wait (busy_timeout) instead of racing to create the same tables.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    schema_migrations.create(conn, checkfirst=True)
    applied = set(conn.execute(select(schema_migrations.c.version)).scalars())
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        migration.apply(conn)
        conn.execute(
            insert(schema_migrations).values(
                version=migration.version,
                description=migration.description,
                applied_at=dt.datetime.now(dt.UTC),
            )
        )
