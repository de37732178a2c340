"""Judge a NanoCMD snapshot against what mdmflow already stores: one decision per thing read.

Nothing is written here; :meth:`ImportPlan.apply` performs the writes the decisions carry.
Running the import twice therefore writes nothing the second time: every decision is then
``unchanged`` (or the same ``kept`` / ``not imported`` as before).
"""

from __future__ import annotations

from mdmflow.nanocmd_import.content import (
    decide_cmdplans,
    decide_profiles,
    decide_subscriptions,
)
from mdmflow.nanocmd_import.decisions import Decision, ImportPlan, Outcome, Stores
from mdmflow.nanocmd_import.devices import decide_inventory, decide_starts, decide_steps
from mdmflow.nanocmd_import.escrow import decide_key_pair
from mdmflow.nanocmd_import.snapshot import NanoCMDSnapshot


async def plan_import(snapshot: NanoCMDSnapshot, stores: Stores, *, overwrite: bool) -> ImportPlan:
    plan = ImportPlan(source=snapshot.source, notes=list(snapshot.notes))
    plan.decisions += [
        Decision(u.kind, u.name, Outcome.REFUSED, u.reason) for u in snapshot.unreadable
    ]
    profiles = await decide_profiles(snapshot.profiles, stores, overwrite)
    plan.decisions += profiles
    held = set((await stores.profiles.infos(None)).keys()) | {
        d.name for d in profiles if d.outcome in (Outcome.IMPORT, Outcome.REPLACE)
    }
    cmdplans, plan_warnings = await decide_cmdplans(snapshot.cmdplans, stores, overwrite, held)
    plan.decisions += cmdplans
    subscriptions, idle_warnings = await decide_subscriptions(
        snapshot.subscriptions, stores, overwrite
    )
    plan.decisions += subscriptions
    plan.decisions += await decide_key_pair(snapshot.key_pair, stores, overwrite)
    plan.decisions += await decide_inventory(snapshot.inventory, stores, overwrite)
    plan.decisions += await decide_starts(snapshot.starts, stores, overwrite)
    plan.decisions += decide_steps(snapshot.steps)
    plan.warnings += idle_warnings + plan_warnings
    return plan
