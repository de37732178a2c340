"""The durable webhook intake: every webhook the bridge answered 200 is a row here until delivered.

NanoMDM and MicroMDM never retry a webhook, so the bridge commits each one before answering and
delivers it afterwards. A row leaves the intake when its delivery succeeds; permanent outcomes
(no route, workflow gone, refused by Temporal) stay as a record for operators until pruned.

Every bridge replica claims due rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has
one writer at a time anyway), so N bridges share a backlog without delivering a row twice at
once. Claiming pushes ``next_attempt_at`` one lease ahead: a bridge that dies mid-delivery
leaves the row to be claimed again when the lease runs out. Check-ins of one enrollment are
claimed in order: a later one waits while an earlier one is pending (Authenticate's cancel
must come before TokenUpdate's Enrollment start).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from mdmflow.store.database import Database
from mdmflow.store.schema import webhook_intake as intake

PENDING = "pending"


class IntakeKind(StrEnum):
    """What a webhook asks of delivery; only check-ins are kept in per-enrollment order."""

    REPORT = "report"
    IDLE = "idle"
    CHECKIN = "checkin"

    @property
    def ordered(self) -> bool:
        return self is IntakeKind.CHECKIN


class IntakeOutcome(StrEnum):
    """A delivery's permanent end, kept as a record (delivered rows are deleted)."""

    UNROUTED = "unrouted"
    WORKFLOW_GONE = "workflow_gone"
    REFUSED = "refused"


@dataclass(frozen=True)
class IntakeEntry:
    id: int
    delivery_id: str
    """Unique for ever (unlike ``id``, which SQLite may reuse once a row is deleted)."""
    kind: IntakeKind
    enrollment_id: str
    command_uuid: str
    body: bytes
    received_at: dt.datetime
    attempts: int


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_pending_age_s: float | None
    recorded: dict[str, int]


_COLUMNS = (
    intake.c.id,
    intake.c.delivery_id,
    intake.c.kind,
    intake.c.enrollment_id,
    intake.c.command_uuid,
    intake.c.body,
    intake.c.received_at,
    intake.c.attempts,
)


_ACCEPT = insert(intake).returning(intake.c.id)
_DELIVERED = delete(intake).where(intake.c.id == bindparam("row_id"))
"""The two statements every webhook runs, built once (see ``store.routes``)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class IntakeStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._postgres = db.dialect == "postgresql"

    async def accept(
        self,
        kind: IntakeKind,
        enrollment_id: str,
        command_uuid: str,
        body: bytes,
        lease: dt.timedelta,
        also: Callable[[Connection], None] | None = None,
        delivery_id: str | None = None,
    ) -> IntakeEntry:
        """Commit one webhook; it is leased to the caller, who delivers it inline. ``also``
        runs in the same transaction (a report's route is read there: one commit, not two).
        ``delivery_id``: the ID a delivery tried before the commit already used."""
        now = _now()
        delivery_id = delivery_id or str(uuid.uuid4())
        row = {
            "delivery_id": delivery_id,
            "kind": kind.value,
            "enrollment_id": enrollment_id,
            "command_uuid": command_uuid,
            "body": body,
            "received_at": now,
            "state": PENDING,
            "attempts": 1,
            "next_attempt_at": now + lease,
            "last_error": "",
        }

        def write(conn: Connection) -> int:
            row_id = int(conn.execute(_ACCEPT, row).scalar_one())
            if also is not None:
                also(conn)
            return row_id

        row_id = await self._db.transaction(write)
        return IntakeEntry(
            id=row_id,
            delivery_id=delivery_id,
            kind=kind,
            enrollment_id=enrollment_id,
            command_uuid=command_uuid,
            body=body,
            received_at=now,
            attempts=1,
        )

    async def has_earlier_pending(self, entry: IntakeEntry) -> bool:
        """True when an earlier ordered webhook of the same enrollment is not delivered yet."""
        stmt = select(
            exists().where(
                intake.c.enrollment_id == entry.enrollment_id,
                intake.c.kind == IntakeKind.CHECKIN.value,
                intake.c.state == PENDING,
                intake.c.id < entry.id,
            )
        )

        def read(conn: Connection) -> bool:
            return bool(conn.execute(stmt).scalar())

        return await self._db.transaction(read)

    async def claim_due(self, limit: int, lease: dt.timedelta) -> list[IntakeEntry]:
        """Lease up to ``limit`` due rows to this bridge, oldest first."""
        now = _now()
        earlier = aliased(intake)
        blocked = exists().where(
            earlier.c.enrollment_id == intake.c.enrollment_id,
            earlier.c.kind == IntakeKind.CHECKIN.value,
            earlier.c.state == PENDING,
            earlier.c.id < intake.c.id,
        )
        due = (
            select(intake.c.id)
            .where(
                intake.c.state == PENDING,
                intake.c.next_attempt_at <= now,
                ~and_(intake.c.kind == IntakeKind.CHECKIN.value, blocked),
            )
            .order_by(intake.c.id)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True, of=intake)
        stmt = (
            update(intake)
            .where(intake.c.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + lease, attempts=intake.c.attempts + 1)
            .returning(*_COLUMNS)
        )
        async with self._db.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        entries = [
            IntakeEntry(
                id=row.id,
                delivery_id=row.delivery_id,
                kind=IntakeKind(row.kind),
                enrollment_id=row.enrollment_id,
                command_uuid=row.command_uuid,
                body=row.body,
                received_at=_aware(row.received_at),
                attempts=row.attempts,
            )
            for row in rows
        ]
        return sorted(entries, key=lambda e: e.id)

    async def delivered(
        self, entry: IntakeEntry, also: Callable[[Connection], None] | None = None
    ) -> None:
        """Drop the delivered row; ``also`` runs in the same transaction (one commit where a
        report's route is dropped with it)."""

        def write(conn: Connection) -> None:
            conn.execute(_DELIVERED, {"row_id": entry.id})
            if also is not None:
                also(conn)

        await self._db.transaction(write)

    async def record(
        self,
        entry: IntakeEntry,
        outcome: IntakeOutcome,
        detail: str = "",
        also: Callable[[Connection], None] | None = None,
    ) -> None:
        """Keep a permanent outcome; the row is never claimed again. ``also`` runs in the same
        transaction (a report for a finished workflow drops its route with it)."""
        stmt = (
            update(intake)
            .where(intake.c.id == entry.id)
            .values(state=outcome.value, last_error=detail, body=b"")
        )

        def write(conn: Connection) -> None:
            conn.execute(stmt)
            if also is not None:
                also(conn)

        await self._db.transaction(write)

    async def retry_later(self, entry: IntakeEntry, delay: dt.timedelta, error: str) -> None:
        stmt = (
            update(intake)
            .where(intake.c.id == entry.id, intake.c.state == PENDING)
            .values(next_attempt_at=_now() + delay, last_error=error[:2000])
        )
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt)

    async def backlog(self) -> Backlog:
        """Pending count and age of the oldest, and the recorded outcomes by kind."""
        stmt = select(intake.c.state, func.count(), func.min(intake.c.received_at)).group_by(
            intake.c.state
        )
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        pending, oldest, recorded = 0, None, {}
        for state, count, first in rows:
            if state == PENDING:
                pending = int(count)
                oldest = (_now() - _aware(first)).total_seconds() if first else None
            else:
                recorded[str(state)] = int(count)
        return Backlog(pending=pending, oldest_pending_age_s=oldest, recorded=recorded)

    async def prune(self, older_than: dt.timedelta) -> int:
        """Drop recorded outcomes older than the retention; pending rows are never pruned."""
        stmt = delete(intake).where(
            intake.c.state != PENDING, intake.c.received_at < _now() - older_than
        )
        async with self._db.engine.begin() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount or 0)
