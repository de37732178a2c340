"""Decide on profiles, command plans and event subscriptions.

Each is checked by the same code the ``/v1`` API runs on a PUT, so an import never stores what
the API would refuse; where mdmflow is stricter than NanoCMD, the reason is the API's own 400
message. Profiles keep their bytes exactly as NanoCMD stored them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mdmflow.bridge.cmdplan_api import InvalidCmdPlanError, check_cmdplan, check_cmdplan_name
from mdmflow.bridge.event_api import InvalidSubscriptionError, check_subscription
from mdmflow.bridge.profile_api import MAX_PROFILE_BYTES, check_profile_name
from mdmflow.mdm.mobileconfig import Mobileconfig, MobileconfigError, read_mobileconfig
from mdmflow.nanocmd_import.decisions import Decision, Kind, Outcome, Stores, Write, conflict
from mdmflow.nanocmd_import.snapshot import NanoCmdPlan, NanoProfile, NanoSubscription
from mdmflow.store.cmdplans import CmdPlan
from mdmflow.store.subscriptions import Subscription
from mdmflow.workflows.models import EventType

STRICTER = "mdmflow's API refuses this where NanoCMD accepted it"


async def decide_profiles(
    profiles: Sequence[NanoProfile], stores: Stores, overwrite: bool
) -> list[Decision]:
    existing = await stores.profiles.infos(None)
    decisions = []
    for profile in profiles:
        refused = _profile_problem(profile)
        if isinstance(refused, str):
            decisions.append(Decision(Kind.PROFILE, profile.name, Outcome.REFUSED, refused))
            continue
        detail = "signed" if refused.signed else ""
        write = _put_profile(stores, profile.name, refused)
        if profile.name not in existing:
            decisions.append(Decision(Kind.PROFILE, profile.name, Outcome.IMPORT, detail, write))
            continue
        stored = (await stores.profiles.get([profile.name]))[profile.name]
        if stored.raw == profile.raw:
            decisions.append(Decision(Kind.PROFILE, profile.name, Outcome.UNCHANGED))
        else:
            decisions.append(
                conflict(
                    Kind.PROFILE,
                    profile.name,
                    overwrite,
                    write,
                    "a different profile under this name",
                    detail,
                )
            )
    return decisions


def _profile_problem(profile: NanoProfile) -> Mobileconfig | str:
    """The validated profile, or why mdmflow cannot store it."""
    if (problem := check_profile_name(profile.name)) is not None:
        return f"{problem} ({STRICTER})"
    if len(profile.raw) > MAX_PROFILE_BYTES:
        return f"profile is over {MAX_PROFILE_BYTES} bytes, mdmflow's limit"
    try:
        return read_mobileconfig(profile.raw)
    except MobileconfigError as exc:
        return f"{exc} ({STRICTER})"


def _put_profile(stores: Stores, name: str, profile: Mobileconfig) -> Write:
    async def write() -> None:
        await stores.profiles.put(name, profile)

    return write


async def decide_cmdplans(
    plans: Sequence[NanoCmdPlan], stores: Stores, overwrite: bool, profile_names: set[str]
) -> tuple[list[Decision], list[str]]:
    """Decisions, and warnings for plans naming a profile mdmflow will not have."""
    existing = await stores.cmdplans.list()
    decisions, warnings = [], []
    for nano in plans:
        if (problem := check_cmdplan_name(nano.name)) is not None:
            decisions.append(Decision(Kind.CMDPLAN, nano.name, Outcome.REFUSED, problem))
            continue
        try:
            plan = check_cmdplan(nano.raw_json)
        except InvalidCmdPlanError as exc:
            reason = f"{exc} ({STRICTER})"
            decisions.append(Decision(Kind.CMDPLAN, nano.name, Outcome.REFUSED, reason))
            continue
        write = _put_cmdplan(stores, nano.name, plan)
        current = existing.get(nano.name)
        if current is None:
            decisions.append(Decision(Kind.CMDPLAN, nano.name, Outcome.IMPORT, write=write))
        elif current == plan:
            decisions.append(Decision(Kind.CMDPLAN, nano.name, Outcome.UNCHANGED))
        else:
            decisions.append(
                conflict(Kind.CMDPLAN, nano.name, overwrite, write, "a different plan")
            )
        missing = [p for p in plan.profile_names if p not in profile_names]
        if missing:
            warnings.append(
                f"cmdplan {nano.name!r} names profiles mdmflow does not hold: "
                f"{', '.join(missing)}; starting it fails until they are stored"
            )
    return decisions, warnings


def _put_cmdplan(stores: Stores, name: str, plan: CmdPlan) -> Write:
    async def write() -> None:
        await stores.cmdplans.put(name, plan)

    return write


async def decide_subscriptions(
    subscriptions: Sequence[NanoSubscription], stores: Stores, overwrite: bool
) -> tuple[list[Decision], list[str]]:
    """Decisions, and a warning for each Idle subscription that will start firing."""
    existing = {
        s.name: Subscription.model_validate(s.model_dump())
        for s in await stores.subscriptions.list()
    }
    decisions, warnings = [], []
    for nano in subscriptions:
        body = json.dumps(
            {
                "event": nano.event,
                "workflow": nano.workflow,
                "context": nano.context,
                "event_context": nano.event_context,
            }
        ).encode()
        try:
            sub = check_subscription(body)
        except InvalidSubscriptionError as exc:
            decisions.append(
                Decision(Kind.SUBSCRIPTION, nano.name, Outcome.REFUSED, f"{exc} ({STRICTER})")
            )
            continue
        write = _put_subscription(stores, nano.name, sub)
        current = existing.get(nano.name)
        if current is None:
            decision = Decision(Kind.SUBSCRIPTION, nano.name, Outcome.IMPORT, write=write)
        elif current == sub:
            decision = Decision(Kind.SUBSCRIPTION, nano.name, Outcome.UNCHANGED)
        else:
            decision = conflict(
                Kind.SUBSCRIPTION, nano.name, overwrite, write, "a different subscription"
            )
        decisions.append(decision)
        if sub.event == EventType.IDLE and decision.outcome is not Outcome.KEPT:
            warnings.append(idle_warning(nano.name, sub.workflow))
    return decisions, warnings


def idle_warning(name: str, workflow: str) -> str:
    return (
        f"subscription {name!r} (Idle → {workflow}) never started anything under NanoCMD, "
        f"whose code does not deliver Idle to subscriptions; mdmflow starts {workflow} at "
        "every Idle check-in of every enrollment. Delete it (DELETE /v1/event/"
        f"{name}) if that is not wanted"
    )


def _put_subscription(stores: Stores, name: str, sub: Subscription) -> Write:
    async def write() -> None:
        await stores.subscriptions.put(name, sub)

    return write
