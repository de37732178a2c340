"""The enrollment IDs of fleet starts, in pages, until their fan-out has started them all.

A 10,000-ID start would make a 400 KB workflow input; Temporal histories should carry
references, not bulk data. The bridge (or ``mdmflow start``) writes the pages in one
transaction before it starts the fan-out, which reads one page per run and deletes the rows
when it ends. Rows a fan-out could not delete (terminated, or never started) are found by
:meth:`FleetIdStore.saved_before` and deleted by the bridge (``bridge/fleet_pages.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import and_, delete, func, insert, select

from mdmflow.store.database import Database
from mdmflow.store.schema import fleet_start_ids


class MissingPageError(LookupError):
    """The page is not stored: the instance's pages were deleted or never written."""


class FleetIdStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, instance_id: str, ids: Sequence[str], page_size: int) -> int:
        """Store ``ids`` in pages of ``page_size``; return how many pages."""
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "instance_id": instance_id,
                "page": number,
                "ids": json.dumps(list(ids[first : first + page_size])),
                "created_at": now,
            }
            for number, first in enumerate(range(0, len(ids), page_size))
        ]
        async with self._db.engine.begin() as conn:
            await conn.execute(insert(fleet_start_ids), rows)
        return len(rows)

    async def page(self, instance_id: str, page: int) -> list[str]:
        stmt = select(fleet_start_ids.c.ids).where(
            and_(fleet_start_ids.c.instance_id == instance_id, fleet_start_ids.c.page == page)
        )
        async with self._db.engine.connect() as conn:
            stored = (await conn.execute(stmt)).scalar_one_or_none()
        if stored is None:
            raise MissingPageError(f"page {page} of fleet start {instance_id} is not stored")
        ids = json.loads(stored)
        return [str(i) for i in ids]

    async def forget(self, instance_id: str) -> None:
        stmt = delete(fleet_start_ids).where(fleet_start_ids.c.instance_id == instance_id)
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt)

    async def saved_before(self, when: dt.datetime) -> list[str]:
        """The instances whose pages were stored before ``when``, oldest first."""
        stmt = (
            select(fleet_start_ids.c.instance_id)
            .where(fleet_start_ids.c.created_at < when)
            .group_by(fleet_start_ids.c.instance_id)
            .order_by(func.min(fleet_start_ids.c.created_at))
        )
        async with self._db.engine.connect() as conn:
            return [str(i) for i in (await conn.execute(stmt)).scalars()]
