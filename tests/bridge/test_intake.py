"""The durable intake through the real bridge: recorded outcomes, the relay picking up what a
dead bridge left, check-ins kept in order, and 503 only when the app database is down."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, func, select
from temporalio.client import Client, WorkflowExecutionStatus

from mdmflow.activities.models import EngineSettings
from mdmflow.bridge.intake import IntakeTiming
from mdmflow.store.database import Database
from mdmflow.store.intake import IntakeEntry, IntakeKind, IntakeStore
from mdmflow.store.routes import Route, RouteStore
from mdmflow.store.schema import command_routes
from mdmflow.workflows.carried_route import CarriedRoute, carried_route
from mdmflow.workflows.models import WorkflowStart
from tests.bridge.helpers import (
    DEVINFOLOG,
    acknowledged_body,
    enqueued_uuids,
    signal_count,
    workflow_id,
)
from tests.support.intake import PATIENCE_S, backlog, until
from tests.support.postgres import EphemeralPostgres, unique_database_name
from tests.support.reports import (
    authenticate,
    checkin_event,
    post_checkin,
    post_idle,
    token_update,
)
from tests.support.runs import exists
from tests.support.stack import Stack, running_stack
from tests.support.subscriptions import subscribe

CUSTOM_ID = "a-workflow-id-of-the-starters-choosing"
HELD = dt.timedelta(minutes=10)
"""A lease long enough that only a test's own release lets the relay have the row."""


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """Devices answer NotNow, so started workflows keep waiting in their first step."""
    async with running_stack(
        client, f"sqlite+aiosqlite:///{tmp_path}/app.db", simulator={"not_now_rate": 1.0}
    ) as running:
        yield running


async def test_a_report_for_an_unknown_command_is_answered_and_recorded(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    async with httpx.AsyncClient(base_url=stack.bridge_url) as http:
        reply = await http.post("/webhook", content=acknowledged_body(eid, "no-such-command"))
    assert reply.status_code == 200
    assert await backlog(stack) == {
        "pending": 0,
        "oldest_pending_age_s": None,
        "recorded": {"unrouted": 1},
    }


async def _waiting_devinfolog(stack: Stack) -> tuple[str, str]:
    """A devinfolog started on the first device, its command answered NotNow once: the
    enrollment ID and the command UUID whose final report the workflow still waits for."""
    eid = stack.sim.enrollment_ids()[0]
    async with stack.api() as api:
        reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
    assert reply.status_code == 200, reply.text
    await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
    [command_uuid] = enqueued_uuids(stack.sim, eid)
    return eid, command_uuid


async def test_the_relay_delivers_what_a_dead_bridge_accepted(client: Client, stack: Stack) -> None:
    eid, command_uuid = await _waiting_devinfolog(stack)
    # committed by a bridge that died before delivering: its lease has run out
    await IntakeStore(stack.db).accept(
        IntakeKind.REPORT, eid, command_uuid, acknowledged_body(eid, command_uuid), dt.timedelta(0)
    )
    handle = client.get_workflow_handle(workflow_id(eid))
    async with asyncio.timeout(PATIENCE_S):
        await handle.result()
    assert (await backlog(stack))["pending"] == 0


async def _waiting_bare_devinfolog(stack: Stack) -> tuple[str, str]:
    """As :func:`_waiting_devinfolog`, for a run whose command UUID is bare: one started under
    a workflow ID of its starter's choosing, whose route the bridge could not rebuild."""
    eid = stack.sim.enrollment_ids()[0]
    await stack.client.start_workflow(
        DEVINFOLOG,
        WorkflowStart(enrollment_id=eid, engine=EngineSettings.for_new_start()),
        id=CUSTOM_ID,
        task_queue=stack.settings.task_queue,
    )
    await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
    [command_uuid] = enqueued_uuids(stack.sim, eid)
    assert carried_route(command_uuid) is None
    return eid, command_uuid


async def test_a_report_delivered_at_once_takes_the_route_read_as_it_was_accepted(
    client: Client, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inline delivery uses the route read in the transaction that accepted the report; only
    the relay, delivering a row read back later, looks a route up on its own. (A bare UUID:
    one that carries its route needs no read at all.)"""
    lookups: list[str] = []
    real_lookup = RouteStore.lookup

    async def counted(routes: RouteStore, enrollment_id: str, command_uuid: str) -> Route | None:
        lookups.append(command_uuid)
        return await real_lookup(routes, enrollment_id, command_uuid)

    monkeypatch.setattr(RouteStore, "lookup", counted)
    eid, command_uuid = await _waiting_bare_devinfolog(stack)
    async with httpx.AsyncClient(base_url=stack.bridge_url) as http:
        reply = await http.post("/webhook", content=acknowledged_body(eid, command_uuid))
    assert reply.status_code == 200
    async with asyncio.timeout(PATIENCE_S):
        await client.get_workflow_handle(CUSTOM_ID).result()
    assert lookups == [], "the NotNow and the Acknowledged were routed without a lookup"


def counting_stack(
    client: Client, tmp_path: Path, **options: Any
) -> AbstractAsyncContextManager[tuple[Stack, CountingIntakeStore]]:
    """A one-device stack whose intake counts what it keeps."""

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[tuple[Stack, CountingIntakeStore]]:
        stores: list[CountingIntakeStore] = []

        def counting(db: Database) -> IntakeStore:
            stores.append(CountingIntakeStore(db))
            return stores[-1]

        async with running_stack(
            client,
            f"sqlite+aiosqlite:///{tmp_path}/app.db",
            devices=1,
            intake_store=counting,
            **options,
        ) as stack:
            yield stack, stores[0]

    return running()


async def routes_recorded(stack: Stack) -> int:
    async with stack.db.engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(command_routes))).scalar_one()
        )


async def devinfolog_done(stack: Stack) -> str:
    """Start devinfolog on the stack's one device through the API; its ID once it is done."""
    [eid] = stack.sim.enrollment_ids()
    async with stack.api() as api:
        reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
    assert reply.status_code == 200, reply.text
    async with asyncio.timeout(PATIENCE_S):
        await stack.client.get_workflow_handle(workflow_id(eid)).result()
    return eid


async def test_a_step_whose_uuid_carries_its_route_touches_no_table(
    client: Client, tmp_path: Path
) -> None:
    """The worker records no route and the bridge keeps nothing: the report is signalled
    before anything is stored, and nothing needed storing."""
    async with counting_stack(client, tmp_path) as (stack, store):
        eid = await devinfolog_done(stack)
        [command_uuid] = enqueued_uuids(stack.sim, eid)
        assert carried_route(command_uuid) == CarriedRoute("DeviceInformation", DEVINFOLOG)
        assert stack.sim.stats.reports["Acknowledged"] == 1
        assert store.accepted == []
        assert await routes_recorded(stack) == 0
        assert (await backlog(stack))["recorded"] == {}


async def test_a_carried_report_not_delivered_in_time_is_kept_and_relayed(
    client: Client, tmp_path: Path
) -> None:
    """No time at all for inline delivery: the report is committed before it is answered,
    and the relay delivers it."""
    timing = IntakeTiming(inline_timeout=dt.timedelta(0))
    async with counting_stack(client, tmp_path, intake_timing=timing) as (stack, store):
        await devinfolog_done(stack)
        assert store.accepted == [IntakeKind.REPORT]
        assert stack.sim.stats.webhook_failures == 0

        async def drained() -> bool:
            return bool((await backlog(stack))["pending"] == 0)

        await until(drained)
        # The inline signal is abandoned, not undone: where it still reached the workflow,
        # the relay's delivery finds the run ended, and that is what it records.
        assert set((await backlog(stack))["recorded"]) <= {"workflow_gone"}


async def test_a_carried_route_reaches_only_the_answering_devices_workflows(
    client: Client, stack: Stack
) -> None:
    """A report echoing another device's UUID is routed by the enrollment the webhook names:
    to a workflow of its own (none runs here), never to the device whose UUID it copied."""
    eid, command_uuid = await _waiting_devinfolog(stack)
    handle = client.get_workflow_handle(workflow_id(eid))

    async def its_not_now_arrived() -> bool:
        return await signal_count(handle) == 1

    await until(its_not_now_arrived)
    other = stack.sim.enrollment_ids()[1]
    async with httpx.AsyncClient(base_url=stack.bridge_url) as http:
        reply = await http.post("/webhook", content=acknowledged_body(other, command_uuid))
    assert reply.status_code == 200
    assert (await backlog(stack))["recorded"] == {"workflow_gone": 1}
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert await signal_count(handle) == 1, "only its own NotNow"


async def test_a_check_in_waits_for_the_earlier_one_of_its_enrollment(
    client: Client, stack: Stack
) -> None:
    await subscribe(stack, "on-enroll", "Enrollment")
    eid = stack.sim.enrollment_ids()[0]
    store = IntakeStore(stack.db)
    body = json.dumps(checkin_event(eid, authenticate())).encode()
    held = await store.accept(IntakeKind.CHECKIN, eid, "", body, HELD)
    reply = await post_checkin(stack.bridge_url, eid, token_update(), tally=1)
    assert reply.status_code == 200
    assert (await backlog(stack))["pending"] == 2, "the TokenUpdate waits behind Authenticate"
    assert not await exists(client, workflow_id(eid))
    await store.retry_later(held, dt.timedelta(0), "released by the test")

    async def drained() -> bool:
        return bool((await backlog(stack))["pending"] == 0)

    await until(drained)
    # Authenticate's cancel ran first, so the Enrollment start that followed still runs.
    description = await client.get_workflow_handle(workflow_id(eid)).describe()
    assert description.status == WorkflowExecutionStatus.RUNNING


class CountingIntakeStore(IntakeStore):
    """The real store, counting what it was asked to keep, by kind."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.accepted: list[IntakeKind] = []

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
        self.accepted.append(kind)
        return await super().accept(
            kind, enrollment_id, command_uuid, body, lease, also, delivery_id
        )


async def test_an_idle_nothing_listens_to_is_answered_without_being_kept(
    client: Client, tmp_path: Path
) -> None:
    stores: list[CountingIntakeStore] = []

    def counting(db: Database) -> IntakeStore:
        stores.append(CountingIntakeStore(db))
        return stores[-1]

    async with running_stack(
        client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=1, intake_store=counting
    ) as stack:
        [store] = stores
        eid = stack.sim.enrollment_ids()[0]
        assert (await post_idle(stack.bridge_url, eid)).status_code == 200
        assert store.accepted == [], "no subscription, no handler: nothing to deliver or keep"

        await subscribe(stack, "on-idle", "Idle")
        assert (await post_idle(stack.bridge_url, eid)).status_code == 200
        assert store.accepted == [IntakeKind.IDLE]
        assert await exists(client, workflow_id(eid)), "the Idle subscription's workflow started"


async def test_the_bridge_answers_503_only_when_the_app_database_is_down(
    client: Client, postgres_server: EphemeralPostgres, tmp_path: Path
) -> None:
    name = unique_database_name()
    url = await asyncio.to_thread(postgres_server.create_database, name)
    async with running_stack(client, url) as stack:
        eid = stack.sim.enrollment_ids()[0]
        async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
            assert (await http.post("/webhook", content=acknowledged_body(eid, "x"))).is_success
            await asyncio.to_thread(postgres_server.drop_database, name)
            reply = await http.post("/webhook", content=acknowledged_body(eid, "y"))
            bad = await http.post("/webhook", content=b"{}")
    assert reply.status_code == 503
    assert reply.json()["error"].startswith("app database unavailable")
    assert bad.status_code == 400, "bad input is refused before the database is needed"
