"""Command routes: which workflow waits for the report of (enrollment ID, command UUID).

Written by the enqueue activity *before* the MDM server sees the command, so a report can never
arrive for a command the bridge cannot route. Only bare UUIDs have one: runs started by earlier
code, and routes too long or a workflow ID too unusual to carry (``workflows.carried_route``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, and_, bindparam, delete, select

from mdmflow.store.database import Database
from mdmflow.store.dialect import insert_ignore
from mdmflow.store.schema import command_routes


class Route(BaseModel):
    model_config = ConfigDict(frozen=True)
    enrollment_id: str
    command_uuid: str
    workflow_id: str
    workflow_name: str
    request_type: str
    step: str


_BY_KEY = and_(
    command_routes.c.enrollment_id == bindparam("eid"),
    command_routes.c.command_uuid == bindparam("uuid"),
)
_LOOKUP = select(command_routes).where(_BY_KEY)
_FORGET = delete(command_routes).where(_BY_KEY)
"""Built once: the bridge runs these for every report, and building a statement costs more
than running it (SQLAlchemy then reuses the compiled form too)."""


class RouteStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, routes: Sequence[Route], also: Callable[[Connection], None] | None = None
    ) -> None:
        """Insert routes; re-recording the same (ID, UUID) on an activity retry is a no-op.
        ``also`` runs in the same transaction (a run's first enqueue records its start)."""
        if not routes and also is None:
            return
        now = dt.datetime.now(dt.UTC)
        rows = [{**r.model_dump(), "created_at": now} for r in routes]
        stmt = insert_ignore(self._db, command_routes, ["enrollment_id", "command_uuid"])

        def write(conn: Connection) -> None:
            if rows:
                conn.execute(stmt, rows)
            if also is not None:
                also(conn)

        await self._db.transaction(write)

    async def lookup(self, enrollment_id: str, command_uuid: str) -> Route | None:
        return await self._db.transaction(partial(lookup_route, enrollment_id, command_uuid))


def lookup_route(enrollment_id: str, command_uuid: str, conn: Connection) -> Route | None:
    """The route of one command, in a transaction of the caller's."""
    row = conn.execute(_LOOKUP, {"eid": enrollment_id, "uuid": command_uuid}).mappings().first()
    if row is None:
        return None
    return Route.model_validate({k: row[k] for k in Route.model_fields})


class RouteRead:
    """A report's route, read inside the transaction that accepts the report into the intake
    (``IntakeStore.accept``'s ``also``): the inline delivery then needs no transaction of
    its own to find its workflow. ``done`` tells a route not found from one not read."""

    def __init__(self, enrollment_id: str, command_uuid: str) -> None:
        self._key = (enrollment_id, command_uuid)
        self.route: Route | None = None
        self.done = False

    def __call__(self, conn: Connection) -> None:
        self.route = lookup_route(*self._key, conn)
        self.done = True


def forget_route(enrollment_id: str, command_uuid: str, conn: Connection) -> None:
    """Drop a route once its command has a final answer or its workflow is gone (later
    duplicates are then ignored), inside a transaction of the caller's: the bridge drops it in
    the one that ends the report's webhook in the intake."""
    conn.execute(_FORGET, {"eid": enrollment_id, "uuid": command_uuid})
