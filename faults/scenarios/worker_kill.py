"""(a) Worker ``kill -9`` at different moments of a step, a replacement started each time.

The moments are the ones where a dying worker can leave the MDM server and the workflow
disagreeing, or leave Temporal waiting for it: its enqueue request, which also pushes, held at
the server's door (which then serves it, or drops it), the step waiting for answers with
the report arriving just after the kill, and the report's workflow task started on the dying
worker and never completed. Each kill hits two workflows; the replacement worker must finish
their steps with the UUIDs the workflow minted (a second UUID would be a second command on the
device).

"Resume" is the first sign of the step moving again after the kill: the retried enqueue
reaching the MDM server, or, for a step that was waiting for answers, the workflow closing.
The replacement is started once the moment is reached and polls before the kill, as a
supervisor's replica would: the figure is then how fast mdmflow and Temporal hand the step
over, not how long Python takes to start on a busy machine (that time is shown apart).

For the held workflow task the worker is stopped (``SIGSTOP``) before the answers arrive: a
stopped worker is dead to Temporal (it completes nothing, heartbeats nothing), yet its open
sticky poll still takes the answers' workflow tasks, which Temporal then marks started. It is
killed once every one is, and its resume counts from the stop.

One kill at a time: the next kill waits until the steps this one hit have closed. Kills
spaced closer than a hand-over (3 to 6 s) land on the replacement while it runs the previous
victims' retried attempt or workflow task, so that step is handed over twice; its resume is
then the sum of two, which measures the kill rate, not a hand-over. How each step was handed
over is read from its history (sticky-queue and workflow-task timeouts, activity retries).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.history.v1 import HistoryEvent

from faults.cluster import Cluster, ClusterSpec, Outcome, now, running_cluster, workflow_id
from faults.figures import Figure, seconds_summary
from faults.procs import poll_until
from faults.scenarios.common import duplicate_uuids

ENQUEUE_SERVED = "enqueue in flight, served after the kill"
ENQUEUE_DROPPED = "enqueue in flight, never served"
WAITING = "waiting for answers, report arriving after the kill"
TASK_HELD = "report's workflow task started on the dying worker"
MOMENTS = (ENQUEUE_SERVED, ENQUEUE_DROPPED, WAITING, TASK_HELD)
CLOSING_MOMENTS = (WAITING, TASK_HELD)
"""Moments whose step has nothing left to send: it resumes when its workflow closes."""
RESUME_LIMIT_S = 10.0
SETTLE_TIMEOUT_S = 120.0
"""Longest the scenario waits for a kill's victims (a step stuck for good shows as lost)."""
STICKY_TIMEOUT = "sticky-queue timeout"
TASK_TIMEOUT = "workflow-task timeout"
ACTIVITY_RETRY = "activity retry"


@dataclass
class Victim:
    enrollment_id: str
    moment: str
    killed_at: float
    resumed_after: float | None = None
    handover: tuple[str, ...] = ()
    """What Temporal waited for after the kill, in history order (see :func:`_handover`)."""


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
            await cluster.wait_closed([workflow_id(i) for i in ids], SETTLE_TIMEOUT_S)
        wids = [workflow_id(d) for d in devices]
        outcomes = await cluster.wait_closed(wids, SETTLE_TIMEOUT_S)
        for victim in victims:
            victim.resumed_after = _resumed_after(cluster, victim, outcomes)
            victim.handover = await _handover(cluster, victim)
        lost = [w for w, o in outcomes.items() if not o.completed]
        duplicates = duplicate_uuids(cluster.sim.enqueued_uuids())
    resumes = _resumes(victims)
    stuck = len(victims) - len(resumes)
    held = [v for v in victims if v.moment == TASK_HELD]
    missed = [v for v in held if not any(h.startswith(TASK_TIMEOUT) for h in v.handover)]
    figure.lost = len(lost)
    figure.metrics = {
        "kills": kills,
        "steps": len(wids),
        "lost": len(lost),
        "duplicate_uuids": duplicates,
        "resume_max_s": max(resumes, default=float("nan")),
        "resume_median_s": statistics.median(resumes) if resumes else float("nan"),
        "not_resumed": stuck,
        "task_held_missed": len(missed),
    }
    per_moment = "; ".join(
        f"{m}: {seconds_summary(_resumes(v for v in victims if v.moment == m))}" for m in moments
    )
    figure.line = (
        f"{kills} kills, {len(wids)} steps: lost {len(lost)}, duplicate command UUIDs "
        f"{duplicates}, kill→resume {seconds_summary(resumes)}"
        + (f", {stuck} never resumed" if stuck else "")
        + f"; replacement worker start to polling {seconds_summary(startups)}"
        + f" [{per_moment}]; hand-overs in the histories: {_handovers(victims)}"
        + _slowest(victims)
    )
    figure.expect("no step lost", not lost, f"{len(lost)} lost")
    figure.expect("no second command UUID minted", duplicates == 0, f"{duplicates} duplicates")
    worst = max(resumes, default=float("inf")) if not stuck else float("inf")
    figure.expect(
        f"every step resumes in under {RESUME_LIMIT_S:.0f} s",
        worst < RESUME_LIMIT_S,
        f"max {worst:.1f} s" + (f", {stuck} never" if stuck else ""),
    )
    if held:
        figure.expect(
            "each kill of a held workflow task held one",
            not missed,
            f"{len(missed)} of {len(held)} steps' tasks ran elsewhere",
        )
    return figure


async def _kill_at(cluster: Cluster, ids: list[str], moment: str) -> tuple[list[Victim], float]:
    """Bring ``ids``' new steps to ``moment``, start a replacement worker, kill the old one;
    returns the victims and the seconds the replacement took to poll."""
    (worker,) = cluster.live_workers()
    sim, gate = cluster.sim, cluster.mdm.gate
    held = moment in (ENQUEUE_SERVED, ENQUEUE_DROPPED)
    if held:
        gate.hold("enqueue", ids)
    else:
        sim.go_offline(ids)
    wids = await cluster.start_devinfolog(ids)
    if held:
        await poll_until(
            f"waiting for enqueue requests of {ids} at the MDM server",
            lambda: set(ids) <= gate.waiting("enqueue"),
            60.0,
        )
    else:
        await cluster.wait_waiting(wids)
    started = now()
    await cluster.start_worker()
    startup = now() - started
    killed_at = now()
    if moment == TASK_HELD:
        worker.pause()
        sim.come_online(ids)
        await cluster.wait_task_started(wids)
    await worker.kill9()
    if held:
        gate.release(drop=moment != ENQUEUE_SERVED)
    elif moment == WAITING:
        sim.come_online(ids)  # the answers arrive just after the kill
    return [Victim(i, moment, killed_at) for i in ids], startup


def _resumed_after(cluster: Cluster, victim: Victim, outcomes: dict[str, Outcome]) -> float | None:
    if victim.moment in CLOSING_MOMENTS:
        outcome = outcomes.get(workflow_id(victim.enrollment_id))
        if outcome is None or outcome.close_time is None:
            return None
        return max(0.0, outcome.close_time - victim.killed_at)
    calls = cluster.mdm.gate.calls_for("enqueue", victim.enrollment_id, since=victim.killed_at)
    return calls[0].at - victim.killed_at if calls else None


def _resumes(victims: Iterable[Victim]) -> list[float]:
    return [v.resumed_after for v in victims if v.resumed_after is not None]


async def _handover(cluster: Cluster, victim: Victim) -> tuple[str, ...]:
    """What Temporal waited for after the kill, from the step's history: a workflow task
    that timed out on the dead worker's sticky queue (never started) or after it started
    there (its start-to-close timeout, in seconds), and activity attempts past the first."""
    handle = cluster.client.get_workflow_handle(workflow_id(victim.enrollment_id))
    history = await handle.fetch_history()
    task_timeouts: dict[int, int] = {}
    seen: list[str] = []
    for event in history.events:
        if event.HasField("workflow_task_scheduled_event_attributes"):
            timeout = event.workflow_task_scheduled_event_attributes.start_to_close_timeout
            task_timeouts[event.event_id] = timeout.seconds
        if _event_time(event) < victim.killed_at:
            continue
        if event.HasField("workflow_task_timed_out_event_attributes"):
            timed_out = event.workflow_task_timed_out_event_attributes
            if timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
                seen.append(STICKY_TIMEOUT)
            else:
                limit = task_timeouts.get(timed_out.scheduled_event_id)
                seen.append(f"{TASK_TIMEOUT} ({limit} s)")
        elif event.HasField("activity_task_started_event_attributes"):
            attempt = event.activity_task_started_event_attributes.attempt
            if attempt > 1:
                seen.append(f"{ACTIVITY_RETRY} (attempt {attempt})")
    return tuple(seen)


def _event_time(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def _handovers(victims: Iterable[Victim]) -> str:
    counts = Counter(h for v in victims for h in v.handover)
    return ", ".join(f"{what}: {n}" for what, n in sorted(counts.items())) or "none"


def _slowest(victims: Iterable[Victim]) -> str:
    resumed = [v for v in victims if v.resumed_after is not None]
    if not resumed:
        return ""
    worst = max(resumed, key=lambda v: v.resumed_after or 0.0)
    path = ", then ".join(worst.handover) or "no timeout"
    return f"; slowest {worst.resumed_after:.1f} s ({worst.moment}): {path}"
