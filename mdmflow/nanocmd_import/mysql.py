"""Read NanoCMD's MySQL storage (``-storage mysql``): its engine tables and its profile table.

Under ``-storage mysql`` NanoCMD keeps only the engine (steps, commands, event subscriptions,
last-started times) and, since late 2025, profiles in the database. Command plans, inventory
(with the FileVault recovery keys and lock PINs) and the FileVault key pair live in the NanoCMD
process's memory and are gone when it stops; :func:`in_memory_notes` says so, and
:mod:`.exports` reads what NanoCMD's API answered for them instead.

Older NanoCMD schemas are read too: ``wf_events`` without ``event_context`` (before migration
00001), ``wf_status.last_created_at`` (between 00001 and 00002), no ``subsystem_profiles``.
Only ``SELECT`` statements run; the database is left as it was.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from mdmflow.nanocmd_import.files import SourceError
from mdmflow.nanocmd_import.snapshot import (
    NanoCMDSnapshot,
    NanoProfile,
    NanoStart,
    NanoStep,
    NanoSubscription,
)

IN_MEMORY = "under -storage mysql NanoCMD keeps them in memory only"


def in_memory_notes(*, inventory_given: bool, cmdplans_given: bool) -> list[str]:
    """What a MySQL deployment never stored, and where the admin finds it instead."""
    notes = [
        "FileVault key pair: not in NanoCMD's MySQL database (NanoCMD made a new one in memory "
        "at every start). The recovery keys it escrowed are plain text in its inventory; "
        "mdmflow's fvrotate sends mdmflow's own certificate, so rotation needs only those"
    ]
    if not inventory_given:
        notes.append(
            f"inventory (FileVault recovery keys, lock PINs): not in the database; {IN_MEMORY}. "
            "Save GET /inventory?id=… from the running NanoCMD and pass it as --inventory-json"
        )
    if not cmdplans_given:
        notes.append(
            f"cmdplans: not in the database; {IN_MEMORY}. Save GET /v1/cmdplan/<name> for each "
            "plan into a folder as <name>.json and pass it as --cmdplan-dir"
        )
    return notes


async def read_mysql_storage(url: URL) -> NanoCMDSnapshot:
    """Everything NanoCMD's MySQL database at ``url`` holds."""
    shown = url.render_as_string(hide_password=True)
    snapshot = NanoCMDSnapshot(source=f"NanoCMD MySQL storage at {shown}")
    engine = create_async_engine(url, pool_pre_ping=False)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET time_zone = '+00:00'"))
            tables = set((await conn.execute(text("SHOW TABLES"))).scalars())
            missing = {"wf_events", "wf_status", "steps", "id_commands"} - tables
            if missing == {"wf_events", "wf_status", "steps", "id_commands"}:
                raise SourceError(
                    f"{shown} holds no NanoCMD tables (wf_events, wf_status, steps, "
                    "id_commands): is this NanoCMD's -storage-dsn?"
                )
            if "subsystem_profiles" in tables:
                await _profiles(conn, snapshot)
            else:
                snapshot.notes.append(
                    "no subsystem_profiles table: this NanoCMD kept profiles in memory"
                )
            if "wf_events" in tables:
                await _subscriptions(conn, snapshot)
            if "wf_status" in tables:
                await _starts(conn, snapshot)
            if {"steps", "id_commands"} <= tables:
                await _steps(conn, snapshot)
    except SourceError:
        raise
    except Exception as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        raise SourceError(f"cannot read NanoCMD's MySQL storage at {shown}: {reason}") from None
    finally:
        await engine.dispose()
    return snapshot


async def _columns(conn: AsyncConnection, table: str) -> set[str]:
    rows = await conn.execute(text(f"SHOW COLUMNS FROM {table}"))
    return {str(row[0]) for row in rows}


async def _profiles(conn: AsyncConnection, snapshot: NanoCMDSnapshot) -> None:
    # The bytes as stored, whatever the column's character set (a TEXT column would decode).
    rows = await conn.execute(
        text(
            "SELECT name, profile_id, profile_uuid, CAST(raw_profile AS BINARY) "
            "FROM subsystem_profiles ORDER BY name"
        )
    )
    for name, identifier, uuid, raw in rows:
        snapshot.profiles.append(NanoProfile(name, _bytes(raw), identifier, uuid))


async def _subscriptions(conn: AsyncConnection, snapshot: NanoCMDSnapshot) -> None:
    has_event_context = "event_context" in await _columns(conn, "wf_events")
    event_context = "event_context" if has_event_context else "NULL"
    rows = await conn.execute(
        text(
            f"SELECT event_name, event_type, workflow_name, context, {event_context} "
            "FROM wf_events ORDER BY event_name"
        )
    )
    for name, event, workflow, context, ev_context in rows:
        snapshot.subscriptions.append(
            NanoSubscription(name, event, workflow, context or "", ev_context or "")
        )


async def _starts(conn: AsyncConnection, snapshot: NanoCMDSnapshot) -> None:
    columns = await _columns(conn, "wf_status")
    if "last_created_unix" in columns:
        when = "last_created_unix"
    elif "last_created_at" in columns:
        when = "UNIX_TIMESTAMP(last_created_at)"
    else:
        snapshot.notes.append("wf_status has no start-time column; last-started not read")
        return
    rows = await conn.execute(
        text(
            f"SELECT enrollment_id, workflow_name, {when} FROM wf_status "
            "ORDER BY enrollment_id, workflow_name"
        )
    )
    for enrollment_id, workflow, seconds in rows:
        if seconds is None or int(seconds) <= 0:
            continue
        started = dt.datetime.fromtimestamp(int(seconds), dt.UTC)
        snapshot.starts.append(NanoStart(enrollment_id, workflow, started))


async def _steps(conn: AsyncConnection, snapshot: NanoCMDSnapshot) -> None:
    rows = await conn.execute(
        text(
            "SELECT s.id, s.workflow_name, s.step_name, s.instance_id, s.not_until, "
            "c.enrollment_id "
            "FROM steps s JOIN id_commands c ON c.step_id = s.id "
            "WHERE c.completed = 0 "
            "GROUP BY s.id, s.workflow_name, s.step_name, s.instance_id, s.not_until, "
            "c.enrollment_id "
            "ORDER BY s.id, c.enrollment_id"
        )
    )
    grouped: dict[Any, tuple[str, str, str, dt.datetime | None, list[str]]] = {}
    for step_id, workflow, step_name, instance_id, not_until, enrollment_id in rows:
        entry = grouped.setdefault(
            step_id, (workflow, step_name or "", instance_id, _utc(not_until), [])
        )
        entry[4].append(enrollment_id)
    for workflow, step_name, instance_id, not_until, ids in grouped.values():
        pending = not_until if not_until is not None and not_until > _now() else None
        snapshot.steps.append(NanoStep(workflow, step_name, instance_id, tuple(ids), pending))


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def _utc(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
