"""Workflow-configured events (NanoCMD Config.Events and AllCommandResponseRequestTypes):
the bridge starts the declaring handler workflow once per event it wants, NotNow included."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from mdmflow.workflows.models import EventType
from tests.events.collector import (
    CheckinHandler,
    CollectorWorkflow,
    ResponseHandler,
    collector_id,
)
from tests.support.reports import authenticate, check_out, post_checkin, post_idle, token_update
from tests.support.stack import running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"


async def test_declared_checkin_events_reach_the_handler(client: Client, tmp_path: Path) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=[CollectorWorkflow],
        extra_event_handlers=[CheckinHandler],
    ) as stack:
        eid = stack.sim.enrollment_ids()[0]
        collected = await client.start_workflow(
            CollectorWorkflow.run, 4, id=collector_id(eid), task_queue=stack.task_queue
        )
        url = stack.bridge_url
        assert (await post_checkin(url, eid, authenticate())).status_code == 200
        assert (await post_checkin(url, eid, token_update(), tally=1)).status_code == 200
        assert (await post_idle(url, eid, {"site": "lab"})).status_code == 200
        assert (await post_checkin(url, eid, check_out())).status_code == 200
        result = await collected.result()
    kinds = [d.event.type for d in result.deliveries]
    assert sorted(kinds) == sorted(
        [EventType.TOKEN_UPDATE, EventType.ENROLLMENT, EventType.IDLE, EventType.CHECK_OUT]
    )
    idle = next(d for d in result.deliveries if d.event.type is EventType.IDLE)
    assert idle.url_params == {"site": "lab"}
    assert all(d.enrollment_id == eid for d in result.deliveries)


async def test_every_response_of_a_wanted_type_reaches_the_handler_notnow_included(
    client: Client, tmp_path: Path
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=[CollectorWorkflow],
        extra_event_handlers=[ResponseHandler],
        simulator={"not_now_rate": 1.0},
    ) as stack:
        eid = stack.sim.enrollment_ids()[0]
        collected = await client.start_workflow(
            CollectorWorkflow.run, 2, id=collector_id(eid), task_queue=stack.task_queue
        )
        async with stack.api() as api:
            await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
        await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
        stack.sim.not_now_rate = 0.0
        stack.sim.push(eid)
        result = await collected.result()
        devinfo = await client.get_workflow_handle(f"{DEVINFOLOG}/{eid}").result()
    reports = [d.event.command_report for d in result.deliveries]
    assert all(r is not None for r in reports)
    statuses = [r.status.value for r in reports if r is not None]
    assert statuses == ["NotNow", "Acknowledged"]
    assert {r.request_type for r in reports if r is not None} == {"DeviceInformation"}
    assert devinfo["enrollment_id"] == eid
