"""The engine's activities, run by ``ActivityEnvironment`` against the simulator and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from mdmflow.activities.mdm_client import MDMClient, MDMServer
from mdmflow.activities.models import (
    EnqueueStep,
    PayloadRef,
    PushRequest,
)
from mdmflow.failures import MDM_REJECTED, STORED_VALUE_MISSING
from mdmflow.mdm.commands import DeviceInformation, SecurityInfo
from mdmflow.simulator import Mode
from mdmflow.store.database import Database
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.routes import Route, RouteStore
from mdmflow.workflows import engine
from tests.activities.conftest import MDM, closed_port_url, simulated_mdm
from tests.activities.helpers import ENGINE, WORKFLOW_ID, activities, step


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path}/app.db")
    try:
        yield database
    finally:
        await database.close()


async def routes_of(db: Database, req: EnqueueStep) -> list[Route | None]:
    store = RouteStore(db)
    return [
        await store.lookup(eid, qc.command_uuid)
        for eid in req.enrollment_ids
        for qc in req.commands
    ]


def test_the_engine_does_not_retry_what_the_activities_call_final() -> None:
    assert MDM_REJECTED in (engine.ENQUEUE_RETRY.non_retryable_error_types or [])
    assert STORED_VALUE_MISSING in (engine.ENQUEUE_RETRY.non_retryable_error_types or [])


@pytest.mark.parametrize("mode", ["nanomdm", "micromdm"])
async def test_enqueue_step_records_routes_and_enqueues_every_command(
    http: aiohttp.ClientSession, webhook_url: str, db: Database, mode: Mode
) -> None:
    async with simulated_mdm(http, webhook_url, mode, devices=2) as mdm:
        ids = mdm.sim.enrollment_ids()
        req = step(ids, DeviceInformation(queries=["UDID"]), SecurityInfo())

        await ActivityEnvironment().run(activities(mdm.client, db).enqueue_step, req)

        routes = await routes_of(db, req)
        assert all(r is not None and r.workflow_id == WORKFLOW_ID for r in routes)
        assert [r.request_type for r in routes if r] == [
            "DeviceInformation",
            "SecurityInfo",
        ] * 2
        assert_one_push_per_step(mdm, mode, ids, len(req.commands))
        await mdm.sim.wait_until_quiet()
        assert mdm.sim.stats.reports["Acknowledged"] == 4


def assert_one_push_per_step(mdm: MDM, mode: Mode, ids: list[str], commands: int) -> None:
    if mode == "nanomdm":
        puts = mdm.requests("PUT", "/v1/enqueue/")
        assert len(puts) == commands
        # every command but the last waits; the last one's enqueue pushes, once per step
        assert [q for _, q, _ in puts] == [{"nopush": "1"}] * (commands - 1) + [{}]
        assert mdm.requests("GET", "/v1/push/") == []
    else:
        assert len(mdm.requests("POST", "/v1/commands/")) == commands * len(ids)
        assert mdm.requests("GET", "/push/") == []


async def test_a_retried_enqueue_step_succeeds(
    http: aiohttp.ClientSession, webhook_url: str, db: Database
) -> None:
    """Temporal retries with the same UUIDs: routes and commands are recorded once."""
    async with simulated_mdm(http, webhook_url, devices=1) as mdm:
        req = step(mdm.sim.enrollment_ids(), SecurityInfo())
        acts = activities(mdm.client, db)
        await ActivityEnvironment().run(acts.enqueue_step, req)
        await ActivityEnvironment().run(acts.enqueue_step, req)
        assert mdm.sim.stats.commands_enqueued == 1
        assert all(r is not None for r in await routes_of(db, req))


@pytest.mark.parametrize("mode", ["nanomdm", "micromdm"])
async def test_rejected_enqueue_fails_for_good_with_routes_already_recorded(
    http: aiohttp.ClientSession, webhook_url: str, db: Database, mode: Mode
) -> None:
    async with simulated_mdm(http, webhook_url, mode, devices=1) as mdm:
        req = step(["NOT-ENROLLED"], SecurityInfo())
        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(activities(mdm.client, db).enqueue_step, req)
        error = raised.value
        assert error.type == MDM_REJECTED
        assert error.non_retryable
        assert "NOT-ENROLLED" in error.message
        assert "unknown enrollment id" in error.message
        # The MDM server refused it, yet the route was written first.
        [route] = await routes_of(db, req)
        assert route is not None
        assert route.workflow_id == WORKFLOW_ID
        assert route.request_type == "SecurityInfo"
        assert route.step == "one"
        assert mdm.requests("GET", "/v1/push/") == []  # no push of its own after a rejection


async def test_unreachable_server_fails_retryably(
    http: aiohttp.ClientSession, db: Database
) -> None:
    base = closed_port_url()
    server = MDMServer(f"{base}/v1/enqueue/", f"{base}/v1/push/", "nanomdm", "key")
    acts = activities(MDMClient(server, http), db)
    req = step(["A"], SecurityInfo())
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(acts.enqueue_step, req)
    assert not raised.value.non_retryable
    assert raised.value.type != MDM_REJECTED
    assert "unreachable" in raised.value.message
    assert all(r is not None for r in await routes_of(db, req))

    with pytest.raises(ApplicationError) as pushed:
        await ActivityEnvironment().run(acts.push, PushRequest(enrollment_ids=["A"]))
    assert not pushed.value.non_retryable


async def test_wrong_credentials_fail_for_good(
    http: aiohttp.ClientSession, webhook_url: str, db: Database
) -> None:
    async with simulated_mdm(http, webhook_url, devices=1, api_key="wrong") as mdm:
        ids = mdm.sim.enrollment_ids()
        acts = activities(mdm.client, db)
        with pytest.raises(ApplicationError) as enqueued:
            await ActivityEnvironment().run(acts.enqueue_step, step(ids, SecurityInfo()))
        with pytest.raises(ApplicationError) as pushed:
            await ActivityEnvironment().run(acts.push, PushRequest(enrollment_ids=ids))
        for error in (enqueued.value, pushed.value):
            assert error.type == MDM_REJECTED
            assert error.non_retryable
            assert "credentials" in error.message


async def test_push_wakes_the_devices(
    http: aiohttp.ClientSession, webhook_url: str, db: Database
) -> None:
    async with simulated_mdm(http, webhook_url, devices=2) as mdm:
        ids = mdm.sim.enrollment_ids()
        await ActivityEnvironment().run(
            activities(mdm.client, db).push, PushRequest(enrollment_ids=ids)
        )
        assert mdm.sim.stats.pushes == 2


async def test_report_payload_round_trip(http: aiohttp.ClientSession, db: Database) -> None:
    unused = MDMServer(closed_port_url(), closed_port_url(), "nanomdm", "key")
    acts = activities(MDMClient(unused, http), db)
    ref = PayloadStore.ref_for("DEVICE:USER", "UUID-1")
    await PayloadStore(db).put(ref, {"QueryResponses": {"UDID": "DEVICE"}})
    stored = await ActivityEnvironment().run(acts.load_report_payload, PayloadRef(ref=ref))
    assert stored.payload == {"QueryResponses": {"UDID": "DEVICE"}}

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(acts.load_report_payload, PayloadRef(ref="missing/ref"))
    assert raised.value.type == "PayloadNotFound"
    assert raised.value.non_retryable

    assert await ActivityEnvironment().run(acts.engine_settings) == ENGINE
