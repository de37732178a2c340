"""Check a start's :class:`StartRequirements` against the app database.

One implementation serves both checks: the starters' (bridge API, event subscriptions,
``mdmflow start``), which turns a failure into a 400 or an error line before anything starts,
and the engine's activity inside the workflow, which fails the workflow without retrying. So
both say the same sentence for the same problem.
"""

from __future__ import annotations

from typing import Protocol

from mdmflow.activities.content_models import CmdPlanRequirement, StartRequirements
from mdmflow.store.cmdplans import CmdPlan, CmdPlanNotFoundError, CmdPlanStore
from mdmflow.store.database import Database
from mdmflow.store.profiles import ProfileNotFoundError, ProfileStore


class RequirementError(ValueError):
    """Something the start needs is not in the app database; the text says what to do."""


class RequirementCheck(Protocol):
    """Anything that checks start requirements the way :class:`RequirementChecker` does."""

    async def check(self, needs: StartRequirements) -> None: ...


class RequirementChecker:
    def __init__(self, profiles: ProfileStore, cmdplans: CmdPlanStore) -> None:
        self.profiles = profiles
        self.cmdplans = cmdplans

    @classmethod
    def of(cls, db: Database) -> RequirementChecker:
        return cls(ProfileStore(db), CmdPlanStore(db))

    async def check(self, needs: StartRequirements) -> None:
        """Raise :class:`RequirementError` for the first unmet requirement."""
        wanted = list(dict.fromkeys([*needs.profiles, *needs.unsigned_profiles]))
        if wanted:
            infos = await self.profile_infos(wanted)
            for name in needs.unsigned_profiles:
                if infos[name]:
                    raise RequirementError(
                        f"profile {name} is signed, and this workflow edits its text (text "
                        "replacements), which would break the signature: upload it unsigned"
                    )
        if needs.cmdplan is not None:
            await self.cmdplan(needs.cmdplan)

    async def profile_infos(self, names: list[str]) -> dict[str, bool]:
        """Whether each named profile is signed; :class:`RequirementError` if any is missing."""
        try:
            infos = await self.profiles.infos(names)
        except ProfileNotFoundError as exc:
            raise RequirementError(_missing_profiles(exc)) from None
        return {name: info.signed for name, info in infos.items()}

    async def cmdplan(self, need: CmdPlanRequirement) -> CmdPlan:
        """The plan, once it exists, its profiles exist and it has something to send."""
        try:
            plan = await self.cmdplans.get(need.name)
        except CmdPlanNotFoundError as exc:
            raise RequirementError(f"{exc} (create it with PUT /v1/cmdplan/{need.name})") from None
        if plan.profile_names:
            try:
                await self.profiles.infos(plan.profile_names)
            except ProfileNotFoundError as exc:
                raise RequirementError(f"cmdplan {need.name}: {_missing_profiles(exc)}") from None
        if plan.command_count(need.device_configured_allowed) == 0:
            why = (
                "device_configured is only sent for an Enrollment event whose TokenUpdate is "
                "AwaitingConfiguration"
                if plan.device_configured
                else "it lists no profiles and no manifest URLs"
            )
            raise RequirementError(f"cmdplan {need.name}: no commands to queue ({why})")
        return plan


def _missing_profiles(exc: ProfileNotFoundError) -> str:
    return f"{exc} (upload with PUT /v1/profile/{{name}})"
