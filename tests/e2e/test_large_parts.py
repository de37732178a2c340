"""Large parts by reference, both ways, on the real stack (issue: every input bounded).

Profile bytes stay in the app database until the enqueue activity reads them; a device's
multi-megabyte answer or error chain is stored aside and the workflow holds a bounded view.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError

from mdmflow.mdm.bounded import MAX_VIEW_BYTES
from mdmflow.store.payloads import PayloadStore
from mdmflow.workflows.profile_plan import PROFILE, ProfileAction, ProfileResult
from mdmflow.workflows.results import DeviceInfoLog
from tests.bridge.helpers import DEVINFOLOG, connect_body, enqueued_uuids, report_plist, workflow_id
from tests.support.stack import Stack, running_stack
from tests.workflows.content import enqueued, mobileconfig, upload_profile

MIB = 1024 * 1024
PROFILES = 10
PROFILE_BYTES = 500 * 1024


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=1) as s:
        yield s


def padded_profile(identifier: str) -> bytes:
    """A profile of about 500 KiB: one Dock payload carrying opaque data, as big as it gets."""
    dock = {
        "PayloadType": "com.apple.dock",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.dock",
        "PayloadUUID": f"{identifier}-DOCK".upper(),
        "tilesize": 48,
    }
    raw = mobileconfig(identifier, payloads=[dock])
    filler = PROFILE_BYTES - len(raw) - 80
    dock["padding"] = base64.b64encode(b"\0" * (filler * 3 // 4)).decode()
    return mobileconfig(identifier, payloads=[dock])


async def history_bytes(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.to_json())


async def test_a_step_of_ten_half_megabyte_profiles_keeps_history_small(
    client: Client, stack: Stack
) -> None:
    [eid] = stack.sim.enrollment_ids()
    names = [f"big{i}" for i in range(PROFILES)]
    uploaded = {name: padded_profile(f"com.example.{name}") for name in names}
    async with stack.api() as api:
        for name, raw in uploaded.items():
            assert len(raw) >= PROFILE_BYTES - 1024
            await upload_profile(api, name, raw)
        reply = await api.post(
            f"/v1/workflow/{PROFILE}/start", params={"id": eid, "context": ",".join(names)}
        )
    assert reply.status_code == 200, reply.text
    handle = client.get_workflow_handle(f"{PROFILE}/{eid}", result_type=ProfileResult)
    result = await handle.result()
    assert [p.action for p in result.profiles] == [ProfileAction.INSTALLED] * PROFILES
    sent = [c["Payload"] for c in enqueued(stack.sim, eid) if c["RequestType"] == "InstallProfile"]
    assert sent == list(uploaded.values()), "the device got the stored bytes, unchanged"
    size = await history_bytes(client, f"{PROFILE}/{eid}")
    assert size < MIB, f"history of {size} bytes for {PROFILES * PROFILE_BYTES} of profiles"


async def test_a_two_and_a_half_megabyte_answer_completes_its_workflow(
    client: Client, stack: Stack
) -> None:
    [eid] = stack.sim.enrollment_ids()
    huge_name = "M" * (5 * MIB // 2)
    stack.sim.device(eid).device_name = huge_name
    async with stack.api() as api:
        reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
    assert reply.status_code == 200, reply.text
    handle = client.get_workflow_handle(workflow_id(eid), result_type=DeviceInfoLog)
    result = await handle.result()
    assert result.values["UDID"] == eid
    assert result.values["DeviceName"] == f"[{len(huge_name)} characters left out of this view]"
    [command_uuid] = enqueued_uuids(stack.sim, eid)
    stored = await PayloadStore(stack.db).get(PayloadStore.ref_for(eid, command_uuid))
    responses = stored["QueryResponses"]
    assert isinstance(responses, dict)
    assert responses["DeviceName"] == huge_name
    assert await history_bytes(client, workflow_id(eid)) < MAX_VIEW_BYTES + MIB // 4


async def test_a_two_and_a_half_megabyte_error_chain_is_stored_aside_and_ends_the_step(
    client: Client, tmp_path: Path
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        simulator={"not_now_rate": 1.0},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        async with stack.api() as api:
            reply = await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
        assert reply.status_code == 200, reply.text
        await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
        [command_uuid] = enqueued_uuids(stack.sim, eid)
        description = "E" * (5 * MIB // 2)
        chain = [
            {
                "ErrorCode": 12021,
                "ErrorDomain": "MCMDMErrorDomain",
                "LocalizedDescription": description,
            }
        ]
        raw = report_plist("Error", eid, command_uuid, ErrorChain=chain)
        body = connect_body(
            status="Error", udid=eid, raw=raw, command_uuid=command_uuid, channel_id=eid
        )
        assert len(body) > 3 * MIB
        async with stack.api() as api:
            answered = await api.post("/webhook", content=body)
        assert answered.status_code == 200, answered.text
        handle = client.get_workflow_handle(workflow_id(eid))
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        message = str(failed.value.cause)
        assert "DeviceInformation answered Error: EEEE" in message
        assert "more characters]" in message
        assert len(message) < 4096
        ref = PayloadStore.ref_for(eid, command_uuid) + "/ErrorChain"
        stored = (await PayloadStore(stack.db).get(ref))["ErrorChain"]
        assert isinstance(stored, list)
        [whole] = stored
        assert isinstance(whole, dict)
        assert whole["LocalizedDescription"] == description
        assert await history_bytes(client, workflow_id(eid)) < MIB // 4
