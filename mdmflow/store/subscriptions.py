"""Event subscriptions (NanoCMD's ``/v1/event/{name}``): which workflow an MDM event starts."""

from __future__ import annotations

import datetime as dt
import time

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

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


class SubscriptionStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str | None, tuple[float, list[NamedSubscription]]] = {}

    async def put(self, name: str, sub: Subscription) -> None:
        row = {**sub.model_dump(), "name": name, "updated_at": dt.datetime.now(dt.UTC)}
        async with self._db.engine.begin() as conn:
            await conn.execute(upsert(self._db, event_subscriptions, ["name"]), row)
        self._cache.clear()

    async def get(self, name: str) -> Subscription | None:
        stmt = select(event_subscriptions).where(event_subscriptions.c.name == name)
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else Subscription.model_validate(dict(row))

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
        return [NamedSubscription.model_validate(dict(r)) for r in rows]
