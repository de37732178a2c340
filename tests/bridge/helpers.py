"""Hand-built webhook bodies and small readers of the stack's state for the bridge tests.

The bodies are written here, not borrowed from the simulator, so the tests pin the bridge's
parser to the documented NanoMDM/MicroMDM webhook shape on their own.
"""

from __future__ import annotations

import base64
import json
import plistlib
import zlib
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from mdmflow.simulator import Simulator
from tests.support.history import events
from tests.support.stack import MDM_KEY, Stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


def seed_for(request: pytest.FixtureRequest) -> int:
    """A fleet seed of the test's own: its devices (so workflow IDs) are unique to it."""
    return zlib.crc32(request.node.nodeid.encode())


def workflow_id(enrollment_id: str) -> str:
    return f"{DEVINFOLOG}/{enrollment_id}"


def report_plist(status: str, udid: str, command_uuid: str = "", **keys: Any) -> bytes:
    report: dict[str, Any] = {"Status": status, "UDID": udid, **keys}
    if command_uuid:
        report["CommandUUID"] = command_uuid
    return plistlib.dumps(report)


def connect_body(
    *,
    status: str,
    udid: str,
    raw: bytes | str,
    command_uuid: str = "",
    channel_id: str | None = None,
    **extra: Any,
) -> bytes:
    """An ``mdm.Connect`` event in NanoMDM's shape; ``channel_id`` is its ``ids.id``."""
    ack: dict[str, Any] = {
        "udid": udid,
        "status": status,
        "raw_payload": raw if isinstance(raw, str) else base64.b64encode(raw).decode(),
    }
    if command_uuid:
        ack["command_uuid"] = command_uuid
    if channel_id is not None:
        kind = "Device" if channel_id == udid else "User"
        ack["ids"] = {"id": channel_id, "type": kind}
    ack.update(extra)
    return json.dumps(
        {
            "topic": "mdm.Connect",
            "event_id": "test-event",
            "created_at": "2025-01-02T03:04:05Z",
            "acknowledge_event": ack,
        }
    ).encode()


def acknowledged_body(udid: str, command_uuid: str, channel_id: str | None = None) -> bytes:
    """A complete Acknowledged DeviceInformation report, as the device would send it."""
    raw = report_plist(
        "Acknowledged", udid, command_uuid, QueryResponses={"UDID": udid, "OSVersion": "15.2"}
    )
    return connect_body(
        status="Acknowledged",
        udid=udid,
        raw=raw,
        command_uuid=command_uuid,
        channel_id=udid if channel_id is None else channel_id,
    )


def enqueued_uuids(sim: Simulator, enrollment_id: str) -> list[str]:
    """CommandUUIDs of the commands the worker enqueued for ``enrollment_id``, in order."""
    found = []
    for request in sim.requests:
        ids = request.path.rpartition("/")[2].split(",")
        if request.method in ("PUT", "POST") and enrollment_id in ids and request.body:
            found.append(str(plistlib.loads(request.body)["CommandUUID"]))
    return found


async def signal_count(handle: WorkflowHandle[Any, Any]) -> int:
    return sum(1 for e in await events(handle) if e.event_type == SIGNALED)


async def push(stack: Stack, enrollment_id: str) -> None:
    """Push one enrollment through the simulated MDM server's own push API."""
    auth = (stack.settings.mdm_user, MDM_KEY)
    async with httpx.AsyncClient(auth=auth, timeout=30) as http:
        reply = await http.get(stack.settings.push_url + enrollment_id)
    assert reply.status_code < 300, reply.text
