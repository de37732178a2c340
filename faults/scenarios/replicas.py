"""(g) Replicas: two workers and two bridges on one Temporal and a PostgreSQL app database.

The devices post to a load balancer in front of both bridges (each new connection to the next
bridge that accepts it), workflows start at a steady rate through the API of the bridge that
will survive, and mid-run one worker and then
one bridge are killed for good. The MDM server behaves as NanoMDM does (a webhook POST is
never retried), so a report cut off inside the dead bridge is lost there and its workflow
must recover by re-asking. Whatever the dead bridge had committed to the intake but not yet
delivered is left to the surviving bridge's relay (the backlog is shared on PostgreSQL).
"""

from __future__ import annotations

import asyncio

from faults.cluster import ClusterSpec, now, running_cluster, workflow_id
from faults.figures import Figure
from faults.procs import HarnessError, poll_until
from faults.scenarios.bridge_kill import NO_RETRY, start_paced
from faults.scenarios.common import answered_not_delivered
from tests.support.postgres import EphemeralPostgres

REPUSH_S = 5
SETTLE_TIMEOUT_S = 90.0
DRAIN_TIMEOUT_S = 90.0


async def replicas(
    devices: int = 100, rate: float = 20.0, kill_worker_after: int = 20, kill_bridge_after: int = 40
) -> Figure:
    """Kill a worker once ``kill_worker_after`` steps were sent to the MDM server, and a
    bridge once ``kill_bridge_after`` reports were posted."""
    figure = Figure("g", "replicas: 2 workers + 2 bridges on PostgreSQL, one of each killed")
    server = EphemeralPostgres()
    await asyncio.to_thread(server.start)
    try:
        spec = ClusterSpec(
            devices=devices,
            workers=2,
            bridges=2,
            repush_interval_s=REPUSH_S,
            database_url=server.url,
        )
        async with running_cluster(spec) as cluster:
            sim, log = cluster.sim, cluster.sim.webhooks
            sim.webhook_retry = NO_RETRY
            ids = cluster.device_ids()
            began = now()
            load = asyncio.create_task(start_paced(cluster, ids, rate, bridge=1))
            gate = cluster.mdm.gate
            await poll_until(
                "the worker kill's moment",
                lambda: sum(1 for c in gate.calls if c.kind == "enqueue") >= kill_worker_after,
                SETTLE_TIMEOUT_S,
            )
            await cluster.workers[0].kill9()
            worker_killed = now() - began
            await poll_until(
                "the bridge kill's moment",
                lambda: len(log.reports()) >= kill_bridge_after,
                SETTLE_TIMEOUT_S,
            )
            await cluster.bridges[0].child.kill9()
            bridge_killed = now() - began
            await load
            try:
                await asyncio.wait_for(sim.wait_until_quiet(), SETTLE_TIMEOUT_S)
            except TimeoutError:
                raise HarnessError("devices still posting after the load") from None
            outcomes = await cluster.wait_closed([workflow_id(i) for i in ids], SETTLE_TIMEOUT_S)
            closed_at = now()
            # Rows the dead bridge had claimed wait for their lease to run out first.
            drained = await cluster.intake_drained(DRAIN_TIMEOUT_S, bridge=1)
            drain_s = now() - closed_at
            backlog = await cluster.intake(bridge=1)
            enqueued = sim.enqueued_uuids()
            dropped = await answered_not_delivered(
                cluster, log, {i: enqueued.get(i, [""])[0] for i in ids}, outcomes
            )
            balanced = cluster.balancer.connections if cluster.balancer else []
    finally:
        await asyncio.to_thread(server.stop)
    posts = log.tally(log.reports())
    lost = [i for i in ids if not outcomes[workflow_id(i)].completed]
    reasked = [i for i in ids if len(set(enqueued.get(i, []))) > 1]
    per_step = max((len(set(enqueued.get(i, []))) for i in ids), default=0)
    pending = backlog.get("pending") if backlog else None
    figure.lost = len(lost)
    figure.metrics = {
        "workflows": len(ids),
        "lost": len(lost),
        "reasked": len(reasked),
        "intake_pending": float(pending) if isinstance(pending, int) else float("nan"),
    }
    figure.line = (
        f"{len(ids)} workflows at {rate:.0f}/s, worker-1 killed {worker_killed:.1f} s and "
        f"bridge-0 {bridge_killed:.1f} s into the load (not restarted): report posts "
        f"{posts.line()}; "
        f"balancer connections per bridge {balanced}; answered 2xx but not delivered "
        f"{len(dropped)}; re-asked {len(reasked)} "
        f"(at most {per_step} UUIDs per step); shared intake "
        + (
            f"drained by the surviving bridge {drain_s:.1f} s after the last workflow closed"
            if drained
            else f"not drained: {pending if pending is not None else 'n/a'} pending"
        )
        + f"; lost {len(lost)}"
    )
    figure.expect("no workflow lost", not lost, f"{len(lost)} lost")
    figure.expect(
        "every report answered 2xx reaches its workflow",
        not dropped,
        f"{len(dropped)} answered 2xx but not in their workflow's history",
    )
    figure.expect(
        "the surviving bridge drains the shared intake", drained, f"{pending} still pending"
    )
    return figure
