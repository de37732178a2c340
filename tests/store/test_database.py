"""Opening the app database: URLs, migrations and SQLite's journal mode, on both backends."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, event, func, select, text

from mdmflow.store.database import MIGRATIONS, Database, DatabaseError
from mdmflow.store.routes import Route, RouteStore, forget_route
from mdmflow.store.schema import command_routes, schema_migrations


async def _versions(db: Database) -> list[int]:
    async with db.engine.connect() as conn:
        result = await conn.execute(
            select(schema_migrations.c.version).order_by(schema_migrations.c.version)
        )
        return list(result.scalars())


ALL_VERSIONS = [m.version for m in MIGRATIONS]


async def test_fresh_database_has_every_migration_in_order(database: Database) -> None:
    assert await _versions(database) == ALL_VERSIONS
    assert list(range(1, len(MIGRATIONS) + 1)) == ALL_VERSIONS


async def test_opening_twice_is_idempotent(database: Database, database_url: str) -> None:
    again = await Database.open(database_url)
    try:
        assert await _versions(again) == ALL_VERSIONS
        await again.migrate()
        assert await _versions(again) == ALL_VERSIONS
    finally:
        await again.close()
    assert await _versions(database) == ALL_VERSIONS


async def test_concurrent_opens_of_a_new_database_both_succeed(database_url: str) -> None:
    opened = await asyncio.gather(*(Database.open(database_url) for _ in range(4)))
    try:
        for db in opened:
            assert await _versions(db) == ALL_VERSIONS
    finally:
        for db in opened:
            await db.close()


async def test_dialect_matches_the_url(database: Database, database_url: str) -> None:
    assert database.dialect == database_url.split("+", 1)[0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_uses_wal(database: Database) -> None:
    async with database.engine.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
    assert str(mode).lower() == "wal"


@pytest.mark.parametrize("url", ["notadb://x", "not a url at all"])
async def test_unusable_url_raises_database_error(url: str) -> None:
    with pytest.raises(DatabaseError, match=r"database URL") as caught:
        await Database.open(url)
    assert str(caught.value)


async def test_unreachable_postgres_raises_database_error() -> None:
    with pytest.raises(DatabaseError, match="cannot open the app database"):
        await Database.open("postgresql+asyncpg://postgres@127.0.0.1:1/x")


async def test_sqlite_serves_a_burst_on_one_connection(tmp_path: Path) -> None:
    """Many statements at once on SQLite share one connection instead of opening (and
    closing) one per concurrent checkout: 100 concurrent route writes and reads connect once
    (on SQLite's thread; every engine of the process is counted)."""
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    connects: list[object] = []

    def connected(conn: object, _record: object) -> None:
        connects.append(conn)

    event.listen(Engine, "connect", connected)
    routes = RouteStore(db)
    try:
        await db.engine.dispose()  # the migration's connection: count from none
        rows = [
            Route(
                enrollment_id=f"dev-{n}",
                command_uuid=f"uuid-{n}",
                workflow_id=f"wf-{n}",
                workflow_name="io.micromdm.wf.devinfolog.v1",
                request_type="DeviceInformation",
                step="",
            )
            for n in range(100)
        ]
        await asyncio.gather(*(routes.record([row]) for row in rows))
        found = await asyncio.gather(
            *(routes.lookup(r.enrollment_id, r.command_uuid) for r in rows)
        )
    finally:
        event.remove(Engine, "connect", connected)
        await db.close()
    assert found == rows
    assert len(connects) == 1


async def test_a_transaction_commits_what_it_returns_from_and_undoes_what_it_raises_in(
    database: Database,
) -> None:
    """On each backend: committed when the work returns (and its value handed back), nothing
    kept when it raises, and later transactions unaffected by the failed one."""
    routes = RouteStore(database)
    kept = Route(
        enrollment_id="dev-1",
        command_uuid="uuid-1",
        workflow_id="wf-1",
        workflow_name="io.micromdm.wf.devinfolog.v1",
        request_type="DeviceInformation",
        step="",
    )
    await routes.record([kept])

    def forget_then_fail(conn: Connection) -> None:
        conn.execute(delete(command_routes))
        raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError, match="the work failed"):
        await database.transaction(forget_then_fail)
    assert await routes.lookup("dev-1", "uuid-1") == kept

    def count(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(command_routes)).scalar_one())

    assert await database.transaction(count) == 1
    await database.transaction(partial(forget_route, "dev-1", "uuid-1"))
    assert await database.transaction(count) == 0
