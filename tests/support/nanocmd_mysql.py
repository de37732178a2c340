"""NanoCMD's MySQL tables, described column for column, and rows written as NanoCMD writes them.

The tables are those of NanoCMD's engine storage (``steps``, ``id_commands``,
``step_commands``, ``wf_events``, ``wf_status``) and of its profile storage
(``subsystem_profiles``), with NanoCMD's column names, types, nullability and defaults, so the
importer meets the database a NanoCMD deployment has. :data:`LEGACY_WF` gives the shapes older
NanoCMD versions left behind (before and between its numbered schema migrations).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_AUDIT = """
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"""

STEPS = f"""
CREATE TABLE steps (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    workflow_name VARCHAR(255) NOT NULL,
    instance_id VARCHAR(255) NOT NULL,
    step_name VARCHAR(255) NULL,
    context MEDIUMTEXT NULL,
    not_until TIMESTAMP NULL,
    timeout TIMESTAMP NULL,
    process_id CHAR(45) NULL,
    INDEX (workflow_name),
    INDEX (not_until),
    INDEX (timeout),
    INDEX (process_id),{_AUDIT}
)"""

ID_COMMANDS = f"""
CREATE TABLE id_commands (
    enrollment_id VARCHAR(255) NOT NULL,
    command_uuid VARCHAR(127) NOT NULL,
    step_id BIGINT NOT NULL,
    request_type VARCHAR(63) NOT NULL,
    completed BOOLEAN NOT NULL DEFAULT 0,
    result MEDIUMTEXT NULL,
    last_push TIMESTAMP NULL,{_AUDIT},
    INDEX (enrollment_id),
    INDEX (command_uuid),
    INDEX (step_id),
    INDEX (completed),
    INDEX (last_push),
    FOREIGN KEY (step_id) REFERENCES steps (id),
    PRIMARY KEY (enrollment_id, command_uuid)
)"""

STEP_COMMANDS = f"""
CREATE TABLE step_commands (
    command_uuid VARCHAR(127) NOT NULL,
    step_id BIGINT NOT NULL,
    command MEDIUMTEXT NOT NULL,
    request_type VARCHAR(63) NOT NULL,{_AUDIT},
    FOREIGN KEY (step_id) REFERENCES steps (id),
    PRIMARY KEY (command_uuid, step_id)
)"""

WF_EVENTS = f"""
CREATE TABLE wf_events (
    event_name VARCHAR(255) NOT NULL,
    context MEDIUMTEXT NULL,
    event_context MEDIUMTEXT NULL,
    workflow_name VARCHAR(255) NOT NULL,
    event_type VARCHAR(63) NOT NULL,{_AUDIT},
    INDEX (event_type),
    PRIMARY KEY (event_name)
)"""

WF_STATUS = f"""
CREATE TABLE wf_status (
    enrollment_id VARCHAR(255) NOT NULL,
    workflow_name VARCHAR(255) NOT NULL,
    last_created_unix BIGINT NOT NULL DEFAULT (UNIX_TIMESTAMP()),{_AUDIT},
    INDEX (enrollment_id),
    INDEX (workflow_name),
    PRIMARY KEY (enrollment_id, workflow_name)
)"""

SUBSYSTEM_PROFILES = f"""
CREATE TABLE subsystem_profiles (
    name VARCHAR(255) NOT NULL,
    profile_id VARCHAR(255) NOT NULL,
    profile_uuid VARCHAR(255) NOT NULL,
    raw_profile MEDIUMTEXT NOT NULL,{_AUDIT},
    PRIMARY KEY (name)
)"""

SCHEMA: Sequence[str] = (
    STEPS,
    ID_COMMANDS,
    STEP_COMMANDS,
    WF_EVENTS,
    WF_STATUS,
    SUBSYSTEM_PROFILES,
)
"""NanoCMD's current tables (engine schema with migrations 00001 and 00002, plus profiles)."""

LEGACY_WF: Sequence[str] = (
    STEPS,
    ID_COMMANDS,
    STEP_COMMANDS,
    # wf_events before migration 00001 added event_context
    f"""
CREATE TABLE wf_events (
    event_name VARCHAR(255) NOT NULL,
    context MEDIUMTEXT NULL,
    workflow_name VARCHAR(255) NOT NULL,
    event_type VARCHAR(63) NOT NULL,{_AUDIT},
    INDEX (event_type),
    PRIMARY KEY (event_name)
)""",
    # wf_status as migration 00001 made it, before 00002 moved to unix seconds
    f"""
CREATE TABLE wf_status (
    enrollment_id VARCHAR(255) NOT NULL,
    workflow_name VARCHAR(255) NOT NULL,
    last_created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,{_AUDIT},
    INDEX (enrollment_id),
    INDEX (workflow_name),
    PRIMARY KEY (enrollment_id, workflow_name)
)""",
)
"""An older NanoCMD's tables: no profile table, the old wf_events and wf_status shapes."""


async def create_tables(conn: AsyncConnection, schema: Sequence[str] = SCHEMA) -> None:
    for statement in schema:
        await conn.execute(text(statement))


async def store_profile(
    conn: AsyncConnection, name: str, identifier: str, uuid: str, raw: bytes
) -> None:
    await conn.execute(
        text(
            "INSERT INTO subsystem_profiles (name, profile_id, profile_uuid, raw_profile) "
            "VALUES (:name, :id, :uuid, :raw)"
        ),
        {"name": name, "id": identifier, "uuid": uuid, "raw": raw},
    )


async def store_subscription(
    conn: AsyncConnection,
    name: str,
    event: str,
    workflow: str,
    context: str = "",
    event_context: str = "",
) -> None:
    """As NanoCMD's StoreEventSubscription: empty context and event_context become NULL."""
    await conn.execute(
        text(
            "INSERT INTO wf_events (event_name, event_type, workflow_name, event_context, context) "
            "VALUES (:name, :event, :workflow, :event_context, :context)"
        ),
        {
            "name": name,
            "event": event,
            "workflow": workflow,
            "event_context": event_context or None,
            "context": context or None,
        },
    )


async def record_started(
    conn: AsyncConnection, enrollment_id: str, workflow: str, at: dt.datetime
) -> None:
    await conn.execute(
        text(
            "INSERT INTO wf_status (enrollment_id, workflow_name, last_created_unix) "
            "VALUES (:id, :workflow, :unix)"
        ),
        {"id": enrollment_id, "workflow": workflow, "unix": int(at.timestamp())},
    )


async def store_step(
    conn: AsyncConnection,
    *,
    workflow: str,
    instance_id: str,
    name: str,
    commands: dict[str, str],
    ids: Sequence[str],
    completed: set[tuple[str, str]],
) -> None:
    """A step with its per-ID command rows; ``completed`` holds the answered (id, uuid) pairs."""
    result = await conn.execute(
        text(
            "INSERT INTO steps (workflow_name, instance_id, step_name, timeout) "
            "VALUES (:workflow, :instance, :name, :timeout)"
        ),
        {
            "workflow": workflow,
            "instance": instance_id,
            "name": name or None,
            "timeout": dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=3),
        },
    )
    step_id = result.lastrowid
    for eid in ids:
        for uuid, request_type in commands.items():
            await conn.execute(
                text(
                    "INSERT INTO id_commands (enrollment_id, command_uuid, step_id, "
                    "request_type, completed, last_push) "
                    "VALUES (:eid, :uuid, :step, :type, :done, CURRENT_TIMESTAMP)"
                ),
                {
                    "eid": eid,
                    "uuid": uuid,
                    "step": step_id,
                    "type": request_type,
                    "done": (eid, uuid) in completed,
                },
            )
