"""The profile workflow's decisions, as pure functions over typed models.

From the start context (``a,b,-c``), the stored profiles and the device's managed ProfileList:
which ``InstallProfile`` and ``RemoveProfile`` to send, and afterwards what became of each
named profile. NanoCMD's rules: a profile is current only if some installed profile has the
stored top-level PayloadIdentifier *and* PayloadUUID; otherwise it is (re)installed. A
profile marked ``-`` is removed only if something with its identifier is installed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mdmflow.activities.content_models import ProfilePayload
from mdmflow.mdm.commands import InstallProfile, MDMCommand, RemoveProfile
from mdmflow.mdm.reports import CommandStatus, ErrorChainItem
from mdmflow.mdm.responses import InstalledProfile
from mdmflow.workflows.errors import ContextError
from mdmflow.workflows.models import StepError, StepResult
from mdmflow.workflows.outcomes import outcome

PROFILE = "io.micromdm.wf.profile.v1"


class ProfileWant(BaseModel):
    """One element of the start context: a profile name, to install or (``-name``) remove."""

    model_config = ConfigDict(frozen=True)
    name: str
    remove: bool = False


class ProfileStart(BaseModel):
    model_config = ConfigDict(frozen=True)
    wanted: list[ProfileWant] = Field(min_length=1)

    @property
    def names(self) -> list[str]:
        return [w.name for w in self.wanted]


class ProfileAction(StrEnum):
    INSTALLED = "installed"
    ALREADY_CURRENT = "already_current"
    REMOVED = "removed"
    NOT_PRESENT = "not_present"
    FAILED = "failed"


class ProfileOutcome(BaseModel):
    """What became of one named profile on the device.

    ``previous_uuid`` is the PayloadUUID the device had under the identifier before a
    reinstall (a stale version); ``error_chain`` is the device's when it refused.
    """

    model_config = ConfigDict(frozen=True)
    name: str
    identifier: str
    uuid: str
    action: ProfileAction
    previous_uuid: str | None = None
    command_uuid: str | None = None
    status: CommandStatus | None = None
    error_chain: list[ErrorChainItem] = Field(default_factory=list)
    detail: str = ""


class PlannedChange(BaseModel):
    """A command to send for one profile, and the outcome to report when it succeeds."""

    model_config = ConfigDict(frozen=True)
    name: str
    identifier: str
    uuid: str
    remove: bool
    previous_uuid: str | None = None


class ProfilePlan(BaseModel):
    """The profiles that need a command, and those settled by the ProfileList alone."""

    model_config = ConfigDict(frozen=True)
    changes: list[PlannedChange]
    settled: list[ProfileOutcome]

    @property
    def to_install(self) -> list[str]:
        return [c.name for c in self.changes if not c.remove]


class ProfileResult(BaseModel):
    """The profile workflow's result: one outcome per named profile, in context order."""

    enrollment_id: str
    profiles: list[ProfileOutcome]
    counts: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def of(cls, enrollment_id: str, outcomes: Sequence[ProfileOutcome]) -> ProfileResult:
        counts: dict[str, int] = {}
        for item in outcomes:
            counts[item.action.value] = counts.get(item.action.value, 0) + 1
        return cls(enrollment_id=enrollment_id, profiles=list(outcomes), counts=counts)


def parse_profile_context(context: str) -> ProfileStart:
    """``a,b,-c``: install a and b, remove c. Names are trimmed; a name twice is one."""
    if not context.strip():
        raise ContextError("missing profile names: give a comma-separated list like 'a,b,-c'")
    wanted: dict[str, ProfileWant] = {}
    for index, element in enumerate(context.split(",")):
        text = element.strip()
        remove = text.startswith("-")
        name = text[1:].strip() if remove else text
        if not name:
            raise ContextError(f"profile name {index + 1} of {context!r} is empty")
        earlier = wanted.get(name)
        if earlier is not None and earlier.remove != remove:
            raise ContextError(f"profile {name} is both to install and to remove")
        wanted[name] = ProfileWant(name=name, remove=remove)
    return ProfileStart(wanted=list(wanted.values()))


def plan_changes(
    start: ProfileStart,
    stored: Mapping[str, ProfilePayload],
    installed: Sequence[InstalledProfile],
) -> ProfilePlan:
    """Compare the stored profiles with the device's managed profiles (NanoCMD's rules)."""
    _no_contradiction(start, stored)
    uuids_by_identifier: dict[str, list[str]] = {}
    for item in installed:
        uuids_by_identifier.setdefault(item.payload_identifier, []).append(item.payload_uuid)
    changes: list[PlannedChange] = []
    settled: list[ProfileOutcome] = []
    for want in start.wanted:
        profile = stored[want.name]
        on_device = uuids_by_identifier.get(profile.identifier, [])
        ident = {"name": want.name, "identifier": profile.identifier, "uuid": profile.uuid}
        if want.remove and on_device:
            changes.append(PlannedChange(**ident, remove=True))
        elif want.remove:
            settled.append(ProfileOutcome(**ident, action=ProfileAction.NOT_PRESENT))
        elif profile.uuid in on_device:
            settled.append(ProfileOutcome(**ident, action=ProfileAction.ALREADY_CURRENT))
        else:
            previous = on_device[0] if on_device else None
            changes.append(PlannedChange(**ident, remove=False, previous_uuid=previous))
    return ProfilePlan(changes=changes, settled=settled)


def plan_commands(
    plan: ProfilePlan, payloads: Mapping[str, ProfilePayload]
) -> list[tuple[PlannedChange, MDMCommand]]:
    """The step's commands, each with its change; an install sends the bytes stored when it
    is enqueued (read by the enqueue activity, never carried in history), and records the
    identity stored now (whose UUID may be newer than the one compared, if the profile was
    replaced meanwhile)."""
    commands: list[tuple[PlannedChange, MDMCommand]] = []
    for change in plan.changes:
        if change.remove:
            commands.append((change, RemoveProfile(identifier=change.identifier)))
            continue
        payload = payloads[change.name]
        current = change.model_copy(update={"identifier": payload.identifier, "uuid": payload.uuid})
        commands.append((current, InstallProfile.from_store(change.name)))
    return commands


def outcomes_of(
    start: ProfileStart,
    plan: ProfilePlan,
    sent: Sequence[PlannedChange],
    done: StepResult | None,
) -> list[ProfileOutcome]:
    """Every named profile's outcome, in context order, from the plan and the step's answers."""
    by_name = {o.name: o for o in plan.settled}
    if done is not None:
        for change, result in zip(sent, done.commands, strict=True):
            ended = outcome(result, change.name)
            success = ProfileAction.REMOVED if change.remove else ProfileAction.INSTALLED
            by_name[change.name] = ProfileOutcome(
                name=change.name,
                identifier=change.identifier,
                uuid=change.uuid,
                action=success if ended.acknowledged else ProfileAction.FAILED,
                previous_uuid=change.previous_uuid,
                command_uuid=ended.command_uuid,
                status=ended.status,
                error_chain=ended.error_chain,
                detail=ended.problem(),
            )
    return [by_name[w.name] for w in start.wanted]


def _no_contradiction(start: ProfileStart, stored: Mapping[str, ProfilePayload]) -> None:
    """Installing one profile and removing another with the same identifier cannot both be."""
    install = {stored[w.name].identifier: w.name for w in start.wanted if not w.remove}
    for want in start.wanted:
        identifier = stored[want.name].identifier
        if want.remove and identifier in install:
            raise StepError(
                f"profiles {install[identifier]} and {want.name} share the PayloadIdentifier "
                f"{identifier}: one cannot be installed while the other is removed"
            )
