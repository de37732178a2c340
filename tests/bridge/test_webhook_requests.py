"""What ``POST /webhook`` accepts and refuses, over real HTTP against one shared stack.

None of these bodies routes to a workflow, so one stack serves the whole module (SQLite).
"""

from __future__ import annotations

import base64
import json
import plistlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.bridge.helpers import connect_body, report_plist
from tests.support.stack import running_stack

LIMIT = 1000
UDID = "0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0"
USER = "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D"
COMMAND = "5D7C1A9E-2B3F-4C6D-8E0A-1B2C3D4E5F60"


@pytest.fixture(scope="module")
async def bridge(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    folder: Path = tmp_path_factory.mktemp("webhook")
    async with (
        running_stack(
            temporal_env.client,
            f"sqlite+aiosqlite:///{folder}/app.db",
            devices=0,
            settings={"max_webhook_bytes": LIMIT},
        ) as stack,
        httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http,
    ):
        yield http


def checkin_body(topic: str, message: dict[str, Any], **extra: Any) -> bytes:
    event: dict[str, Any] = {
        "udid": UDID,
        "raw_payload": base64.b64encode(plistlib.dumps(message)).decode(),
        **extra,
    }
    return json.dumps({"topic": topic, "event_id": "e1", "checkin_event": event}).encode()


def assert_rejected(reply: httpx.Response, status: int = 400, *words: str) -> str:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"error"}
    reason = str(body["error"])
    for word in words:
        assert word in reason, reason
    return reason


async def test_idle_is_accepted(bridge: httpx.AsyncClient) -> None:
    body = connect_body(status="Idle", udid=UDID, raw=report_plist("Idle", UDID), channel_id=UDID)
    reply = await bridge.post("/webhook", content=body)
    assert reply.status_code == 200, reply.text
    assert reply.content == b""


@pytest.mark.parametrize(
    ("topic", "message", "extra"),
    [
        ("mdm.Authenticate", {"MessageType": "Authenticate", "Topic": "com.apple.mgmt.x"}, {}),
        ("mdm.TokenUpdate", {"MessageType": "TokenUpdate", "Token": b"\x01\x02"}, {"tally": 1}),
        ("mdm.CheckOut", {"MessageType": "CheckOut"}, {}),
        ("mdm.UserAuthenticate", {"MessageType": "UserAuthenticate", "UserID": USER}, {}),
        ("mdm.DeclarativeManagement", {"MessageType": "DeclarativeManagement"}, {}),
        ("mdm.SetBootstrapToken", {"MessageType": "SetBootstrapToken"}, {}),
        ("mdm.GetToken", {"MessageType": "GetToken", "TokenServiceType": "x"}, {}),
    ],
)
async def test_checkin_topics_are_accepted(
    bridge: httpx.AsyncClient, topic: str, message: dict[str, Any], extra: dict[str, Any]
) -> None:
    """NanoCMD answers 500 to every check-in but three; here each one is a quiet 200."""
    fields = {"token_update_tally": extra["tally"]} if "tally" in extra else {}
    reply = await bridge.post("/webhook", content=checkin_body(topic, message, **fields))
    assert reply.status_code == 200, reply.text


async def test_checkin_with_null_url_params_is_accepted(bridge: httpx.AsyncClient) -> None:
    body = checkin_body("mdm.Authenticate", {"MessageType": "Authenticate"}, url_params=None)
    reply = await bridge.post("/webhook", content=body)
    assert reply.status_code == 200, reply.text


async def test_malformed_json(bridge: httpx.AsyncClient) -> None:
    reply = await bridge.post("/webhook", content=b'{"topic": "mdm.Connect",')
    assert_rejected(reply)


@pytest.mark.parametrize("body", [b"", b"   \n"], ids=["empty", "blank"])
async def test_empty_body(bridge: httpx.AsyncClient, body: bytes) -> None:
    assert_rejected(await bridge.post("/webhook", content=body), 400, "empty body")


@pytest.mark.parametrize("body", [b"[]", b'"mdm.Connect"', b"null"])
async def test_json_that_is_not_an_object(bridge: httpx.AsyncClient, body: bytes) -> None:
    assert_rejected(await bridge.post("/webhook", content=body))


async def test_bad_base64_raw_payload(bridge: httpx.AsyncClient) -> None:
    body = connect_body(status="Acknowledged", udid=UDID, raw="not base64!", command_uuid=COMMAND)
    assert_rejected(await bridge.post("/webhook", content=body), 400, "raw_payload")


async def test_raw_payload_that_is_not_a_plist(bridge: httpx.AsyncClient) -> None:
    body = connect_body(
        status="Acknowledged", udid=UDID, raw=b"this is no plist", command_uuid=COMMAND
    )
    assert_rejected(await bridge.post("/webhook", content=body), 400, "raw_payload")


async def test_report_without_status(bridge: httpx.AsyncClient) -> None:
    raw = plistlib.dumps({"UDID": UDID, "CommandUUID": COMMAND})
    body = connect_body(status="Acknowledged", udid=UDID, raw=raw, command_uuid=COMMAND)
    assert_rejected(await bridge.post("/webhook", content=body), 400, "raw_payload", "Status")


async def test_report_without_command_uuid(bridge: httpx.AsyncClient) -> None:
    body = connect_body(status="Acknowledged", udid=UDID, raw=report_plist("Acknowledged", UDID))
    assert_rejected(await bridge.post("/webhook", content=body), 400, "CommandUUID")


async def test_report_without_any_enrollment_id(bridge: httpx.AsyncClient) -> None:
    raw = report_plist("Acknowledged", UDID, COMMAND)
    body = connect_body(status="Acknowledged", udid="", raw=raw, command_uuid=COMMAND)
    assert_rejected(await bridge.post("/webhook", content=body), 400, "udid")


async def test_connect_without_acknowledge_event(bridge: httpx.AsyncClient) -> None:
    body = json.dumps({"topic": "mdm.Connect", "event_id": "e1"}).encode()
    assert_rejected(await bridge.post("/webhook", content=body), 400, "acknowledge_event")


async def test_checkin_topic_without_checkin_event(bridge: httpx.AsyncClient) -> None:
    body = json.dumps({"topic": "mdm.Authenticate"}).encode()
    assert_rejected(await bridge.post("/webhook", content=body), 400, "checkin_event")


@pytest.mark.parametrize("topic", ["Connect", "nanomdm.Connect", "MDM.Connect"])
async def test_topic_must_start_with_mdm(bridge: httpx.AsyncClient, topic: str) -> None:
    body = checkin_body(topic, {"MessageType": "Authenticate"})
    assert_rejected(await bridge.post("/webhook", content=body), 400, "topic", "mdm.")


async def test_command_uuid_must_match_the_report(bridge: httpx.AsyncClient) -> None:
    raw = report_plist("Acknowledged", UDID, COMMAND)
    other = "11111111-2222-4333-8444-555555555555"
    body = connect_body(status="Acknowledged", udid=UDID, raw=raw, command_uuid=other)
    assert_rejected(await bridge.post("/webhook", content=body), 400, other, COMMAND)


def padded_idle(size: int) -> bytes:
    """An Idle webhook of exactly ``size`` bytes (padding in a field the bridge ignores)."""
    body = connect_body(status="Idle", udid=UDID, raw=report_plist("Idle", UDID), pad="")
    missing = size - len(body)
    assert missing >= 0
    return body.replace(b'"pad": ""', b'"pad": "' + b"x" * missing + b'"')


async def test_body_at_the_limit_is_accepted(bridge: httpx.AsyncClient) -> None:
    body = padded_idle(LIMIT)
    assert len(body) == LIMIT
    reply = await bridge.post("/webhook", content=body)
    assert reply.status_code == 200, reply.text


async def test_oversized_body_with_content_length(bridge: httpx.AsyncClient) -> None:
    body = padded_idle(LIMIT + 1)
    reply = await bridge.post("/webhook", content=body)
    assert reply.request.headers["content-length"] == str(LIMIT + 1)
    assert_rejected(reply, 413, str(LIMIT))


async def test_oversized_chunked_body(bridge: httpx.AsyncClient) -> None:
    body = padded_idle(LIMIT * 3)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    reply = await bridge.post("/webhook", content=chunks())
    assert "content-length" not in reply.request.headers
    assert reply.request.headers["transfer-encoding"] == "chunked"
    assert_rejected(reply, 413, str(LIMIT))


async def test_small_chunked_body_is_accepted(bridge: httpx.AsyncClient) -> None:
    body = padded_idle(LIMIT)

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    reply = await bridge.post("/webhook", content=chunks())
    assert reply.status_code == 200, reply.text
