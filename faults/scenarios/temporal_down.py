"""(c) Temporal stopped while reports arrive.

Every step is enqueued and pushed to offline devices, Temporal is stopped, and then the
devices come back and answer. NanoMDM and MicroMDM never retry a webhook, so each report must
be answered 2xx by the bridge (committed to its intake) and reach its workflow once Temporal
is started again on its file. The re-push interval stays at its default (a day): a workflow
completed here was completed by its report, not by a re-ask.
"""

from __future__ import annotations

import asyncio

from faults.cluster import ClusterSpec, now, running_cluster
from faults.figures import Figure
from faults.procs import HarnessError

ANSWER_TIMEOUT_S = 120.0
SETTLE_TIMEOUT_S = 90.0


async def temporal_down(devices: int = 20) -> Figure:
    figure = Figure("c", "Temporal stopped while reports arrive")
    async with running_cluster(ClusterSpec(devices=devices)) as cluster:
        sim, log = cluster.sim, cluster.sim.webhooks
        ids = cluster.device_ids()
        sim.go_offline(ids)
        wids = await cluster.start_devinfolog(ids)
        await cluster.wait_waiting(wids)
        await cluster.temporal.stop()
        down_at = now()
        sim.come_online(ids)
        try:
            await asyncio.wait_for(sim.wait_until_quiet(), ANSWER_TIMEOUT_S)
        except TimeoutError:
            raise HarnessError(
                f"devices still posting {ANSWER_TIMEOUT_S:.0f} s after coming online"
            ) from None
        answered_in = [p.answered_at - p.at for p in log.posts if p.at >= down_at and p.answered_at]
        backlog = await cluster.intake()
        restart = await cluster.temporal.start()
        up_at = now()
        downtime = up_at - down_at
        outcomes = await cluster.wait_closed(wids, SETTLE_TIMEOUT_S)
        drained = await cluster.intake_drained(30.0)
    reports = log.tally(log.reports(since=down_at))
    every = log.tally(p for p in log.posts if p.at >= down_at)
    lost = [w for w, o in outcomes.items() if not o.completed]
    closes = [o.close_time - up_at for o in outcomes.values() if o.close_time is not None]
    pending = backlog.get("pending") if backlog else None
    figure.lost = len(lost)
    figure.metrics = {
        "reports": reports.attempts,
        "reports_2xx": reports.ok,
        "webhooks_not_2xx": every.refused + every.unanswered,
        "completed": len(wids) - len(lost),
        "lost": len(lost),
        "answer_max_s": max(answered_in, default=float("nan")),
    }
    figure.line = (
        f"{len(ids)} reports while Temporal was down {downtime:.1f} s: reports {reports.line()}; "
        f"all webhooks {every.line()}, slowest answer {max(answered_in, default=0.0):.2f} s; "
        f"intake backlog {pending if pending is not None else 'n/a'}"
        f"{', drained' if drained else ', not drained' if backlog else ''}; "
        f"after the restart ({restart:.1f} s) completed {len(wids) - len(lost)}/{len(wids)}"
        + (f" within {max(closes):.1f} s" if closes else "")
        + f"; lost {len(lost)}"
    )
    figure.expect(
        "every webhook answered 2xx",
        every.ok == every.attempts,
        f"{every.attempts - every.ok} of {every.attempts} not",
    )
    figure.expect("every workflow completes once Temporal is back", not lost, f"{len(lost)} lost")
    return figure
