"""When each workflow last started per enrollment (IdleNotStartedSince reads it).

Authenticate and CheckOut clear an enrollment's records, as in NanoCMD. The workflow ID is
kept too, so the bridge can find an enrollment's workflows without waiting for visibility.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection, and_, delete, select

from mdmflow.store.database import Database
from mdmflow.store.dialect import upsert
from mdmflow.store.schema import workflow_starts


class WorkflowStartStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, enrollment_id: str, workflow_name: str, workflow_id: str, started_at: dt.datetime
    ) -> None:
        await self._db.transaction(
            self.writer(enrollment_id, workflow_name, workflow_id, started_at)
        )

    def writer(
        self, enrollment_id: str, workflow_name: str, workflow_id: str, started_at: dt.datetime
    ) -> Callable[[Connection], None]:
        """The record's write, for a transaction of the caller's: a run's first enqueue
        commits it with the step's routes, one commit where there were two."""
        row = {
            "enrollment_id": enrollment_id,
            "workflow_name": workflow_name,
            "workflow_id": workflow_id,
            "started_at": started_at,
        }
        stmt = upsert(self._db, workflow_starts, ["enrollment_id", "workflow_name"])

        def write(conn: Connection) -> None:
            conn.execute(stmt, row)

        return write

    async def last_started(self, enrollment_id: str, workflow_name: str) -> dt.datetime | None:
        stmt = select(workflow_starts.c.started_at).where(
            and_(
                workflow_starts.c.enrollment_id == enrollment_id,
                workflow_starts.c.workflow_name == workflow_name,
            )
        )
        async with self._db.engine.connect() as conn:
            value = (await conn.execute(stmt)).scalar_one_or_none()
        if not isinstance(value, dt.datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    async def all_last_started(self) -> dict[tuple[str, str], dt.datetime]:
        """Every record, keyed by (enrollment ID, workflow name): an import compares in bulk."""
        stmt = select(
            workflow_starts.c.enrollment_id,
            workflow_starts.c.workflow_name,
            workflow_starts.c.started_at,
        )
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {
            (eid, name): at if at.tzinfo else at.replace(tzinfo=dt.UTC) for eid, name, at in rows
        }

    async def workflow_ids(self, enrollment_id: str) -> list[str]:
        stmt = select(workflow_starts.c.workflow_id).where(
            workflow_starts.c.enrollment_id == enrollment_id
        )
        async with self._db.engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def clear(self, enrollment_id: str) -> None:
        stmt = delete(workflow_starts).where(workflow_starts.c.enrollment_id == enrollment_id)
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt)
