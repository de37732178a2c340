"""(a) Worker ``kill -9`` at different moments of a step, a replacement started each time.

The moments are the ones where a dying worker can leave the MDM server and the workflow
disagreeing: its enqueue request held at the server's door (which then serves it, or drops
it), its push held there, and the step waiting for answers with the report arriving just
after the kill. Each kill hits two workflows; the replacement worker must finish their steps
with the UUIDs the workflow minted (a second UUID would be a second command on the device).

"Resume" is the first sign of the step moving again after the kill: the retried enqueue
reaching the MDM server, or, for a step that was waiting for answers, the workflow closing.
The replacement is started once the moment is reached and polls before the kill, as a
supervisor's replica would: the figure is then how fast mdmflow and Temporal hand the step
over, not how long Python takes to start on a busy machine (that time is shown apart).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from faults.cluster import Cluster, ClusterSpec, Outcome, now, running_cluster, workflow_id
from faults.figures import Figure, seconds_summary
from faults.procs import poll_until
from faults.scenarios.common import duplicate_uuids
from faults.simulator import ApiKind

ENQUEUE_SERVED = "enqueue in flight, served after the kill"
ENQUEUE_DROPPED = "enqueue in flight, never served"
PUSH_DROPPED = "push in flight, never served"
WAITING = "waiting for answers, report arriving after the kill"
MOMENTS = (ENQUEUE_SERVED, ENQUEUE_DROPPED, PUSH_DROPPED, WAITING)
RESUME_LIMIT_S = 10.0
SETTLE_TIMEOUT_S = 120.0
"""Longest the scenario waits for the last victims (a step stuck for good shows as lost)."""


@dataclass
class Victim:
    enrollment_id: str
    moment: str
    killed_at: float
    resumed_after: float | None = None


async def worker_kill(
    kills: int = 20, per_kill: int = 2, moments: tuple[str, ...] = MOMENTS
) -> Figure:
    figure = Figure("a", f"worker kill -9 x{kills} mid-step")
    spec = ClusterSpec(devices=kills * per_kill)
    async with running_cluster(spec) as cluster:
        devices = cluster.device_ids()
        victims: list[Victim] = []
        startups: list[float] = []
        for round_ in range(kills):
            ids = devices[round_ * per_kill : (round_ + 1) * per_kill]
            moment = moments[round_ % len(moments)]
            hit, startup = await _kill_at(cluster, ids, moment)
            victims += hit
            startups.append(startup)
        wids = [workflow_id(d) for d in devices]
        outcomes = await cluster.wait_closed(wids, SETTLE_TIMEOUT_S)
        for victim in victims:
            victim.resumed_after = _resumed_after(cluster, victim, outcomes)
        lost = [w for w, o in outcomes.items() if not o.completed]
        duplicates = duplicate_uuids(cluster.sim.enqueued_uuids())
    resumes = _resumes(victims)
    stuck = len(victims) - len(resumes)
    figure.lost = len(lost)
    figure.metrics = {
        "kills": kills,
        "steps": len(wids),
        "lost": len(lost),
        "duplicate_uuids": duplicates,
        "resume_max_s": max(resumes, default=float("nan")),
        "resume_median_s": statistics.median(resumes) if resumes else float("nan"),
        "not_resumed": stuck,
    }
    per_moment = "; ".join(
        f"{m}: {seconds_summary(_resumes(v for v in victims if v.moment == m))}" for m in moments
    )
    figure.line = (
        f"{kills} kills, {len(wids)} steps: lost {len(lost)}, duplicate command UUIDs "
        f"{duplicates}, kill→resume {seconds_summary(resumes)}"
        + (f", {stuck} never resumed" if stuck else "")
        + f"; replacement worker start to polling {seconds_summary(startups)}"
        + f" [{per_moment}]"
    )
    figure.expect("no step lost", not lost, f"{len(lost)} lost")
    figure.expect("no second command UUID minted", duplicates == 0, f"{duplicates} duplicates")
    worst = max(resumes, default=float("inf")) if not stuck else float("inf")
    figure.expect(
        f"every step resumes in under {RESUME_LIMIT_S:.0f} s",
        worst < RESUME_LIMIT_S,
        f"max {worst:.1f} s" + (f", {stuck} never" if stuck else ""),
    )
    return figure


async def _kill_at(cluster: Cluster, ids: list[str], moment: str) -> tuple[list[Victim], float]:
    """Bring ``ids``' new steps to ``moment``, start a replacement worker, kill the old one;
    returns the victims and the seconds the replacement took to poll."""
    (worker,) = cluster.live_workers()
    sim, gate = cluster.sim, cluster.mdm.gate
    door: ApiKind | None = None
    if moment in (ENQUEUE_SERVED, ENQUEUE_DROPPED):
        door = "enqueue"
    elif moment == PUSH_DROPPED:
        door = "push"
    if door is not None:
        gate.hold(door, ids)
    else:
        sim.go_offline(ids)
    wids = await cluster.start_devinfolog(ids)
    if door is not None:
        held_door = door
        await poll_until(
            f"waiting for {held_door} requests of {ids} at the MDM server",
            lambda: set(ids) <= gate.waiting(held_door),
            60.0,
        )
    else:
        await cluster.wait_waiting(wids)
    started = now()
    await cluster.start_worker()
    startup = now() - started
    killed_at = now()
    await worker.kill9()
    if door is not None:
        gate.release(drop=moment != ENQUEUE_SERVED)
    else:
        sim.come_online(ids)  # the answers arrive just after the kill
    return [Victim(i, moment, killed_at) for i in ids], startup


def _resumed_after(cluster: Cluster, victim: Victim, outcomes: dict[str, Outcome]) -> float | None:
    if victim.moment == WAITING:
        outcome = outcomes.get(workflow_id(victim.enrollment_id))
        if outcome is None or outcome.close_time is None:
            return None
        return max(0.0, outcome.close_time - victim.killed_at)
    calls = cluster.mdm.gate.calls_for("enqueue", victim.enrollment_id, since=victim.killed_at)
    return calls[0].at - victim.killed_at if calls else None


def _resumes(victims: Iterable[Victim]) -> list[float]:
    return [v.resumed_after for v in victims if v.resumed_after is not None]
