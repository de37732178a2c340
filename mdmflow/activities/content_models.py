"""Inputs and results of the content activities (profiles, command plans, start requirements).

Workflows import these through the sandbox pass-through. They mirror the stores' records
rather than import them, so the workflow sandbox never loads the database layer.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

CHECK_REQUIREMENTS_ACTIVITY = "mdm_check_start_requirements"
LOAD_PROFILES_ACTIVITY = "mdm_profiles_load"
LOAD_CMDPLAN_ACTIVITY = "mdm_cmdplan_load"


class CmdPlanRequirement(BaseModel):
    """A command plan that must exist, whose profiles must exist, and that sends something."""

    model_config = ConfigDict(frozen=True)
    name: str = Field(min_length=1)
    device_configured_allowed: bool = False
    """Whether this start may send DeviceConfigured (an Enrollment awaiting configuration)."""


class StartRequirements(BaseModel):
    """What must be in the app database for a start to make sense.

    A workflow declares it from its typed start (a pure function); the starters check it before
    starting (so the API answers 400) and the engine checks it again first thing in the
    workflow (so a start that bypassed the starters fails at once instead of half-running).
    """

    model_config = ConfigDict(frozen=True)
    profiles: list[str] = Field(default_factory=list)
    unsigned_profiles: list[str] = Field(default_factory=list)
    """Profiles the workflow edits (text replacements), so a signature would break."""
    cmdplan: CmdPlanRequirement | None = None

    @property
    def any(self) -> bool:
        return bool(self.profiles or self.unsigned_profiles or self.cmdplan)


class ProfileNames(BaseModel):
    """Load these profiles' identities (never their bytes: histories stay small)."""

    model_config = ConfigDict(frozen=True)
    names: list[str] = Field(min_length=1)


class ProfilePayload(BaseModel):
    """A stored profile as a workflow uses it: its identity, to compare with the device's."""

    model_config = ConfigDict(frozen=True)
    name: str
    identifier: str
    uuid: str
    signed: bool = False


class LoadedProfiles(BaseModel):
    """The named profiles as stored now, by name."""

    model_config = ConfigDict(frozen=True)
    profiles: dict[str, ProfilePayload]


class LoadedCmdPlan(BaseModel):
    """A command plan with its profiles' identities, in the plan's order."""

    model_config = ConfigDict(frozen=True)
    name: str
    profiles: list[ProfilePayload]
    manifest_urls: list[str]
    device_configured: bool
