"""An MDM server outage: the enqueue activity is retried with backoff and the same command
UUID, and the workflow completes once the server is back; nothing is lost or duplicated."""

from __future__ import annotations

import plistlib
from pathlib import Path

from temporalio.client import Client

from mdmflow.workflows.results import DeviceInfoLog
from tests.support.stack import running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"


async def test_enqueue_survives_an_outage_with_the_same_command_uuid(
    client: Client, tmp_path: Path
) -> None:
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=1) as stack:
        eid = stack.sim.enrollment_ids()[0]
        stack.sim.outage = True

        def enqueues() -> list[bytes]:
            return [r.body for r in stack.sim.requests if r.path.startswith("/v1/enqueue/")]

        async with stack.api() as api:
            reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
        assert reply.status_code == 200
        await stack.sim.wait_for(lambda: len(enqueues()) >= 2)
        stack.sim.outage = False

        handle = client.get_workflow_handle(f"{DEVINFOLOG}/{eid}", result_type=DeviceInfoLog)
        result = await handle.result()
        await stack.sim.wait_until_quiet()  # the device finishes a command after reporting it
        assert result.values["UDID"] == eid
        uuids = {plistlib.loads(body)["CommandUUID"] for body in enqueues()}
        assert len(uuids) == 1
        assert len(stack.sim.queued(eid)) == 0
        assert stack.sim.stats.reports["Acknowledged"] == 1
