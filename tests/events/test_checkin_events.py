"""Check-in events on the real stack: Enrollment and its tally rule, subscriptions starting
workflows with URL params, Authenticate/CheckOut cancelling, Idle and IdleNotStartedSince."""

from __future__ import annotations

import base64
import datetime as dt
import plistlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from mdmflow.bridge.events import not_started_since
from mdmflow.mdm.checkin import TokenUpdate
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.workflows.models import EventType, WorkflowStart
from tests.support.history import events, wait_for_event
from tests.support.reports import (
    authenticate,
    check_out,
    post_checkin,
    post_idle,
    post_report,
    token_update,
)
from tests.support.runs import exists
from tests.support.stack import Stack, running_stack
from tests.support.subscriptions import subscribe

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
CANCELED = WorkflowExecutionStatus.CANCELED


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """Devices answer NotNow, so started workflows keep waiting in their first step."""
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=2,
        simulator={"not_now_rate": 1.0},
    ) as running:
        yield running


async def start_input(client: Client, handle: WorkflowHandle[Any, Any]) -> WorkflowStart:
    first = (await events(handle))[0].workflow_execution_started_event_attributes
    [value] = await client.data_converter.decode(list(first.input.payloads), [WorkflowStart])
    assert isinstance(value, WorkflowStart)
    return value


async def test_enrollment_subscription_starts_with_event_and_url_params(stack: Stack) -> None:
    await subscribe(stack, "on-enroll", "Enrollment", context="ctx-1")
    eid = stack.sim.enrollment_ids()[0]
    reply = await post_checkin(
        stack.bridge_url,
        eid,
        token_update(awaiting_configuration=True),
        tally=1,
        url_params={"group": "lab"},
    )
    assert reply.status_code == 200, reply.text
    start = await start_input(stack.client, stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}"))
    assert start.enrollment_id == eid
    assert start.context == "ctx-1"
    assert start.url_params == {"group": "lab"}
    assert start.event is not None
    assert start.event.type is EventType.ENROLLMENT
    assert start.event.token_update_tally == 1
    assert isinstance(start.event.checkin, TokenUpdate)
    assert start.event.checkin.awaiting_configuration
    assert start.event.checkin.token == b"\x01\x02\x03\x04"


@pytest.mark.parametrize(
    ("tally", "enrollment"), [(1, True), (2, False), (None, True)], ids=["1", "2", "none"]
)
async def test_token_update_tally_decides_enrollment(
    stack: Stack, tally: int | None, enrollment: bool
) -> None:
    await subscribe(stack, "on-enroll", "Enrollment")
    eid = stack.sim.enrollment_ids()[0]
    assert (
        await post_checkin(stack.bridge_url, eid, token_update(), tally=tally)
    ).status_code == 200
    assert await exists(stack.client, f"{DEVINFOLOG}/{eid}") is enrollment


async def test_token_update_subscription_fires_on_every_token_update(stack: Stack) -> None:
    await subscribe(stack, "on-token", "TokenUpdate")
    eid = stack.sim.enrollment_ids()[0]
    assert (await post_checkin(stack.bridge_url, eid, token_update(), tally=7)).status_code == 200
    start = await start_input(stack.client, stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}"))
    assert start.event is not None
    assert start.event.type is EventType.TOKEN_UPDATE


async def test_already_running_subscription_start_is_not_an_error(stack: Stack) -> None:
    await subscribe(stack, "on-enroll", "Enrollment")
    eid = stack.sim.enrollment_ids()[0]
    for _ in range(2):
        assert (
            await post_checkin(stack.bridge_url, eid, token_update(), tally=1)
        ).status_code == 200


@pytest.mark.parametrize("message", [authenticate(), check_out()], ids=["Authenticate", "CheckOut"])
async def test_authenticate_and_checkout_cancel_waiting_workflows(
    stack: Stack, message: dict[str, Any]
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    async with stack.api() as api:
        first = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
    assert first.status_code == 200
    handle = stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}")
    await wait_for_event(handle, HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    first_run = (await handle.describe()).run_id

    reply = await post_checkin(stack.bridge_url, eid, message)
    assert reply.status_code == 200, reply.text
    old = stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}", run_id=first_run)
    assert (await old.describe()).status == CANCELED
    history = await events(old)
    requested = [
        e.workflow_execution_cancel_requested_event_attributes
        for e in history
        if e.event_type == HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
    ]
    assert message["MessageType"] in requested[0].cause
    assert await WorkflowStartStore(stack.db).last_started(eid, DEVINFOLOG) is None

    async with stack.api() as api:
        again = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
    assert again.status_code == 200, again.text


async def test_a_late_report_for_a_cancelled_workflow_is_ignored(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    async with stack.api() as api:
        await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
    handle = stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}")
    await wait_for_event(handle, HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    enqueue = next(r for r in stack.sim.requests if r.path.startswith("/v1/enqueue/"))
    command_uuid = enqueue.body.split(b"<key>CommandUUID</key>")[1].split(b"<string>")[1]
    command_uuid = command_uuid.split(b"</string>")[0]
    assert (await post_checkin(stack.bridge_url, eid, authenticate())).status_code == 200
    late = await post_report(
        stack.bridge_url,
        eid,
        {"Status": "Acknowledged", "CommandUUID": command_uuid.decode(), "QueryResponses": {}},
    )
    assert late.status_code == 200
    assert (await handle.describe()).status == CANCELED


async def test_idle_subscription_fires_on_idle(stack: Stack) -> None:
    await subscribe(stack, "on-idle", "Idle")
    eid = stack.sim.enrollment_ids()[1]
    assert (await post_idle(stack.bridge_url, eid)).status_code == 200
    start = await start_input(stack.client, stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}"))
    assert start.event is not None
    assert start.event.type is EventType.IDLE


@pytest.mark.parametrize(
    ("started_ago", "starts"),
    [(None, True), (dt.timedelta(seconds=3600 + 120), True), (dt.timedelta(seconds=3000), False)],
    ids=["never", "after", "before"],
)
async def test_idle_not_started_since(
    stack: Stack, started_ago: dt.timedelta | None, starts: bool
) -> None:
    await subscribe(stack, "stale", "IdleNotStartedSince", event_context="3600")
    eid = stack.sim.enrollment_ids()[0]
    if started_ago is not None:
        await WorkflowStartStore(stack.db).record(
            eid, DEVINFOLOG, f"{DEVINFOLOG}/{eid}", dt.datetime.now(dt.UTC) - started_ago
        )
    assert (await post_idle(stack.bridge_url, eid)).status_code == 200
    assert await exists(stack.client, f"{DEVINFOLOG}/{eid}") is starts


def test_idle_not_started_since_is_strictly_after_the_threshold() -> None:
    started = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    at = started + dt.timedelta(seconds=60)
    tick = dt.timedelta(microseconds=1)
    assert not not_started_since(at, started, 60)
    assert not not_started_since(at - tick, started, 60)
    assert not_started_since(at + tick, started, 60)
    assert not_started_since(at, None, 60)


async def test_every_start_records_last_started(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[1]
    async with stack.api() as api:
        await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
    handle = stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}")
    await wait_for_event(handle, HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    started = (await handle.describe()).start_time
    recorded = await WorkflowStartStore(stack.db).last_started(eid, DEVINFOLOG)
    assert recorded == started


async def test_user_channel_checkin_starts_for_the_user_channel(stack: Stack) -> None:
    await subscribe(stack, "on-enroll", "Enrollment")
    eid = stack.sim.enrollment_ids()[0]
    channel = f"{eid}:A522C2FB-D0BA-487E-BBC6-BE0DB2DC7883"
    message = {**token_update(), "UserID": "A522C2FB-D0BA-487E-BBC6-BE0DB2DC7883"}
    reply = await post_checkin(stack.bridge_url, eid, message, tally=1, channel_id=channel)
    assert reply.status_code == 200
    assert await exists(stack.client, f"{DEVINFOLOG}/{channel}")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"not a plist", "raw_payload"), (None, "MessageType")],
    ids=["not-plist", "wrong-message-type"],
)
async def test_bad_checkin_plist_is_400(stack: Stack, raw: bytes | None, reason: str) -> None:
    eid = stack.sim.enrollment_ids()[0]
    payload = raw if raw is not None else plistlib.dumps({"MessageType": "CheckOut", "UDID": eid})
    body = {
        "topic": "mdm.TokenUpdate",
        "checkin_event": {"udid": eid, "raw_payload": base64.b64encode(payload).decode()},
    }
    async with httpx.AsyncClient() as http:
        reply = await http.post(f"{stack.bridge_url}/webhook", json=body)
    assert reply.status_code == 400
    assert reason in reply.json()["error"]
