"""The instance status, listing and cancel API through the whole stack, with devices that
answer NotNow so devinfolog keeps running in its first step: the API and the CLI functions
show the devices waiting for DeviceInformation, cancel (by ID, then the instance) ends them
with the reason in their history, and a second cancel is not an error."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from mdmflow.cli.status_command import cancel_command, status_command
from tests.bridge.helpers import DEVINFOLOG, workflow_id
from tests.support.stack import Stack, running_stack

PATIENCE_S = 30.0


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(
        client, f"sqlite+aiosqlite:///{tmp_path}/app.db", simulator={"not_now_rate": 1.0}
    ) as running:
        yield running


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll a real condition (bounded): visibility and the status query catch up on their own."""
    async with asyncio.timeout(PATIENCE_S):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def get(stack: Stack, path: str, **params: Any) -> Any:
    async with stack.api() as api:
        reply = await api.get(path, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_status_listing_and_cancel_of_a_running_instance(
    stack: Stack, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    eids = stack.sim.enrollment_ids()
    async with stack.api() as api:
        reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eids})
        assert reply.status_code == 200, reply.text
        instance_id = reply.json()["instance_id"]
        assert (await api.get("/v1/instances/no-such-instance")).json() == {
            "error": "no such instance: no-such-instance"
        }

    async def all_waiting() -> bool:
        status = await get(stack, f"/v1/instances/{instance_id}")
        return status["counts"]["running"] == len(eids) and all(
            d["outstanding"] for d in status["devices"]
        )

    await until(all_waiting)
    status = await get(stack, f"/v1/instances/{instance_id}")
    assert status["workflow"] == DEVINFOLOG
    assert status["total"] == len(eids)
    assert {d["enrollment_id"] for d in status["devices"]} == set(eids)
    for device in status["devices"]:
        assert device["workflow_id"] == workflow_id(device["enrollment_id"])
        assert device["state"] == "running"
        assert [c["request_type"] for c in device["outstanding"]] == ["DeviceInformation"]

    recent = await get(stack, "/v1/instances", workflow=DEVINFOLOG)
    assert instance_id in [i["instance_id"] for i in recent]
    on_one = await get(stack, f"/v1/enrollments/{eids[0]}/workflows")
    assert [(w["workflow_id"], w["state"]) for w in on_one] == [(workflow_id(eids[0]), "running")]

    args = argparse.Namespace(instance=instance_id, page_size=100, next_page_token=None, json=False)
    assert await status_command(client, args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(
        f"instance {instance_id} of {DEVINFOLOG}: {len(eids)} devices — {len(eids)} running\n"
    )
    assert eids[0] in printed

    async with stack.api() as api:
        reply = await api.post(
            f"/v1/workflow/{DEVINFOLOG}/cancel", params={"id": eids[0], "reason": "one device"}
        )
        assert reply.json() == {
            "cancelled": 1,
            "already_ended": 0,
            "not_found": 0,
            "fan_out_cancelled": False,
            "workflow_ids": [workflow_id(eids[0])],
        }
        await until(lambda: _ended(client, workflow_id(eids[0])))
        reply = await api.post(
            f"/v1/instances/{instance_id}/cancel", json={"reason": "inventory no longer needed"}
        )
        assert reply.status_code == 200, reply.text
        assert (reply.json()["cancelled"], reply.json()["already_ended"]) == (len(eids) - 1, 1)

    async def all_cancelled() -> bool:
        counts = (await get(stack, f"/v1/instances/{instance_id}"))["counts"]
        return bool(counts["cancelled"] == len(eids))

    await until(all_cancelled)
    assert await _cancel_cause(client, workflow_id(eids[1])) == "inventory no longer needed"
    assert await _cancel_cause(client, workflow_id(eids[0])) == "one device"

    again = argparse.Namespace(instance=instance_id, workflow=None, ids=[], reason="x", json=False)
    assert await cancel_command(client, again) == 0
    assert capsys.readouterr().out == f"0 cancelled, {len(eids)} already ended, 0 not found\n"
    async with stack.api() as api:
        reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/cancel", params={"id": eids})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["cancelled"], reply.json()["already_ended"]) == (0, len(eids))


async def _ended(client: Client, wid: str) -> bool:
    described = await client.get_workflow_handle(wid).describe()
    return described.status != WorkflowExecutionStatus.RUNNING


async def _cancel_cause(client: Client, wid: str) -> str:
    async for event in client.get_workflow_handle(wid).fetch_history_events():
        if event.HasField("workflow_execution_cancel_requested_event_attributes"):
            return event.workflow_execution_cancel_requested_event_attributes.cause
    return ""
