"""NanoMDM's webhook signature on the real stack: with ``MDMFLOW_WEBHOOK_HMAC_KEY`` set, a
report without or with a wrong ``X-Hmac-Signature`` is refused with 401 before anything is
parsed or routed; the same body correctly signed is routed."""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from mdmflow.simulator.webhook import signature
from mdmflow.workflows.models import STATUS_QUERY, WorkflowStart, WorkflowStatus
from mdmflow.workflows.results import DeviceInfoLog
from tests.bridge.helpers import DEVINFOLOG, acknowledged_body, enqueued_uuids, signal_count
from tests.support.history import wait_for_event
from tests.support.stack import running_stack

KEY = "webhook-hmac-test-key"


async def test_unsigned_or_badly_signed_reports_are_refused_and_not_routed(
    client: Client, tmp_path: Path
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        settings={"webhook_hmac_key": KEY},
        simulator={"webhook_hmac_key": KEY, "not_now_rate": 1.0},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        handle = await stack.client.start_workflow(
            DEVINFOLOG,
            WorkflowStart(enrollment_id=eid),
            id=f"{DEVINFOLOG}/{eid}",
            task_queue=stack.task_queue,
            result_type=DeviceInfoLog,
        )
        # the simulator signs its reports: its NotNow gets through
        await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
        [command_uuid] = enqueued_uuids(stack.sim, eid)
        body = acknowledged_body(eid, command_uuid)
        # a signal that arrives during a workflow task is written to history after that task
        await wait_for_event(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
        signals = await signal_count(handle)
        assert signals == 1
        async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
            for headers in (
                {},
                {"X-Hmac-Signature": signature("another-key", body)},
                {"X-Hmac-Signature": signature(KEY, body + b" ")},
                {"X-Hmac-Signature": "not base64"},
            ):
                refused = await http.post("/webhook", content=body, headers=headers)
                assert refused.status_code == 401, headers
                assert "X-Hmac-Signature" in refused.json()["error"]
            garbage = await http.post("/webhook", content=b"{not json")
            assert garbage.status_code == 401  # refused before parsing, not a 400
            assert await signal_count(handle) == signals
            status = await handle.query(STATUS_QUERY, result_type=WorkflowStatus)
            assert [c.command_uuid for c in status.outstanding] == [command_uuid]

            signed = await http.post(
                "/webhook", content=body, headers={"X-Hmac-Signature": signature(KEY, body)}
            )
            assert signed.status_code == 200, signed.text
        result = await handle.result()
        assert result.values["OSVersion"] == "15.2"
