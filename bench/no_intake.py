"""An intake that commits nothing, so the bench can measure what the durable intake costs.

It keeps pending webhooks in this process's memory instead of the app database: the bridge
still answers, delivers inline, and leaves what it could not deliver to its relay, exactly as
with the real intake; only the database writes (and the durability they buy) are gone. An
earlier version kept nothing at all, and once one inline delivery on a loaded machine took
over 5 s the bridge left every later webhook to a relay that had none: the scenario stalled.
Never used outside the bench.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from mdmflow.store.database import Database
from mdmflow.store.intake import Backlog, IntakeEntry, IntakeKind, IntakeOutcome, IntakeStore


@dataclass
class _Pending:
    entry: IntakeEntry
    due: float
    """``time.monotonic()`` when the relay may claim it."""


class UnrecordedIntakeStore(IntakeStore):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._recorded: Counter[str] = Counter()

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
        """Keeps the webhook in memory; ``also`` (a report's route to read) still runs, in a
        transaction of its own, as in :meth:`delivered`."""
        if also is not None:
            await self._db.transaction(also)
        number = next(self._ids)
        entry = IntakeEntry(
            id=number,
            delivery_id=delivery_id or f"00000000-0000-4000-8000-{number:012d}",
            kind=kind,
            enrollment_id=enrollment_id,
            command_uuid=command_uuid,
            body=body,
            received_at=dt.datetime.now(dt.UTC),
            attempts=1,
        )
        self._pending[number] = _Pending(entry, time.monotonic() + lease.total_seconds())
        return entry

    async def has_earlier_pending(self, entry: IntakeEntry) -> bool:
        return self._blocked(entry)

    async def claim_due(self, limit: int, lease: dt.timedelta) -> list[IntakeEntry]:
        now = time.monotonic()
        claimed: list[IntakeEntry] = []
        for number in sorted(self._pending):
            if len(claimed) >= limit:
                break
            pending = self._pending[number]
            if pending.due > now or (pending.entry.kind.ordered and self._blocked(pending.entry)):
                continue
            pending.entry = replace(pending.entry, attempts=pending.entry.attempts + 1)
            pending.due = now + lease.total_seconds()
            claimed.append(pending.entry)
        return claimed

    async def delivered(
        self, entry: IntakeEntry, also: Callable[[Connection], None] | None = None
    ) -> None:
        """Forgets the webhook; ``also`` (a final report's route to drop) still runs, in a
        transaction of its own: the routes are the real store's."""
        self._pending.pop(entry.id, None)
        if also is not None:
            await self._db.transaction(also)

    async def record(
        self,
        entry: IntakeEntry,
        outcome: IntakeOutcome,
        detail: str = "",
        also: Callable[[Connection], None] | None = None,
    ) -> None:
        """Counts the outcome; ``also`` still runs, as in :meth:`delivered`."""
        if self._pending.pop(entry.id, None) is not None:
            self._recorded[outcome.value] += 1
        if also is not None:
            await self._db.transaction(also)

    async def retry_later(self, entry: IntakeEntry, delay: dt.timedelta, error: str) -> None:
        pending = self._pending.get(entry.id)
        if pending is not None:
            pending.due = time.monotonic() + delay.total_seconds()

    async def backlog(self) -> Backlog:
        oldest = min((p.entry.received_at for p in self._pending.values()), default=None)
        age = (dt.datetime.now(dt.UTC) - oldest).total_seconds() if oldest else None
        return Backlog(
            pending=len(self._pending), oldest_pending_age_s=age, recorded=dict(self._recorded)
        )

    async def prune(self, older_than: dt.timedelta) -> int:
        return 0

    def _blocked(self, entry: IntakeEntry) -> bool:
        """An earlier check-in of the same enrollment is still pending (delivery order)."""
        return any(
            number < entry.id
            and p.entry.kind.ordered
            and p.entry.enrollment_id == entry.enrollment_id
            for number, p in self._pending.items()
        )
