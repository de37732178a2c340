"""An intake that keeps nothing, so the bench can measure what the durable intake costs.

With it the bridge delivers every webhook inline and forgets it, as it did before the intake
existed: a report that cannot be delivered at once is lost. Never used outside the bench.
"""

from __future__ import annotations

import datetime as dt
import itertools

from mdmflow.store.intake import Backlog, IntakeEntry, IntakeKind, IntakeOutcome, IntakeStore

_ids = itertools.count(1)


class UnrecordedIntakeStore(IntakeStore):
    async def accept(
        self,
        kind: IntakeKind,
        enrollment_id: str,
        command_uuid: str,
        body: bytes,
        lease: dt.timedelta,
    ) -> IntakeEntry:
        number = next(_ids)
        return IntakeEntry(
            id=number,
            delivery_id=f"00000000-0000-4000-8000-{number:012d}",
            kind=kind,
            enrollment_id=enrollment_id,
            command_uuid=command_uuid,
            body=body,
            received_at=dt.datetime.now(dt.UTC),
            attempts=1,
        )

    async def has_earlier_pending(self, entry: IntakeEntry) -> bool:
        return False

    async def claim_due(self, limit: int, lease: dt.timedelta) -> list[IntakeEntry]:
        return []

    async def delivered(self, entry: IntakeEntry) -> None:
        return None

    async def record(self, entry: IntakeEntry, outcome: IntakeOutcome, detail: str = "") -> None:
        return None

    async def retry_later(self, entry: IntakeEntry, delay: dt.timedelta, error: str) -> None:
        return None

    async def backlog(self) -> Backlog:
        return Backlog(pending=0, oldest_pending_age_s=None, recorded={})

    async def prune(self, older_than: dt.timedelta) -> int:
        return 0
