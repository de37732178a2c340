"""Event subscriptions (NanoCMD's ``/v1/event/{name}``): which workflow an MDM event starts.

A subscription's context is the start context of the workflows it starts, and may hold a
secret (certprof's text replacements, often a SCEP challenge): it is sealed at rest, bound to
the subscription's name, and opened for the bridge's starts and for an authenticated API
read. Rows written before sealing read as they were stored.
"""

from __future__ import annotations

import datetime as dt
import time

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import RowMapping, delete, select

from mdmflow.crypto.sealed import SecretBox
from mdmflow.store.database import Database
from mdmflow.store.dialect import upsert
from mdmflow.store.schema import event_subscriptions


class Subscription(BaseModel):
    """One named subscription; the JSON shape of NanoCMD's API."""

    model_config = ConfigDict(frozen=True)
    event: str
    workflow: str
    context: str = ""
    event_context: str = Field(default="")


class NamedSubscription(Subscription):
    name: str


CACHE_SECONDS = 5.0
"""How long a bridge reuses the subscriptions of an event. Every Idle report (the most
frequent webhook) looks up two events; a change made through another bridge replica shows
here within this time, one made through this one at once."""


def _sealing_context(name: str) -> str:
    return f"subscription/{name}"


class SubscriptionStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self._cache: dict[str | None, tuple[float, list[NamedSubscription]]] = {}

    async def put(self, name: str, sub: Subscription) -> None:
        row = {
            **sub.model_dump(),
            "name": name,
            "updated_at": dt.datetime.now(dt.UTC),
            "context_sealed": bool(sub.context),
        }
        if sub.context:
            row["context"] = self._box.seal(sub.context.encode(), _sealing_context(name))
        async with self._db.engine.begin() as conn:
            await conn.execute(upsert(self._db, event_subscriptions, ["name"]), row)
        self._cache.clear()

    async def get(self, name: str) -> Subscription | None:
        stmt = select(event_subscriptions).where(event_subscriptions.c.name == name)
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else Subscription.model_validate(self._opened(row))

    async def delete(self, name: str) -> bool:
        stmt = delete(event_subscriptions).where(event_subscriptions.c.name == name)
        async with self._db.engine.begin() as conn:
            deleted = (await conn.execute(stmt)).rowcount > 0
        self._cache.clear()
        return deleted

    async def for_event(self, event: str) -> list[NamedSubscription]:
        """The event's subscriptions, as of at most ``CACHE_SECONDS`` ago."""
        now = time.monotonic()
        cached = self._cache.get(event)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self.list(event)
        self._cache[event] = (now + CACHE_SECONDS, found)
        return found

    async def list(self, event: str | None = None) -> list[NamedSubscription]:
        stmt = select(event_subscriptions).order_by(event_subscriptions.c.name)
        if event is not None:
            stmt = stmt.where(event_subscriptions.c.event == event)
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [NamedSubscription.model_validate(self._opened(r)) for r in rows]

    def _opened(self, row: RowMapping) -> dict[str, object]:
        fields = dict(row)
        if fields.pop("context_sealed"):
            fields["context"] = self._box.open(
                str(fields["context"]), _sealing_context(str(fields["name"]))
            ).decode()
        return fields
