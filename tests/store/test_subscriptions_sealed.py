"""Subscription contexts are sealed at rest and read back in clear, on both backends; rows
written before sealing read as stored, and a database made before migration 8 gains the flag."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

from mdmflow.crypto.sealed import SecretBox
from mdmflow.store.database import Database
from mdmflow.store.schema import event_subscriptions
from mdmflow.store.subscriptions import NamedSubscription, Subscription, SubscriptionStore
from tests.support.codec import TEST_KEYRING

CHALLENGE = '{"profile": "scep", "text_replacements": {"%CHALLENGE%": "s3cret-challenge"}}'
CERTPROF = "io.micromdm.wf.certprof.v1"


async def raw_contexts(database: Database) -> dict[str, tuple[str, bool]]:
    stmt = select(
        event_subscriptions.c.name,
        event_subscriptions.c.context,
        event_subscriptions.c.context_sealed,
    )
    async with database.engine.connect() as conn:
        return {r.name: (r.context, bool(r.context_sealed)) for r in await conn.execute(stmt)}


async def test_a_context_is_sealed_at_rest_and_read_in_clear(database: Database) -> None:
    store = SubscriptionStore(database, SecretBox(TEST_KEYRING))
    await store.put("renew", Subscription(event="Enrollment", workflow=CERTPROF, context=CHALLENGE))
    await store.put("inventory", Subscription(event="Idle", workflow="io.micromdm.wf.inventory.v1"))

    raw = await raw_contexts(database)
    assert raw["renew"][1] is True
    assert "s3cret-challenge" not in raw["renew"][0]
    assert raw["inventory"] == ("", False)  # nothing to seal
    renew = await store.get("renew")
    assert renew is not None
    assert renew.context == CHALLENGE
    assert [s.context for s in await store.list()] == ["", CHALLENGE]
    assert [s.name for s in await store.for_event("Enrollment")] == ["renew"]


async def test_a_row_written_before_sealing_reads_as_stored(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(event_subscriptions).values(
                name="old",
                event="Idle",
                workflow=CERTPROF,
                context="plain-context",
                event_context="",
                updated_at=dt.datetime.now(dt.UTC),
            )
        )
    store = SubscriptionStore(database, SecretBox(TEST_KEYRING))

    assert await store.list() == [
        NamedSubscription(name="old", event="Idle", workflow=CERTPROF, context="plain-context")
    ]


async def test_migration_8_adds_the_flag_to_a_table_made_before_it(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    url = f"sqlite+aiosqlite:///{path}"
    await (await Database.open(url)).close()
    old = create_engine(f"sqlite:///{path}")
    with old.begin() as conn:  # as migration 7 left it: no flag, one plain row
        conn.execute(text("DROP TABLE event_subscriptions"))
        conn.execute(
            text(
                "CREATE TABLE event_subscriptions (name VARCHAR(255) PRIMARY KEY,"
                " event VARCHAR(64) NOT NULL, workflow VARCHAR(255) NOT NULL,"
                " context TEXT NOT NULL, event_context TEXT NOT NULL,"
                " updated_at DATETIME NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO event_subscriptions VALUES"
                " ('old', 'Idle', 'wf', 'plain-context', '', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(text("DELETE FROM schema_migrations WHERE version = 8"))
    old.dispose()

    database = await Database.open(url)
    try:
        store = SubscriptionStore(database, SecretBox(TEST_KEYRING))
        assert [s.context for s in await store.list()] == ["plain-context"]
        await store.put("old", Subscription(event="Idle", workflow="wf", context="now-sealed"))
        assert (await raw_contexts(database))["old"][1] is True
        assert [s.context for s in await store.list()] == ["now-sealed"]
    finally:
        await database.close()
