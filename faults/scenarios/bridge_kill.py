"""(d) Bridge ``kill -9`` under load, and restart.

Workflows start at a steady rate through a second bridge that serves only the API (so
starting does not depend on the bridge under test) and the devices answer at once, so reports
reach the webhook bridge at about that rate. Mid-load that bridge is killed and started again
on its port.

It runs twice on one deployment: with the simulator's careful sender (it retries a POST that
got no answer), and as NanoMDM and MicroMDM really behave, never retrying a webhook. A report
answered 2xx must reach its workflow by itself; a report refused or cut off while no bridge
listened is lost at the MDM server (the device's answer is stored there, the command done),
and its workflow must complete by re-asking within one re-push interval
(``MDMFLOW_REPUSH_INTERVAL``, set low here) of the loss, or of the bridge's return if that came
later: a re-ask answered while the bridge is still down is lost the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from faults.cluster import Cluster, ClusterSpec, now, running_cluster, workflow_id
from faults.figures import Figure
from faults.procs import HarnessError, poll_until
from faults.scenarios.common import answered_not_delivered
from mdmflow.simulator.sender import WEBHOOK_RETRY, RetryPolicy

REPUSH_S = 5
SETTLE_TIMEOUT_S = 60.0
REASK_SLACK_S = 3.0
"""Beyond the re-push interval: the re-ask's enqueue, push and the device's answer."""
NO_RETRY = RetryPolicy(max_attempts=1)
SENDERS = (("careful sender", WEBHOOK_RETRY), ("NanoMDM, no retry", NO_RETRY))


@dataclass
class Phase:
    sender: str
    workflows: int
    rate: float
    killed_after_s: float
    restart_s: float
    posts: str
    refused: int
    """Devices whose report never got a 2xx answer (lost at the MDM server)."""
    recovered: int
    slowest_recovery_s: float
    dropped_after_2xx: int
    """Reports answered 2xx whose signal never reached their workflow."""
    lost: int
    reasked: int

    def line(self) -> str:
        refused = (
            f"{self.refused} reports never answered 2xx, {self.recovered} of their workflows "
            f"completed by re-ask within {self.slowest_recovery_s:.1f} s of the loss (or of "
            "the bridge's return)"
            if self.refused
            else "every report answered 2xx"
        )
        return (
            f"{self.sender}: {self.workflows} workflows at {self.rate:.0f}/s, bridge killed "
            f"{self.killed_after_s:.1f} s into the load, back in {self.restart_s:.1f} s; posts "
            f"{self.posts}; {refused}; answered 2xx but not delivered {self.dropped_after_2xx}; "
            f"re-asked {self.reasked}; lost {self.lost}"
        )


async def bridge_kill(
    devices_per_run: int = 100, rate: float = 25.0, kill_after_reports: int = 25
) -> Figure:
    figure = Figure("d", f"bridge kill -9 under load ({rate:.0f} reports/s)")
    senders = SENDERS
    spec = ClusterSpec(
        devices=devices_per_run * len(senders),
        bridges=2,
        balance_webhooks=False,
        repush_interval_s=REPUSH_S,
    )
    phases: list[Phase] = []
    async with running_cluster(spec) as cluster:
        devices = cluster.device_ids()
        for n, (sender, policy) in enumerate(senders):
            ids = devices[n * devices_per_run : (n + 1) * devices_per_run]
            cluster.sim.webhook_retry = policy
            phases.append(await _run(cluster, sender, ids, rate, kill_after_reports))
    figure.lost = sum(p.lost for p in phases)
    figure.line = " | ".join(p.line() for p in phases)
    for p in phases:
        key = "careful" if p.sender == senders[0][0] else "nanomdm"
        figure.metrics.update(
            {
                f"{key}_lost": p.lost,
                f"{key}_refused": p.refused,
                f"{key}_recovered": p.recovered,
                f"{key}_dropped_after_2xx": p.dropped_after_2xx,
                f"{key}_recovery_max_s": p.slowest_recovery_s,
                f"{key}_restart_s": p.restart_s,
            }
        )
        figure.expect(f"{p.sender}: no workflow lost", not p.lost, f"{p.lost} lost")
        figure.expect(
            f"{p.sender}: every report answered 2xx reaches its workflow by itself",
            not p.dropped_after_2xx,
            f"{p.dropped_after_2xx} answered 2xx but not in their workflow's history",
        )
        figure.expect(
            f"{p.sender}: refused reports' workflows complete within one re-push interval",
            p.recovered == p.refused and p.slowest_recovery_s <= REPUSH_S + REASK_SLACK_S,
            f"{p.recovered} of {p.refused}, slowest {p.slowest_recovery_s:.1f} s",
        )
    return figure


async def _run(
    cluster: Cluster, sender: str, ids: list[str], rate: float, kill_after_reports: int
) -> Phase:
    log = cluster.sim.webhooks
    began = now()
    load = asyncio.create_task(start_paced(cluster, ids, rate, bridge=1))
    await poll_until(
        f"waiting for {kill_after_reports} reports before the kill",
        lambda: len(log.reports(since=began)) >= kill_after_reports,
        SETTLE_TIMEOUT_S,
    )
    killed_at, restart_s = await _kill_and_restart(cluster)
    finished = await load
    try:
        await asyncio.wait_for(cluster.sim.wait_until_quiet(), SETTLE_TIMEOUT_S)
    except TimeoutError:
        raise HarnessError("devices still posting a minute after the load") from None
    outcomes = await cluster.wait_closed([workflow_id(i) for i in ids], SETTLE_TIMEOUT_S)
    enqueued = cluster.sim.enqueued_uuids()
    mine = set(ids)
    posts = log.tally(p for p in log.reports(since=began) if p.enrollment_id in mine)
    first_uuid = {i: enqueued.get(i, [""])[0] for i in ids}
    refused = [i for i in ids if not log.delivered(i, first_uuid[i])]
    lost = [i for i in ids if not outcomes[workflow_id(i)].completed]
    reasked = [i for i in ids if len(set(enqueued.get(i, []))) > 1]
    dropped = await answered_not_delivered(cluster, log, first_uuid, outcomes)
    recoveries = []
    for i in refused:
        closed = outcomes[workflow_id(i)].close_time
        posted = [p.at for p in log.reports(since=began) if p.enrollment_id == i]
        if outcomes[workflow_id(i)].completed and closed is not None and posted:
            # From when the report was lost, or the bridge was back if that came later.
            recoveries.append(closed - max(min(posted), killed_at + restart_s))
    return Phase(
        sender=sender,
        workflows=len(ids),
        rate=len(ids) / max(finished - began, 1e-9),
        killed_after_s=killed_at - began,
        restart_s=restart_s,
        posts=posts.line(),
        refused=len(refused),
        recovered=len(recoveries),
        slowest_recovery_s=max(recoveries, default=0.0),
        dropped_after_2xx=len(dropped),
        lost=len(lost),
        reasked=len(reasked),
    )


async def start_paced(cluster: Cluster, ids: list[str], rate: float, bridge: int) -> float:
    """Start devinfolog on one ID every 1/rate s through ``bridge``'s API (each start on its
    own, so a slow one does not slow the rate); returns when the last one was started."""
    first = now()
    starts = []
    for n, enrollment_id in enumerate(ids):
        delay = first + n / rate - now()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the load, not waiting for anything
        starts.append(asyncio.create_task(cluster.start_devinfolog([enrollment_id], bridge)))
    await asyncio.gather(*starts)
    return now()


async def _kill_and_restart(cluster: Cluster) -> tuple[float, float]:
    """Kill the webhook bridge and start it again; returns the kill time and the seconds
    from the kill until the new bridge answered ``/healthz``."""
    bridge = cluster.bridges[0]
    killed_at = now()
    await bridge.child.kill9()
    await cluster.start_bridge(bridge)
    return killed_at, now() - killed_at
