"""Post hand-made device reports through the bridge's real webhook, as the MDM server would."""

from __future__ import annotations

import base64
import plistlib
from typing import Any

import httpx

from mdmflow.simulator.webhook import connect_event, encode


async def post_report(
    bridge_url: str,
    enrollment_id: str,
    report: dict[str, Any],
    url_params: dict[str, str] | None = None,
) -> httpx.Response:
    """POST one NanoMDM-shaped ``mdm.Connect`` webhook carrying ``report`` as its plist."""
    event = connect_event(
        mode="nanomdm",
        event_id="test",
        udid=enrollment_id,
        enrollment_id=enrollment_id,
        status=str(report["Status"]),
        command_uuid=str(report.get("CommandUUID", "")),
        raw_report=plistlib.dumps({"UDID": enrollment_id, **report}),
        url_params=url_params or {},
    )
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{bridge_url}/webhook", content=encode(event))


async def post_checkin(
    bridge_url: str,
    enrollment_id: str,
    message: dict[str, Any],
    *,
    tally: int | None = None,
    url_params: dict[str, str] | None = None,
    channel_id: str | None = None,
) -> httpx.Response:
    """POST one NanoMDM-shaped check-in webhook (topic from the message's MessageType)."""
    event = checkin_event(
        enrollment_id, message, tally=tally, url_params=url_params, channel_id=channel_id
    )
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(f"{bridge_url}/webhook", json=event)


def checkin_event(
    enrollment_id: str,
    message: dict[str, Any],
    *,
    tally: int | None = None,
    url_params: dict[str, str] | None = None,
    channel_id: str | None = None,
) -> dict[str, Any]:
    """A NanoMDM-shaped check-in webhook body (topic from the message's MessageType)."""
    body = {"UDID": enrollment_id, **message}
    checkin: dict[str, Any] = {
        "udid": enrollment_id,
        "raw_payload": base64.b64encode(plistlib.dumps(body)).decode(),
        "ids": {"id": channel_id or enrollment_id, "type": "User" if channel_id else "Device"},
    }
    if url_params:
        checkin["url_params"] = url_params
    if tally is not None:
        checkin["token_update_tally"] = tally
    return {"topic": f"mdm.{message['MessageType']}", "checkin_event": checkin}


async def post_idle(
    bridge_url: str, enrollment_id: str, url_params: dict[str, str] | None = None
) -> httpx.Response:
    return await post_report(bridge_url, enrollment_id, {"Status": "Idle"}, url_params)


def token_update(awaiting_configuration: bool = False) -> dict[str, Any]:
    """A TokenUpdate check-in with Apple's documented keys."""
    return {
        "MessageType": "TokenUpdate",
        "Topic": "com.apple.mgmt.External.test",
        "Token": b"\x01\x02\x03\x04",
        "PushMagic": "5E2A5B8C-0000-4000-8000-000000000001",
        "AwaitingConfiguration": awaiting_configuration,
    }


def authenticate() -> dict[str, Any]:
    return {
        "MessageType": "Authenticate",
        "Topic": "com.apple.mgmt.External.test",
        "DeviceName": "Test Mac",
        "Model": "Mac14,2",
        "ModelName": "MacBook Air",
        "OSVersion": "15.1",
        "BuildVersion": "24B83",
        "SerialNumber": "C02TEST00001",
    }


def check_out() -> dict[str, Any]:
    return {"MessageType": "CheckOut", "Topic": "com.apple.mgmt.External.test"}
