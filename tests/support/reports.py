"""Post hand-made device reports through the bridge's real webhook, as the MDM server would."""

from __future__ import annotations

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
