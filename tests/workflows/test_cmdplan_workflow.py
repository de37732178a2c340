"""``io.micromdm.wf.cmdplan.v1`` on the real stack, started as NanoCMD users start it: by an
Enrollment subscription whose context picks the plan from the enrollment's URL params."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from mdmflow.mdm.reports import CommandStatus
from mdmflow.workflows.cmdplan_plan import CMDPLAN, CmdPlanResult
from tests.bridge.helpers import seed_for
from tests.support.reports import post_checkin, token_update
from tests.support.stack import Stack, running_stack
from tests.workflows.content import enqueued, mobileconfig, put_cmdplan, upload_profile

MANIFEST = "https://apps.example.com/manifests/agent.plist"


@pytest.fixture
async def stack(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=2,
        simulator={"seed": seed_for(request)},
    ) as running:
        async with running.api() as api:
            await upload_profile(api, "wifi", mobileconfig("com.example.wifi"))
            plan = {"profile_names": ["wifi"], "manifest_urls": [MANIFEST]}
            await put_cmdplan(api, "setup-lab", {**plan, "device_configured": True})
            await put_cmdplan(api, "setup-default", {**plan, "device_configured": True})
            reply = await api.put(
                "/v1/event/enroll",
                json={
                    "event": "Enrollment",
                    "workflow": CMDPLAN,
                    "context": "setup-${site:default}",
                },
            )
            assert reply.status_code == 204, reply.text
        for eid in running.sim.enrollment_ids():
            running.sim.device(eid).awaiting_configuration = True
        yield running


async def enroll(
    stack: Stack, eid: str, *, awaiting: bool, url_params: dict[str, str]
) -> CmdPlanResult:
    reply = await post_checkin(
        stack.bridge_url, eid, token_update(awaiting), tally=1, url_params=url_params
    )
    assert reply.status_code == 200, reply.text
    handle = stack.client.get_workflow_handle(f"{CMDPLAN}/{eid}", result_type=CmdPlanResult)
    result: CmdPlanResult = await handle.result()
    await stack.sim.wait_until_quiet()  # a device applies a change after reporting it
    return result


async def test_enrollment_awaiting_configuration_gets_the_plan_and_device_configured(
    stack: Stack,
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    result = await enroll(stack, eid, awaiting=True, url_params={"site": "lab"})

    assert result.plan == "setup-lab"
    assert result.device_configured == "sent"
    assert [(c.request_type, c.target, c.status) for c in result.commands] == [
        ("InstallProfile", "wifi", CommandStatus.ACKNOWLEDGED),
        ("InstallApplication", MANIFEST, CommandStatus.ACKNOWLEDGED),
        ("DeviceConfigured", "", CommandStatus.ACKNOWLEDGED),
    ]
    assert result.counts == {"Acknowledged": 3}
    assert enqueued(stack.sim, eid)[1] == {
        "RequestType": "InstallApplication",
        "ManifestURL": MANIFEST,
        "ManagementFlags": 1,
    }
    device = stack.sim.device(eid)
    assert "com.example.wifi" in device.profiles
    assert device.awaiting_configuration is False  # Setup Assistant may go on


async def test_enrollment_not_awaiting_configuration_skips_device_configured_only(
    stack: Stack,
) -> None:
    eid = stack.sim.enrollment_ids()[1]
    result = await enroll(stack, eid, awaiting=False, url_params={"dept": "sales"})

    assert result.plan == "setup-default"  # no "site" param: the fallback
    assert result.device_configured == "skipped"
    assert [c.request_type for c in result.commands] == ["InstallProfile", "InstallApplication"]
    assert all(c.acknowledged for c in result.commands)
    assert "DeviceConfigured" not in [c["RequestType"] for c in enqueued(stack.sim, eid)]
    device = stack.sim.device(eid)
    assert "com.example.wifi" in device.profiles
    assert device.awaiting_configuration is True


async def test_api_start_is_not_an_enrollment(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    async with stack.api() as api:
        reply = await api.post(
            f"/v1/workflow/{CMDPLAN}/start", params={"id": eid, "context": "setup-lab"}
        )
    assert reply.status_code == 200, reply.text
    handle = stack.client.get_workflow_handle(f"{CMDPLAN}/{eid}", result_type=CmdPlanResult)
    result = await handle.result()
    assert result.device_configured == "skipped"
    assert [c.request_type for c in result.commands] == ["InstallProfile", "InstallApplication"]
