"""The webhook body an MDM server posts for a device report, in NanoMDM or MicroMDM shape.

NanoMDM adds ``ids`` (the channel-precise enrollment ID) and omits empty ``url_params``;
MicroMDM has no ``ids`` and sends ``url_params: null``. Both carry the report's exact bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from mdmflow.mdm.webhook import CONNECT_TOPIC
from mdmflow.simulator.config import Mode


def _event_body(
    mode: Mode, udid: str, enrollment_id: str, raw: bytes, url_params: dict[str, str]
) -> dict[str, Any]:
    """The keys both event kinds share, in the shape of the mode's server."""
    body: dict[str, Any] = {"udid": udid}
    if mode == "micromdm":
        body["url_params"] = url_params or None
    elif url_params:
        body["url_params"] = url_params
    body["raw_payload"] = base64.b64encode(raw).decode("ascii")
    if mode == "nanomdm":
        if enrollment_id == udid:
            body["ids"] = {"id": enrollment_id, "type": "Device"}
        else:
            body["ids"] = {"id": enrollment_id, "type": "User", "parent_id": udid}
    return body


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect_event(
    *,
    mode: Mode,
    event_id: str,
    udid: str,
    enrollment_id: str,
    status: str,
    command_uuid: str,
    raw_report: bytes,
    url_params: dict[str, str],
) -> dict[str, Any]:
    """An ``mdm.Connect`` event; ``enrollment_id`` is the ID the command was enqueued to."""
    ack: dict[str, Any] = {"status": status}
    if command_uuid:
        ack["command_uuid"] = command_uuid
    ack.update(_event_body(mode, udid, enrollment_id, raw_report, url_params))
    return {
        "topic": CONNECT_TOPIC,
        "event_id": event_id,
        "created_at": _now(),
        "acknowledge_event": ack,
    }


def checkin_event(
    *,
    mode: Mode,
    udid: str,
    enrollment_id: str,
    message_type: str,
    raw_message: bytes,
    url_params: dict[str, str],
    tally: int | None = None,
) -> dict[str, Any]:
    """A check-in event; NanoMDM adds ``ids`` and, for TokenUpdate, ``token_update_tally``."""
    checkin = _event_body(mode, udid, enrollment_id, raw_message, url_params)
    if mode == "nanomdm" and tally is not None:
        checkin["token_update_tally"] = tally
    return {"topic": f"mdm.{message_type}", "created_at": _now(), "checkin_event": checkin}


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def signature(key: str, body: bytes) -> str:
    """NanoMDM's ``X-Hmac-Signature``: base64 of HMAC-SHA256 over the raw body."""
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
