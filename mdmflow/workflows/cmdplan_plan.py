"""The cmdplan workflow's start and plan as pure code: which plan, which commands in
NanoCMD's order, and whether DeviceConfigured may go; unit-tested without Temporal."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.activities.content_models import CmdPlanRequirement, LoadedCmdPlan
from mdmflow.mdm.checkin import TokenUpdate
from mdmflow.mdm.commands import DeviceConfigured, InstallApplication, InstallProfile, MDMCommand
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.expand import expand_params
from mdmflow.workflows.models import EventType, MDMEvent, StepResult, WorkflowStart
from mdmflow.workflows.outcomes import CommandOutcome, outcome, status_counts

CMDPLAN = "io.micromdm.wf.cmdplan.v1"
MANAGED_APP = 1
"""``ManagementFlags`` NanoCMD sends: remove the app when the MDM profile is removed."""

DeviceConfiguredDecision = Literal["sent", "not in plan", "skipped"]


class CmdPlanStart(BaseModel):
    """The plan to send (its name expanded) and whether DeviceConfigured may be sent."""

    model_config = ConfigDict(frozen=True)
    plan: str
    template: str
    device_configured_allowed: bool

    def requirement(self) -> CmdPlanRequirement:
        return CmdPlanRequirement(
            name=self.plan, device_configured_allowed=self.device_configured_allowed
        )


class CmdPlanResult(BaseModel):
    """Per command, how it ended; plus what became of DeviceConfigured and why."""

    enrollment_id: str
    plan: str
    commands: list[CommandOutcome]
    device_configured: DeviceConfiguredDecision
    timed_out: bool = False
    counts: dict[str, int] = Field(default_factory=dict)


def awaiting_configuration(event: MDMEvent | None) -> bool:
    """NanoCMD's rule: an Enrollment event whose TokenUpdate has AwaitingConfiguration."""
    return (
        event is not None
        and event.type is EventType.ENROLLMENT
        and isinstance(event.checkin, TokenUpdate)
        and event.checkin.awaiting_configuration
    )


def parse_cmdplan_start(start: WorkflowStart) -> CmdPlanStart:
    if not start.context:
        raise ContextError("missing cmdplan name")
    plan = expand_params(start.context, start.url_params)
    if not plan:
        raise ContextError(
            f"cmdplan name {start.context!r} expands to nothing with URL params "
            f"{sorted(start.url_params) or 'none'}"
        )
    return CmdPlanStart(
        plan=plan,
        template=start.context,
        device_configured_allowed=awaiting_configuration(start.event),
    )


def plan_commands(
    plan: LoadedCmdPlan, device_configured_allowed: bool
) -> tuple[list[tuple[MDMCommand, str]], DeviceConfiguredDecision]:
    """The plan's commands in NanoCMD's order, each with what it is about."""
    commands: list[tuple[MDMCommand, str]] = [
        (InstallProfile.from_store(p.name), p.name) for p in plan.profiles
    ]
    commands += [
        (InstallApplication(manifest_url=url, management_flags=MANAGED_APP), url)
        for url in plan.manifest_urls
    ]
    decision: DeviceConfiguredDecision = "not in plan"
    if plan.device_configured:
        decision = "sent" if device_configured_allowed else "skipped"
        if device_configured_allowed:
            commands.append((DeviceConfigured(), ""))
    return commands, decision


def plan_result(
    start: CmdPlanStart,
    enrollment_id: str,
    targets: list[str],
    done: StepResult,
    device_configured: DeviceConfiguredDecision,
) -> CmdPlanResult:
    outcomes = [outcome(r, t) for r, t in zip(done.commands, targets, strict=True)]
    return CmdPlanResult(
        enrollment_id=enrollment_id,
        plan=start.plan,
        commands=outcomes,
        device_configured=device_configured,
        timed_out=done.timed_out,
        counts=status_counts(outcomes),
    )
