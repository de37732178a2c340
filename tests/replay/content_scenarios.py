"""Replay scenarios of the content workflows (profile, cmdplan, certprof), for ``record.py``."""

from __future__ import annotations

import datetime as dt
import json

from temporalio.client import WorkflowHandle

from mdmflow.mdm.checkin import TokenUpdate
from mdmflow.simulator.certificates import issue_certificate
from mdmflow.simulator.profiles import read_profile
from mdmflow.workflows.certprof_decide import CERTPROF
from mdmflow.workflows.cmdplan_plan import CMDPLAN
from mdmflow.workflows.models import EventType, MDMEvent, WorkflowStart
from mdmflow.workflows.profile_plan import PROFILE
from tests.replay.starts import started
from tests.support.stack import Stack
from tests.workflows.content import mobileconfig, put_cmdplan, scep_profile, upload_profile

SCEP_ID = "com.example.replay.identity"


async def _run(stack: Stack, name: str, start: WorkflowStart) -> WorkflowHandle[object, object]:
    handle = await started(stack, name, start)
    await handle.result()
    await stack.sim.wait_until_quiet()
    return handle


async def profile_install_and_remove(stack: Stack) -> WorkflowHandle[object, object]:
    """One profile installed, one removed, one already current."""
    eid = stack.sim.enrollment_ids()[0]
    current = mobileconfig("com.example.replay.current", "CURRENT-1")
    old = mobileconfig("com.example.replay.old", "OLD-1")
    async with stack.api() as api:
        await upload_profile(api, "replay-wifi", mobileconfig("com.example.replay.wifi", "W-1"))
        await upload_profile(api, "replay-current", current)
        await upload_profile(api, "replay-old", old)
    for raw in (current, old):
        installed = read_profile(raw, managed=True)
        stack.sim.device(eid).profiles[installed.identifier] = installed
    context = "replay-wifi,replay-current,-replay-old"
    return await _run(
        stack, PROFILE, WorkflowStart(enrollment_id=eid, instance_id="replay-p", context=context)
    )


async def cmdplan_enrollment(stack: Stack) -> WorkflowHandle[object, object]:
    """An Enrollment awaiting configuration: the plan named by a URL param, DeviceConfigured."""
    eid = stack.sim.enrollment_ids()[1]
    async with stack.api() as api:
        await upload_profile(api, "replay-plan-wifi", mobileconfig("com.example.replay.plan"))
        await put_cmdplan(
            api,
            "replay-lab",
            {
                "profile_names": ["replay-plan-wifi"],
                "manifest_urls": ["https://apps.example.com/replay.plist"],
                "device_configured": True,
            },
        )
    stack.sim.device(eid).awaiting_configuration = True
    checkin = TokenUpdate(message_type="TokenUpdate", awaiting_configuration=True)
    start = WorkflowStart(
        enrollment_id=eid,
        instance_id="replay-c",
        context="replay-${site}",
        url_params={"site": "lab"},
        event=MDMEvent(type=EventType.ENROLLMENT, checkin=checkin, token_update_tally=1),
    )
    return await _run(stack, CMDPLAN, start)


async def certprof_renewed(stack: Stack) -> WorkflowHandle[object, object]:
    """The one matching identity expires within the window: the SCEP profile goes out again."""
    eid = stack.sim.enrollment_ids()[0]
    device = stack.sim.device(eid)
    raw = scep_profile(SCEP_ID)
    installed = read_profile(raw, managed=True)
    device.profiles[installed.identifier] = installed
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    device.certificates.append(issue_certificate("replay-device", not_after=soon, profile=SCEP_ID))
    async with stack.api() as api:
        await upload_profile(api, "replay-scep", raw)
    context = json.dumps(
        {
            "profile": "replay-scep",
            "filter": {"cn_prefix": "replay-"},
            "criteria": {"until_expiry_sec": 30 * 86400},
            "text_replacements": {"%CN%": "replay-device", "%CHALLENGE%": "replay-secret"},
        }
    )
    return await _run(
        stack, CERTPROF, WorkflowStart(enrollment_id=eid, instance_id="replay-cp", context=context)
    )
