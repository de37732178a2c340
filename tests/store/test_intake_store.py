"""The webhook intake on both app databases: leases, order of check-ins, outcomes, backlog."""

from __future__ import annotations

import asyncio
import datetime as dt

from mdmflow.store.database import Database
from mdmflow.store.intake import IntakeKind, IntakeOutcome, IntakeStore

NOW = dt.timedelta(0)
LEASE = dt.timedelta(minutes=5)


async def accept(store: IntakeStore, kind: IntakeKind, eid: str, lease: dt.timedelta = NOW) -> int:
    entry = await store.accept(kind, eid, "", f"{kind}:{eid}".encode(), lease)
    return entry.id


async def test_an_accepted_webhook_is_left_to_its_bridge_until_the_lease_runs_out(
    database: Database,
) -> None:
    store = IntakeStore(database)
    await accept(store, IntakeKind.REPORT, "A", lease=LEASE)
    assert await store.claim_due(10, LEASE) == []
    due = await accept(store, IntakeKind.REPORT, "B")
    [claimed] = await store.claim_due(10, LEASE)
    assert (claimed.id, claimed.body, claimed.attempts) == (due, b"report:B", 2)
    assert await store.claim_due(10, LEASE) == [], "a claimed row is leased, not claimed twice"


async def test_check_ins_of_one_enrollment_are_claimed_in_order(database: Database) -> None:
    store = IntakeStore(database)
    first = await accept(store, IntakeKind.CHECKIN, "A")
    second = await accept(store, IntakeKind.CHECKIN, "A")
    other = await accept(store, IntakeKind.CHECKIN, "B")
    report = await accept(store, IntakeKind.REPORT, "A")
    claimed = await store.claim_due(10, NOW)
    assert [e.id for e in claimed] == [first, other, report]
    # still pending (leased or retried): the later check-in keeps waiting
    entry = next(e for e in claimed if e.id == first)
    await store.retry_later(entry, NOW, "Temporal is unavailable")
    assert [e.id for e in await store.claim_due(10, NOW)] == [first, other, report]
    await store.delivered(entry)
    assert [e.id for e in await store.claim_due(10, NOW)] == [second, other, report]


async def test_recorded_outcomes_are_kept_but_never_claimed_and_pruned_later(
    database: Database,
) -> None:
    store = IntakeStore(database)
    await accept(store, IntakeKind.REPORT, "A")
    await accept(store, IntakeKind.REPORT, "B", lease=LEASE)
    [entry] = await store.claim_due(10, LEASE)
    await store.record(entry, IntakeOutcome.UNROUTED)
    assert await store.claim_due(10, NOW) == []
    backlog = await store.backlog()
    assert backlog.pending == 1
    assert backlog.recorded == {"unrouted": 1}
    assert backlog.oldest_pending_age_s is not None
    assert 0 <= backlog.oldest_pending_age_s < 60
    assert await store.prune(dt.timedelta(days=1)) == 0
    assert await store.prune(dt.timedelta(seconds=-1)) == 1, "only the recorded row goes"
    assert (await store.backlog()).pending == 1


async def test_concurrent_claimers_share_the_backlog_without_overlap(database: Database) -> None:
    stores = [IntakeStore(database) for _ in range(4)]
    ids = {await accept(stores[0], IntakeKind.REPORT, f"E{i}") for i in range(40)}
    rounds = await asyncio.gather(*(s.claim_due(7, LEASE) for s in stores * 3))
    claimed = [e.id for batch in rounds for e in batch]
    assert len(claimed) == len(set(claimed)), "no row was claimed twice"
    assert set(claimed) <= ids
    assert len(claimed) == min(len(ids), 7 * len(rounds))
