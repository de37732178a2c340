"""(b) Temporal dev server ``kill -9`` and restart on the same SQLite file.

Three kills, each with its own batch of workflows at a different moment: enqueue requests in
flight at the MDM server (served while Temporal is dead, so the worker cannot report the
activity's end), workflows waiting for answers, and workflows whose start was just answered
(their first workflow task in flight). Workers and the bridge keep running and must reconnect
by themselves. Devices stay offline while Temporal is down, so what is measured is Temporal's
own durability on its file, not the webhook path (that is scenario c).
"""

from __future__ import annotations

from faults.cluster import Cluster, ClusterSpec, running_cluster, workflow_id
from faults.figures import Figure, seconds_summary
from faults.procs import poll_until
from faults.scenarios.common import duplicate_uuids

ENQUEUE_IN_FLIGHT = "enqueue in flight"
WAITING = "waiting for answers"
JUST_STARTED = "just started"
MOMENTS = (ENQUEUE_IN_FLIGHT, WAITING, JUST_STARTED)
SETTLE_TIMEOUT_S = 90.0


async def temporal_kill(per_kill: int = 10, moments: tuple[str, ...] = MOMENTS) -> Figure:
    figure = Figure("b", f"Temporal kill -9 x{len(moments)} + restart on its file")
    spec = ClusterSpec(devices=per_kill * len(moments))
    async with running_cluster(spec) as cluster:
        devices = cluster.device_ids()
        restarts: list[float] = []
        for n, moment in enumerate(moments):
            ids = devices[n * per_kill : (n + 1) * per_kill]
            restarts.append(await _kill_at(cluster, ids, moment))
        wids = [workflow_id(d) for d in devices]
        outcomes = await cluster.wait_closed(wids, SETTLE_TIMEOUT_S)
        lost = [w for w, o in outcomes.items() if not o.completed]
        duplicates = duplicate_uuids(cluster.sim.enqueued_uuids())
    figure.lost = len(lost)
    figure.metrics = {
        "kills": len(moments),
        "workflows": len(wids),
        "lost": len(lost),
        "duplicate_uuids": duplicates,
        "restart_max_s": max(restarts),
    }
    figure.line = (
        f"{len(moments)} kills ({', '.join(moments)}), {len(wids)} workflows: lost {len(lost)}, "
        f"duplicate command UUIDs {duplicates}; restart to ready {seconds_summary(restarts)}"
    )
    figure.expect("no workflow lost", not lost, f"{len(lost)} lost")
    figure.expect("no second command UUID minted", duplicates == 0, f"{duplicates} duplicates")
    return figure


async def _kill_at(cluster: Cluster, ids: list[str], moment: str) -> float:
    """Bring a batch to ``moment``, kill Temporal, restart it; returns the restart's seconds."""
    sim, gate = cluster.sim, cluster.mdm.gate
    sim.go_offline(ids)
    if moment == ENQUEUE_IN_FLIGHT:
        gate.hold("enqueue", ids)
    wids = await cluster.start_devinfolog(ids)
    if moment == ENQUEUE_IN_FLIGHT:
        await poll_until(
            "waiting for enqueue requests at the MDM server",
            lambda: set(ids) <= gate.waiting("enqueue"),
            60.0,
        )
    elif moment == WAITING:
        await cluster.wait_waiting(wids)
    await cluster.temporal.kill9()
    gate.release()  # served while Temporal is dead: the worker cannot report the result
    restart = await cluster.temporal.start()
    sim.come_online(ids)
    return restart
