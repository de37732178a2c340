"""Importing NanoCMD's MySQL storage from a real MariaDB server loaded with NanoCMD's tables.

Under ``-storage mysql`` NanoCMD's database holds the engine's tables and profiles; inventory
and command plans are what its API answered before it stopped (the guide's ``curl`` lines).
Together they import completely, and mdmflow's API then answers what NanoCMD's did.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import Client

from mdmflow.crypto.sealed import SecretBox
from mdmflow.nanocmd_import.command import ImportOptions, read_source
from mdmflow.nanocmd_import.decisions import Outcome, Stores
from mdmflow.nanocmd_import.files import SourceError
from mdmflow.nanocmd_import.report import render
from mdmflow.store.database import Database
from tests.nanocmd_import.deployment import (
    DEVICE_A,
    DEVICE_B,
    INVENTORY_WF,
    STARTED,
    Deployment,
    deployment,
    nanocmd_answers,
)
from tests.nanocmd_import.helpers import (
    bridge_api,
    mdmflow_answers,
    run_import,
    table_rows,
    write_api_exports,
)
from tests.support.codec import TEST_KEYRING
from tests.support.mysql import EphemeralMySQL, MySQLDatabase
from tests.support.nanocmd_mysql import (
    LEGACY_WF,
    create_tables,
    record_started,
    store_profile,
    store_step,
    store_subscription,
)

XML_PROFILES = ("wifi",)
"""NanoCMD keeps raw_profile in a MEDIUMTEXT column: a signed (DER) or binary-plist profile is
not valid UTF-8, and MariaDB in strict mode refuses it, so only XML profiles live there."""


@pytest.fixture
async def nanocmd_db(mysql_server: EphemeralMySQL) -> MySQLDatabase:
    """A database of its own (dropped with the server at the end of the session)."""
    return await asyncio.to_thread(mysql_server.create_database)


async def load(db: MySQLDatabase, dep: Deployment, schema: tuple[str, ...] | None = None) -> None:
    """Store ``dep`` as NanoCMD's MySQL storage does."""
    engine = create_async_engine(db.url())
    try:
        async with engine.begin() as conn:
            if schema is not None:
                await create_tables(conn, schema)
                return
            await create_tables(conn)
            for name in (*XML_PROFILES, "loose"):
                p = {**dep.profiles, **dep.refused_profiles}[name]
                await store_profile(conn, name, p.identifier, p.uuid, p.raw)
            for name, sub in {**dep.subscriptions, **dep.refused_subscriptions}.items():
                await store_subscription(conn, name, **sub)
            for eid, workflow, at in dep.starts + dep.refused_starts:
                await record_started(conn, eid, workflow, at)
            await store_step(
                conn,
                workflow="io.micromdm.wf.lock.v1",
                instance_id="inst-lock",
                name="",
                commands={"LOCK-1": "DeviceLock"},
                ids=["MAC-1", "MAC-2", "MAC-3", "MAC-4", "MAC-5"],
                completed={("MAC-2", "LOCK-1")},
            )
    finally:
        await engine.dispose()


async def test_signed_profiles_cannot_live_in_nanocmds_mysql_table(
    nanocmd_db: MySQLDatabase,
) -> None:
    engine = create_async_engine(nanocmd_db.url())
    try:
        async with engine.begin() as conn:
            await create_tables(conn)
        vpn = deployment().profiles["vpn"]
        async with engine.connect() as conn:
            with pytest.raises(DataError, match="Incorrect string value"):
                await store_profile(conn, "vpn", vpn.identifier, vpn.uuid, vpn.raw)
    finally:
        await engine.dispose()


async def test_mysql_database_and_api_exports_import_completely(
    client: Client, database_url: str, nanocmd_db: MySQLDatabase, tmp_path: Path
) -> None:
    dep = deployment()
    await load(nanocmd_db, dep)
    inventory_json, cmdplan_dir = write_api_exports(dep, tmp_path)
    options = ImportOptions(
        storage="mysql",
        storage_dsn=nanocmd_db.go_dsn(),  # exactly as NanoCMD's -storage-dsn takes it
        inventory_json=inventory_json,
        cmdplan_dir=cmdplan_dir,
    )
    db = await Database.open(database_url)
    try:
        plan = await run_import(db, options)
        rows = await table_rows(db)
        again = await run_import(db, options)
        assert await table_rows(db) == rows  # a second run changes nothing
        stores = Stores.of(db, SecretBox(TEST_KEYRING))
        started = await stores.starts.last_started(DEVICE_B, INVENTORY_WF)
        identity = await stores.identities.current()
    finally:
        await db.close()

    expected = nanocmd_answers(dep)
    expected["profiles"] = {n: expected["profiles"][n] for n in XML_PROFILES}
    async with bridge_api(client, database_url) as api:
        assert await mdmflow_answers(api, dep) == expected
        assert (await api.get("/v1/profile/wifi")).content == dep.profiles["wifi"].raw

    assert started == STARTED - dt.timedelta(hours=5)
    assert identity is None  # NanoCMD on MySQL never kept its key pair
    assert {d.outcome for d in again.decisions} == {Outcome.UNCHANGED, Outcome.REFUSED}
    refused = {
        (str(d.kind), d.name): d.detail for d in plan.decisions if d.outcome is Outcome.REFUSED
    }
    assert set(refused) == {
        ("profile", "loose"),
        ("cmdplan", "ftp-apps"),
        ("subscription", "never"),
        ("subscription", "custom"),
        ("last started", f"{DEVICE_B} com.example.custom.v1"),
        ("step", "io.micromdm.wf.lock.v1 (instance inst-lock)"),
    }
    step = refused[("step", "io.micromdm.wf.lock.v1 (instance inst-lock)")]
    assert "from MAC-1, MAC-3, MAC-4 and 1 more" in step
    text_report = render(plan, target="app", dry_run=False)
    assert "note: FileVault key pair: not in NanoCMD's MySQL database" in text_report
    assert "--inventory-json" not in text_report  # it was given: no note asks for it
    assert "inventory of 2 enrollments (13 values, 1 io.micromdm.wf.lock.v1.pin, 1 prk)" in (
        text_report
    )
    assert "warning: subscription 'idle-inventory' (Idle → io.micromdm.wf.inventory.v1)" in (
        text_report
    )
    # the plan names a profile NanoCMD's MySQL could not hold (signed): starting it would fail
    assert (
        "warning: cmdplan 'setup-lab' names profiles mdmflow does not hold: vpn; starting it "
        "fails until they are stored" in text_report
    )
    assert f"{nanocmd_db.password}" not in text_report
    assert f"{nanocmd_db.user}:***@" in text_report


async def test_database_alone_says_where_the_rest_is(
    database: Database, nanocmd_db: MySQLDatabase
) -> None:
    await load(nanocmd_db, deployment())
    plan = await run_import(
        database, ImportOptions(storage="mysql", storage_dsn=nanocmd_db.go_dsn())
    )

    notes = "\n".join(plan.notes)
    assert "inventory (FileVault recovery keys, lock PINs): not in the database" in notes
    assert "--inventory-json" in notes
    assert "cmdplans: not in the database" in notes
    assert "--cmdplan-dir" in notes
    assert not [d for d in plan.decisions if str(d.kind) in ("inventory", "cmdplan")]


async def test_older_nanocmd_schema_is_read(database: Database, nanocmd_db: MySQLDatabase) -> None:
    await load(nanocmd_db, deployment(), schema=tuple(LEGACY_WF))
    engine = create_async_engine(nanocmd_db.url())
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SET time_zone = '+00:00'"))
            await conn.execute(
                text(
                    "INSERT INTO wf_events (event_name, event_type, workflow_name, context) "
                    "VALUES ('enroll', 'Enrollment', :wf, NULL)"
                ),
                {"wf": INVENTORY_WF},
            )
            await conn.execute(
                text(
                    "INSERT INTO wf_status (enrollment_id, workflow_name, last_created_at) "
                    "VALUES (:eid, :wf, '2026-03-01 10:30:15')"
                ),
                {"eid": DEVICE_A, "wf": INVENTORY_WF},
            )
    finally:
        await engine.dispose()
    plan = await run_import(
        database, ImportOptions(storage="mysql", storage_dsn=nanocmd_db.go_dsn())
    )
    stores = Stores.of(database, SecretBox(TEST_KEYRING))

    assert [str(d.kind) for d in plan.decisions if d.outcome is Outcome.IMPORT] == [
        "subscription",
        "last started",
    ]
    sub = await stores.subscriptions.get("enroll")
    assert sub is not None
    assert (sub.event, sub.workflow, sub.context) == ("Enrollment", INVENTORY_WF, "")
    assert await stores.starts.last_started(DEVICE_A, INVENTORY_WF) == STARTED
    assert "no subsystem_profiles table: this NanoCMD kept profiles in memory" in plan.notes


async def test_a_database_without_nanocmds_tables_is_refused(nanocmd_db: MySQLDatabase) -> None:
    with pytest.raises(SourceError, match="holds no NanoCMD tables"):
        await read_source(ImportOptions(storage="mysql", storage_dsn=nanocmd_db.go_dsn()))
    wrong = nanocmd_db.go_dsn().replace(nanocmd_db.password, "wrong-password")
    with pytest.raises(SourceError, match="cannot read NanoCMD's MySQL storage") as refused:
        await read_source(ImportOptions(storage="mysql", storage_dsn=wrong))
    assert "Access denied" in str(refused.value)
    assert "wrong-password" not in str(refused.value)
