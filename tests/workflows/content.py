"""Helpers for the content workflow tests: profiles as an admin would write them, uploads
through the real API, and what the simulated MDM server was asked to enqueue."""

from __future__ import annotations

import plistlib
import uuid
from typing import Any

import httpx

from mdmflow.mdm.plist import dump_xml
from mdmflow.simulator import Simulator


def mobileconfig(
    identifier: str,
    profile_uuid: str | None = None,
    *,
    name: str = "",
    payloads: list[dict[str, Any]] | None = None,
) -> bytes:
    """A profile with one harmless Dock payload unless ``payloads`` are given."""
    content = payloads or [
        {
            "PayloadType": "com.apple.dock",
            "PayloadVersion": 1,
            "PayloadIdentifier": f"{identifier}.dock",
            "PayloadUUID": str(uuid.uuid4()).upper(),
            "autohide": True,
        }
    ]
    return dump_xml(
        {
            "PayloadContent": content,
            "PayloadDisplayName": name or identifier,
            "PayloadIdentifier": identifier,
            "PayloadType": "Configuration",
            "PayloadUUID": profile_uuid or str(uuid.uuid4()).upper(),
            "PayloadVersion": 1,
        }
    )


def scep_profile(identifier: str) -> bytes:
    """A SCEP profile with NanoCMD's certprof placeholders (``%CN%``, ``%CHALLENGE%``)."""
    scep = {
        "PayloadType": "com.apple.security.scep",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.scep",
        "PayloadUUID": str(uuid.uuid4()).upper(),
        "PayloadContent": {
            "URL": "https://scep.example.com/scep",
            "Name": "ca",
            "Subject": [[["CN", "%CN%"]], [["O", "mdmflow tests"]]],
            "Challenge": "%CHALLENGE%",
            "Keysize": 2048,
            "Key Type": "RSA",
            "Key Usage": 5,
        },
    }
    return mobileconfig(identifier, name="Device identity", payloads=[scep])


async def upload_profile(api: httpx.AsyncClient, name: str, raw: bytes) -> None:
    reply = await api.put(f"/v1/profile/{name}", content=raw)
    assert reply.status_code == 204, reply.text


async def put_cmdplan(api: httpx.AsyncClient, name: str, plan: dict[str, Any]) -> None:
    reply = await api.put(f"/v1/cmdplan/{name}", json=plan)
    assert reply.status_code == 204, reply.text


def enqueued(sim: Simulator, enrollment_id: str) -> list[dict[str, Any]]:
    """The ``Command`` dictionaries enqueued for ``enrollment_id``, in order."""
    found = []
    for request in sim.requests:
        ids = request.path.rpartition("/")[2].split(",")
        if request.method in ("PUT", "POST") and enrollment_id in ids and request.body:
            found.append(plistlib.loads(request.body)["Command"])
    return found
