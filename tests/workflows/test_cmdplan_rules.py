"""The cmdplan workflow's rules without Temporal: name expansion, the DeviceConfigured rule,
the commands in NanoCMD's order, and what the start needs from the database."""

from __future__ import annotations

import pytest

from mdmflow.activities.content_models import (
    CmdPlanRequirement,
    LoadedCmdPlan,
    ProfilePayload,
    StartRequirements,
)
from mdmflow.mdm.checkin import Authenticate, TokenUpdate
from mdmflow.mdm.commands import DeviceConfigured, InstallApplication, InstallProfile
from mdmflow.workflows.cmdplan import CmdPlanWorkflow
from mdmflow.workflows.cmdplan_plan import (
    awaiting_configuration,
    parse_cmdplan_start,
    plan_commands,
)
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.models import EventType, MDMEvent, WorkflowStart


def token_update(awaiting: bool) -> TokenUpdate:
    return TokenUpdate(message_type="TokenUpdate", awaiting_configuration=awaiting)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (MDMEvent(type=EventType.ENROLLMENT, checkin=token_update(True)), True),
        (MDMEvent(type=EventType.ENROLLMENT, checkin=token_update(False)), False),
        (MDMEvent(type=EventType.TOKEN_UPDATE, checkin=token_update(True)), False),
        (
            MDMEvent(type=EventType.ENROLLMENT, checkin=Authenticate(message_type="Authenticate")),
            False,
        ),
        (MDMEvent(type=EventType.IDLE), False),
        (None, False),
    ],
    ids=[
        "enrollment-awaiting",
        "enrollment-done",
        "tokenupdate-event",
        "not-tokenupdate",
        "idle",
        "api-start",
    ],
)
def test_device_configured_only_for_an_enrollment_awaiting_configuration(
    event: MDMEvent | None, expected: bool
) -> None:
    assert awaiting_configuration(event) is expected


def test_start_expands_the_plan_name_from_url_params() -> None:
    event = MDMEvent(type=EventType.ENROLLMENT, checkin=token_update(True))
    start = WorkflowStart(
        enrollment_id="E", context="setup-${site:hq}", url_params={"site": "lab"}, event=event
    )
    parsed = parse_cmdplan_start(start)
    assert (parsed.plan, parsed.template, parsed.device_configured_allowed) == (
        "setup-lab",
        "setup-${site:hq}",
        True,
    )
    assert CmdPlanWorkflow.requirements(parsed) == StartRequirements(
        cmdplan=CmdPlanRequirement(name="setup-lab", device_configured_allowed=True)
    )
    fallback = parse_cmdplan_start(start.model_copy(update={"url_params": {}}))
    assert fallback.plan == "setup-hq"


@pytest.mark.parametrize(
    ("context", "message"),
    [("", "missing cmdplan name"), ("${site}", "expands to nothing with URL params none")],
)
def test_start_without_a_plan_name_is_refused(context: str, message: str) -> None:
    with pytest.raises(ContextError, match=message):
        parse_cmdplan_start(WorkflowStart(enrollment_id="E", context=context))


def test_commands_in_nanocmds_order_and_device_configured_both_ways() -> None:
    plan = LoadedCmdPlan(
        name="setup",
        profiles=[
            ProfilePayload(name="wifi", identifier="w", uuid="1"),
            ProfilePayload(name="vpn", identifier="v", uuid="2"),
        ],
        manifest_urls=["https://apps.example.com/a.plist"],
        device_configured=True,
    )
    commands, decision = plan_commands(plan, device_configured_allowed=True)
    assert decision == "sent"
    assert commands == [
        (InstallProfile.from_store("wifi"), "wifi"),
        (InstallProfile.from_store("vpn"), "vpn"),
        (
            InstallApplication(manifest_url="https://apps.example.com/a.plist", management_flags=1),
            "https://apps.example.com/a.plist",
        ),
        (DeviceConfigured(), ""),
    ]
    skipped, decision = plan_commands(plan, device_configured_allowed=False)
    assert decision == "skipped"
    assert skipped == commands[:3]
    without = plan.model_copy(update={"device_configured": False})
    assert plan_commands(without, device_configured_allowed=True)[1] == "not in plan"
