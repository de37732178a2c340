"""End to end: start over HTTP, the simulated device answers through the webhook, the
workflow completes with the device's own values; both MDM dialects, both app databases."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from mdmflow.workflows.results import DeviceInfoLog
from tests.support.stack import running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"


@pytest.mark.parametrize("mode", ["nanomdm", "micromdm"])
async def test_start_over_http_completes_with_device_values(
    client: Client, database_url: str, mode: str
) -> None:
    async with running_stack(client, database_url, mode=mode, devices=2) as stack:
        ids = stack.sim.enrollment_ids()
        async with stack.api() as api:
            reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": ids})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["started"] == ids
        for eid in ids:
            handle = client.get_workflow_handle(f"{DEVINFOLOG}/{eid}", result_type=DeviceInfoLog)
            result = await handle.result()
            device = stack.sim.device(eid)
            assert result.enrollment_id == eid
            assert result.values["UDID"] == device.udid
            assert result.values["SerialNumber"] == device.serial_number
            assert result.values["OSVersion"] == device.os_version
            described = await handle.describe()
            assert described.typed_search_attributes is not None
