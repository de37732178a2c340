"""(e) The MDM server down for 60 s while steps want to enqueue.

Every enqueue attempt during the outage gets a 503; the enqueue activity retries with backoff
and must re-send the same command UUIDs, so when the server is back each device holds exactly
one command per step, however many attempts it took.
"""

from __future__ import annotations

import statistics

from faults.cluster import ClusterSpec, now, running_cluster
from faults.figures import Figure
from faults.procs import poll_until

SETTLE_TIMEOUT_S = 120.0
"""After the outage: the enqueue retry's backoff (up to 64 s at the 60 s mark) plus margin."""


async def mdm_outage(devices: int = 20, outage_s: float = 60.0) -> Figure:
    figure = Figure("e", f"MDM server down {outage_s:.0f} s")
    async with running_cluster(ClusterSpec(devices=devices)) as cluster:
        sim, gate = cluster.sim, cluster.mdm.gate
        ids = cluster.device_ids()
        sim.outage = True
        began = now()
        wids = await cluster.start_devinfolog(ids)
        await poll_until(
            "waiting for every step's first enqueue attempt",
            lambda: all(gate.calls_for("enqueue", i, since=began) for i in ids),
            60.0,
        )
        # The outage is the fault itself, held for its whole length (nothing to wait for).
        await poll_until(
            "the MDM outage", lambda: now() - began >= outage_s, outage_s + 5, interval=0.5
        )
        sim.outage = False
        ended = now()
        attempts_during = [len(gate.calls_for("enqueue", i)) for i in ids]
        outcomes = await cluster.wait_closed(wids, SETTLE_TIMEOUT_S)
        lost = [w for w, o in outcomes.items() if not o.completed]
        enqueued = sim.enqueued_uuids()
        commands = [len(set(enqueued.get(i, []))) for i in ids]
        queued = sim.stats.commands_enqueued
        closes = [o.close_time - ended for o in outcomes.values() if o.close_time is not None]
    figure.lost = len(lost)
    figure.metrics = {
        "steps": len(ids),
        "lost": len(lost),
        "commands_per_device_max": max(commands),
        "commands_queued": queued,
        "attempts_median": statistics.median(attempts_during),
        "completed_after_s": max(closes, default=float("nan")),
    }
    figure.line = (
        f"{len(ids)} steps: commands per device {statistics.mean(commands):.2f} "
        f"(max {max(commands)}), {queued} commands queued for {len(ids)} steps after "
        f"{statistics.median(attempts_during):.0f} enqueue attempts per device (median); "
        f"all closed {max(closes, default=float('nan')):.1f} s after the server came back; "
        f"lost {len(lost)}"
    )
    figure.expect("no workflow lost", not lost, f"{len(lost)} lost")
    figure.expect(
        "exactly one command per device and step",
        max(commands) == 1 and min(commands) == 1 and queued == len(ids),
        f"{min(commands)}..{max(commands)} UUIDs per device, {queued} queued",
    )
    return figure
