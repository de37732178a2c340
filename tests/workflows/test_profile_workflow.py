"""``io.micromdm.wf.profile.v1`` on the real stack: one run settles current, stale, missing,
refused and to-remove profiles; the device's ProfileList then shows the change."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from mdmflow.simulator.devices import ENROLLMENT_PROFILE_ID
from mdmflow.simulator.profiles import read_profile
from mdmflow.workflows.profile_plan import PROFILE, ProfileAction, ProfileResult
from tests.bridge.helpers import seed_for
from tests.support.signing import signer
from tests.support.stack import Stack, running_stack
from tests.workflows.content import enqueued, mobileconfig, upload_profile

CONTEXT = "current,stale,missing,refused,-gone,-absent"


async def run_profile_workflow(stack: Stack, eid: str, context: str) -> ProfileResult:
    async with stack.api() as api:
        reply = await api.post(
            f"/v1/workflow/{PROFILE}/start", params={"id": eid, "context": context}
        )
    assert reply.status_code == 200, reply.text
    handle = stack.client.get_workflow_handle(f"{PROFILE}/{eid}", result_type=ProfileResult)
    result: ProfileResult = await handle.result()
    await stack.sim.wait_until_quiet()  # a device applies a change after reporting it
    return result


async def test_one_run_installs_replaces_removes_and_reports_each_profile(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        simulator={"seed": seed_for(request)},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        device = stack.sim.device(eid)
        versions = {
            "current": mobileconfig("com.example.current", "CURRENT-V2"),
            "stale": mobileconfig("com.example.stale", "STALE-V2"),
            "missing": signer().sign(mobileconfig("com.example.missing", "MISSING-V1")),
            "refused": mobileconfig("com.example.refused", "REFUSED-V1"),
            "gone": mobileconfig("com.example.gone", "GONE-V1"),
            "absent": mobileconfig("com.example.absent", "ABSENT-V1"),
        }
        async with stack.api() as api:
            for name, raw in versions.items():
                await upload_profile(api, name, raw)
        # what an earlier MDM run left on the device
        for raw in (
            versions["current"],
            mobileconfig("com.example.stale", "STALE-V1"),
            mobileconfig("com.example.gone", "GONE-V0"),
        ):
            installed = read_profile(raw, managed=True)
            device.profiles[installed.identifier] = installed
        device.refused_profiles.add("com.example.refused")

        result = await run_profile_workflow(stack, eid, CONTEXT)

        outcomes = {o.name: o for o in result.profiles}
        assert [o.name for o in result.profiles] == CONTEXT.replace("-", "").split(",")
        assert {name: o.action for name, o in outcomes.items()} == {
            "current": ProfileAction.ALREADY_CURRENT,
            "stale": ProfileAction.INSTALLED,
            "missing": ProfileAction.INSTALLED,
            "refused": ProfileAction.FAILED,
            "gone": ProfileAction.REMOVED,
            "absent": ProfileAction.NOT_PRESENT,
        }
        assert outcomes["stale"].previous_uuid == "STALE-V1"
        assert outcomes["stale"].uuid == "STALE-V2"
        refused = outcomes["refused"]
        assert [(e.error_domain, e.error_code) for e in refused.error_chain] == [
            ("NSOSStatusErrorDomain", -909)
        ]
        assert refused.detail.startswith("the device answered Error")
        assert result.counts == {
            "already_current": 1,
            "installed": 2,
            "failed": 1,
            "removed": 1,
            "not_present": 1,
        }

        list_step: list[dict[str, Any]] = []
        install_step: list[dict[str, Any]] = []
        for command in enqueued(stack.sim, eid):
            (list_step if command["RequestType"] == "ProfileList" else install_step).append(command)
        assert list_step == [{"RequestType": "ProfileList", "ManagedOnly": True}]
        assert Counter(c["RequestType"] for c in install_step) == {
            "InstallProfile": 3,
            "RemoveProfile": 1,
        }
        assert {"RequestType": "RemoveProfile", "Identifier": "com.example.gone"} in install_step

        assert {p.identifier: p.uuid for p in device.profiles.values()} == {
            ENROLLMENT_PROFILE_ID: device.profiles[ENROLLMENT_PROFILE_ID].uuid,
            "com.example.current": "CURRENT-V2",
            "com.example.stale": "STALE-V2",
            "com.example.missing": "MISSING-V1",
        }
        assert device.profiles["com.example.missing"].raw == versions["missing"]  # still signed

        # The device's managed ProfileList now shows the changes: a second run has nothing to
        # install but the profile the device keeps refusing.
        stack.sim.reset_log()
        again = await run_profile_workflow(stack, eid, CONTEXT)
        assert {o.name: o.action for o in again.profiles} == {
            "current": ProfileAction.ALREADY_CURRENT,
            "stale": ProfileAction.ALREADY_CURRENT,
            "missing": ProfileAction.ALREADY_CURRENT,
            "refused": ProfileAction.FAILED,
            "gone": ProfileAction.NOT_PRESENT,
            "absent": ProfileAction.NOT_PRESENT,
        }
        assert [c["RequestType"] for c in enqueued(stack.sim, eid)] == [
            "ProfileList",
            "InstallProfile",
        ]


async def test_nothing_to_change_ends_after_the_profile_list(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        simulator={"seed": seed_for(request)},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        async with stack.api() as api:
            await upload_profile(api, "absent", mobileconfig("com.example.absent"))
        result = await run_profile_workflow(stack, eid, "-absent")
        assert [(o.name, o.action) for o in result.profiles] == [
            ("absent", ProfileAction.NOT_PRESENT)
        ]
        assert [c["RequestType"] for c in enqueued(stack.sim, eid)] == ["ProfileList"]
