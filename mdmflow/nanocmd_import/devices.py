"""Decide on per-enrollment data: inventory (secrets sealed), last-started times, open steps.

Inventory is compared key by key: a key mdmflow lacks is added, an equal one is left alone, a
different one is kept unless ``--overwrite``. The FileVault recovery key and the lock PIN go to
the sealed secret store, as mdmflow's workflows keep them, and are shown only with
``?secrets=1``. Steps NanoCMD still waits on are never migrated: they are listed, so the admin
drains them first.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TypeVar

from pydantic import JsonValue

from mdmflow.activities.filevault_models import PRK_SECRET
from mdmflow.activities.lock_models import PIN_SECRET
from mdmflow.nanocmd_import.decisions import Decision, Kind, Outcome, Stores, Write
from mdmflow.nanocmd_import.snapshot import NanoInventory, NanoStart, NanoStep
from mdmflow.workflows.registry import WORKFLOWS

SECRET_KEYS = (PRK_SECRET, PIN_SECRET)
"""Inventory keys mdmflow keeps sealed (NanoCMD kept them in clear)."""
SHOWN_IDS = 3
V = TypeVar("V", bound=JsonValue)


async def decide_inventory(
    records: Sequence[NanoInventory], stores: Stores, overwrite: bool
) -> list[Decision]:
    ids = [r.enrollment_id for r in records]
    plain_now = await stores.inventory.get(ids)
    secrets_now = await stores.secrets.get(ids)
    decisions: list[Decision] = []
    for record in records:
        eid = record.enrollment_id
        if not eid.strip():
            decisions.append(
                Decision(Kind.INVENTORY, repr(eid), Outcome.REFUSED, "empty enrollment ID")
            )
            continue
        plain = {k: v for k, v in record.values.items() if k not in SECRET_KEYS}
        secrets: dict[str, str] = {}
        for key in SECRET_KEYS:
            value = record.values.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                decisions.append(
                    Decision(Kind.INVENTORY, eid, Outcome.REFUSED, f"{key} is not text")
                )
                continue
            secrets[key] = value
        new_plain, differ_plain = _split(plain, plain_now.get(eid, {}))
        new_secret, differ_secret = _split(secrets, secrets_now.get(eid, {}))
        differ = sorted([*differ_plain, *differ_secret])
        if overwrite:
            new_plain.update({k: plain[k] for k in differ_plain})
            new_secret.update({k: secrets[k] for k in differ_secret})
        if new_plain or new_secret:
            tally = Counter({"values": len(new_plain)}) + Counter(new_secret.keys())
            outcome = Outcome.REPLACE if overwrite and differ else Outcome.IMPORT
            detail = f"replaces {', '.join(differ)}" if outcome is Outcome.REPLACE else ""
            write = _merge(stores, eid, new_plain, new_secret)
            decisions.append(Decision(Kind.INVENTORY, eid, outcome, detail, write, dict(tally)))
        if differ and not overwrite:
            decisions.append(
                Decision(
                    Kind.INVENTORY,
                    eid,
                    Outcome.KEPT,
                    f"mdmflow already has other values for {', '.join(differ)} "
                    "(--overwrite replaces them)",
                )
            )
        if not (new_plain or new_secret or differ):
            decisions.append(Decision(Kind.INVENTORY, eid, Outcome.UNCHANGED))
    return decisions


def _split(nano: Mapping[str, V], mdmflow: Mapping[str, V]) -> tuple[dict[str, V], list[str]]:
    """The keys mdmflow lacks (with values), and the keys it holds with another value."""
    new = {k: v for k, v in nano.items() if k not in mdmflow}
    differ = [
        k for k, v in nano.items() if k in mdmflow and _canonical(mdmflow[k]) != _canonical(v)
    ]
    return new, differ


def _canonical(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True)


def _merge(stores: Stores, eid: str, plain: dict[str, JsonValue], secrets: dict[str, str]) -> Write:
    async def write() -> None:
        await stores.inventory.merge(eid, plain)
        await stores.secrets.put(eid, secrets)

    return write


async def decide_starts(
    starts: Sequence[NanoStart], stores: Stores, overwrite: bool
) -> list[Decision]:
    """A record mdmflow has at or after NanoCMD's time is current already; an older one is a
    conflict (replaced only with ``--overwrite``)."""
    existing = await stores.starts.all_last_started()
    decisions = []
    for start in starts:
        name = f"{start.enrollment_id} {start.workflow}"
        if start.workflow not in WORKFLOWS:
            reason = f"mdmflow runs no workflow named {start.workflow!r}"
            decisions.append(Decision(Kind.LAST_STARTED, name, Outcome.REFUSED, reason))
            continue
        write = _record_start(stores, start)
        current = existing.get((start.enrollment_id, start.workflow))
        if current is None:
            decisions.append(Decision(Kind.LAST_STARTED, name, Outcome.IMPORT, write=write))
        elif current >= start.started_at:
            decisions.append(Decision(Kind.LAST_STARTED, name, Outcome.UNCHANGED))
        elif overwrite:
            decisions.append(Decision(Kind.LAST_STARTED, name, Outcome.REPLACE, write=write))
        else:
            detail = (
                f"mdmflow's record ({current.isoformat()}) is older than NanoCMD's "
                f"({start.started_at.isoformat()}) (--overwrite replaces it)"
            )
            decisions.append(Decision(Kind.LAST_STARTED, name, Outcome.KEPT, detail))
    return decisions


def _record_start(stores: Stores, start: NanoStart) -> Write:
    async def write() -> None:
        # The ID an exclusive start of this workflow gets; the bridge finds nothing running
        # under it, as NanoCMD's record points at no running step either.
        workflow_id = f"{start.workflow}/{start.enrollment_id}"
        await stores.starts.record(
            start.enrollment_id, start.workflow, workflow_id, start.started_at
        )

    return write


def decide_steps(steps: Sequence[NanoStep]) -> list[Decision]:
    decisions = []
    for step in steps:
        shown = ", ".join(step.enrollment_ids[:SHOWN_IDS])
        more = len(step.enrollment_ids) - SHOWN_IDS
        ids = f"{shown} and {more} more" if more > 0 else shown
        waiting = (
            f"not sent before {step.not_until.isoformat()}"
            if step.not_until is not None
            else "waiting for answers"
        )
        label = f"{step.workflow} step {step.step!r}" if step.step else step.workflow
        decisions.append(
            Decision(
                Kind.STEP,
                f"{label} (instance {step.instance_id})",
                Outcome.REFUSED,
                f"{waiting} from {ids}: NanoCMD's in-flight steps are not migrated; let them "
                "finish in NanoCMD before the cut-over, or start the workflow again in mdmflow",
            )
        )
    return decisions
