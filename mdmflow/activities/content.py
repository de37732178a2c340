"""Activities of the profile and command plan subsystems, and the engine's requirement check.

Each only reads the app database, so retries are harmless. What no retry can fix (a profile
that is not there) fails non-retryably with the same sentence the API would have answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from mdmflow.activities.content_models import (
    CHECK_REQUIREMENTS_ACTIVITY,
    LOAD_CMDPLAN_ACTIVITY,
    LOAD_PROFILES_ACTIVITY,
    CmdPlanRequirement,
    LoadedCmdPlan,
    LoadedProfiles,
    ProfileNames,
    ProfilePayload,
    StartRequirements,
)
from mdmflow.failures import INVALID_CONTEXT, PROFILE_NOT_FOUND
from mdmflow.requirements import RequirementChecker, RequirementError
from mdmflow.store.profiles import ProfileInfo, ProfileNotFoundError


class ContentActivities:
    """Activities bound to one worker's profile and command plan stores."""

    def __init__(self, checker: RequirementChecker) -> None:
        self._checker = checker

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for the worker's registration."""
        return [self.check_requirements, self.load_profiles, self.load_cmdplan]

    @activity.defn(name=CHECK_REQUIREMENTS_ACTIVITY)
    async def check_requirements(self, needs: StartRequirements) -> None:
        try:
            await self._checker.check(needs)
        except RequirementError as exc:
            raise ApplicationError(str(exc), type=INVALID_CONTEXT, non_retryable=True) from None

    @activity.defn(name=LOAD_PROFILES_ACTIVITY)
    async def load_profiles(self, request: ProfileNames) -> LoadedProfiles:
        """The named profiles as stored now; non-retryable failure if one was deleted."""
        try:
            found = await self._checker.profiles.infos(request.names)
        except ProfileNotFoundError as exc:
            raise ApplicationError(str(exc), type=PROFILE_NOT_FOUND, non_retryable=True) from None
        return LoadedProfiles(profiles={n: _payload(n, p) for n, p in found.items()})

    @activity.defn(name=LOAD_CMDPLAN_ACTIVITY)
    async def load_cmdplan(self, need: CmdPlanRequirement) -> LoadedCmdPlan:
        """The plan with its profiles' identities, checked as at the start."""
        try:
            plan = await self._checker.cmdplan(need)
            names = plan.profile_names
            stored = await self._checker.profiles.infos(names) if names else {}
        except (RequirementError, ProfileNotFoundError) as exc:
            raise ApplicationError(str(exc), type=INVALID_CONTEXT, non_retryable=True) from None
        return LoadedCmdPlan(
            name=need.name,
            profiles=[_payload(name, stored[name]) for name in plan.profile_names],
            manifest_urls=list(plan.manifest_urls),
            device_configured=plan.device_configured,
        )


def _payload(name: str, profile: ProfileInfo) -> ProfilePayload:
    return ProfilePayload(
        name=name, identifier=profile.identifier, uuid=profile.uuid, signed=profile.signed
    )
