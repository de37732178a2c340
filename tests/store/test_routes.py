"""RouteStore on both backends."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from sqlalchemy import Connection

from mdmflow.store.database import Database
from mdmflow.store.intake import IntakeKind, IntakeStore
from mdmflow.store.routes import Route, RouteRead, RouteStore, forget_route
from mdmflow.store.starts import WorkflowStartStore


def _route(enrollment_id: str = "dev-1", command_uuid: str = "uuid-1", **fields: str) -> Route:
    values = {
        "workflow_id": "wf-1",
        "workflow_name": "io.micromdm.wf.example.v1",
        "request_type": "DeviceInformation",
        "step": "step-1",
        **fields,
    }
    return Route(enrollment_id=enrollment_id, command_uuid=command_uuid, **values)


@pytest.fixture
def routes(database: Database) -> RouteStore:
    return RouteStore(database)


async def test_record_then_lookup(routes: RouteStore) -> None:
    route = _route()
    await routes.record([route])
    assert await routes.lookup("dev-1", "uuid-1") == route


async def test_lookup_unknown_is_none(routes: RouteStore) -> None:
    assert await routes.lookup("dev-1", "nope") is None
    await routes.record([_route()])
    assert await routes.lookup("dev-2", "uuid-1") is None
    assert await routes.lookup("dev-1", "uuid-2") is None


async def test_record_nothing_is_a_no_op(routes: RouteStore) -> None:
    await routes.record([])
    assert await routes.lookup("dev-1", "uuid-1") is None


async def test_a_first_enqueue_records_its_start_in_the_routes_commit(
    routes: RouteStore, database: Database
) -> None:
    starts = WorkflowStartStore(database)
    at = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    await routes.record([_route()], also=starts.writer("dev-1", "wf.name", "wf-1", at))
    assert await routes.lookup("dev-1", "uuid-1") == _route()
    assert await starts.last_started("dev-1", "wf.name") == at


async def test_routes_are_not_recorded_when_the_start_record_fails(
    routes: RouteStore, database: Database
) -> None:
    def failing(conn: Connection) -> None:
        raise RuntimeError("the start record failed")

    with pytest.raises(RuntimeError, match="start record failed"):
        await routes.record([_route()], also=failing)
    assert await routes.lookup("dev-1", "uuid-1") is None


async def test_re_recording_keeps_the_first_route(routes: RouteStore) -> None:
    first = _route(workflow_id="wf-first")
    await routes.record([first])
    await routes.record([first])
    await routes.record([_route(workflow_id="wf-retry", step="step-2")])
    assert await routes.lookup("dev-1", "uuid-1") == first


async def test_forget_removes_the_route(routes: RouteStore, database: Database) -> None:
    await routes.record([_route(), _route("dev-2")])
    await database.transaction(partial(forget_route, "dev-1", "uuid-1"))
    assert await routes.lookup("dev-1", "uuid-1") is None
    assert await routes.lookup("dev-2", "uuid-1") is not None
    # forgetting again is harmless
    await database.transaction(partial(forget_route, "dev-1", "uuid-1"))


async def test_one_uuid_for_two_enrollments_is_two_routes(
    routes: RouteStore, database: Database
) -> None:
    a = _route("dev-a", "shared-uuid", workflow_id="wf-a")
    b = _route("dev-b", "shared-uuid", workflow_id="wf-b")
    await routes.record([a, b])
    assert await routes.lookup("dev-a", "shared-uuid") == a
    assert await routes.lookup("dev-b", "shared-uuid") == b
    await database.transaction(partial(forget_route, "dev-a", "shared-uuid"))
    assert await routes.lookup("dev-a", "shared-uuid") is None
    assert await routes.lookup("dev-b", "shared-uuid") == b


async def test_routes_survive_reopening(database: Database, database_url: str) -> None:
    await RouteStore(database).record([_route()])
    reopened = await Database.open(database_url)
    try:
        assert await RouteStore(reopened).lookup("dev-1", "uuid-1") == _route()
    finally:
        await reopened.close()


async def test_a_report_is_accepted_with_its_route_read_in_one_transaction(
    routes: RouteStore, database: Database
) -> None:
    await routes.record([_route()])
    intake = IntakeStore(database)
    known, unknown = RouteRead("dev-1", "uuid-1"), RouteRead("dev-1", "uuid-2")
    assert not known.done, "nothing is read before the transaction runs"
    for read in (known, unknown):
        await intake.accept(IntakeKind.REPORT, "dev-1", "uuid-1", b"{}", dt.timedelta(0), read)
    assert (known.done, known.route) == (True, _route())
    assert (unknown.done, unknown.route) == (True, None), "read and not found, not unread"
    assert (await intake.backlog()).pending == 2
