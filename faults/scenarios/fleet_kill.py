"""(h) Worker ``kill -9`` mid-fan-out: a fleet start loses no device and starts none twice.

One start of devinfolog on every device goes to a bridge process's API in one body (a JSON
list); past the bridge's threshold it is answered 202 and the fan-out workflow
(``mdmflow.fleetstart.v1``) starts the devices on the worker process, page by page. Once
Temporal's visibility shows the first ``kill_at`` devices of the instance started (and not yet
all), the worker is killed with SIGKILL and a replacement started; a second threshold kills
the replacement the same way, and so on. The devices answer at once, so many device
workflows are mid-step on the worker that dies.

Counted from Temporal alone once everything has closed: every device workflow of the instance
(visibility, by ``MdmInstanceId``) per ``MdmEnrollmentId`` — none missing, none twice — and
every devinfolog run in the namespace per workflow ID, so a second run of an enrollment is
seen even if it carried no instance ID. A visibility gap is confirmed by describing the
workflow before it counts as missing. The fan-out's own result must say it started all.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from faults.cluster import DEVINFOLOG, Cluster, ClusterSpec, now, running_cluster, workflow_id
from faults.figures import Figure
from faults.procs import HarnessError, poll_until
from mdmflow.activities.fleet_models import FleetProgress
from mdmflow.workflows import search
from mdmflow.workflows.fleet_start import FleetStartWorkflow

KILL_WAIT_S = 300.0
"""Longest wait for a kill's moment: the fan-out's start rate on a busy machine."""
SETTLE_TIMEOUT_S = 600.0
"""Longest wait for the fan-out and then every device to close (a stuck one shows as lost)."""
RPC_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True)
class Kill:
    threshold: int
    """Visibility showed at least this many devices of the instance started..."""
    started_at_kill: int
    """...and this many when the worker was killed."""
    after_s: float
    """Seconds from the POST to the kill."""


async def fleet_kill(devices: int = 2000, kill_at: Sequence[int] = (300, 1100)) -> Figure:
    """Start devinfolog on ``devices`` IDs in one fleet start and kill the worker once the
    instance has ``kill_at[0]`` devices started, its replacement at ``kill_at[1]``, ..."""
    figure = Figure("h", f"worker kill -9 x{len(kill_at)} mid-fan-out of {devices:,} IDs")
    async with running_cluster(ClusterSpec(devices=devices)) as cluster:
        ids = cluster.device_ids()
        began = now()
        accepted = await _fleet_start(cluster, ids)
        instance_id = str(accepted["instance_id"])
        fan_out_id = str(accepted["fan_out_workflow_id"])
        kills = [await _kill_at(cluster, instance_id, n, len(ids), began) for n in kill_at]
        progress = await _fan_out_result(cluster.client, fan_out_id)
        fanned_out = now() - began
        retried = await _pages_retried(cluster.client, fan_out_id)
        await _all_closed(cluster.client, instance_id, progress.started)
        finished = now() - began
        runs = await _runs_per_enrollment(cluster.client, instance_id)
        unlisted = [i for i in ids if i not in runs]
        gone = await _really_missing(cluster.client, instance_id, unlisted)
        second_runs = await _second_runs(cluster.client)
        not_completed = await _not_completed(cluster.client, instance_id)
    twice = sorted(i for i, n in runs.items() if n > 1)
    strangers = sorted(set(runs) - set(ids))
    handled = progress.started + progress.already_running
    figure.lost = len(gone) + not_completed
    figure.metrics = {
        "kills": len(kills),
        "ids": len(ids),
        "missing": len(gone),
        "duplicated": len(twice),
        "second_runs": len(second_runs),
        "not_completed": not_completed,
        "fan_out_started": progress.started,
        "fan_out_already_running": progress.already_running,
        "pages_retried": retried,
        "fan_out_s": fanned_out,
        "finish_s": finished,
    }
    moments = ", ".join(f"at {k.started_at_kill:,} started ({k.after_s:.1f} s)" for k in kills)
    figure.line = (
        f"{len(kills)} kills ({moments}), {len(ids):,} IDs in one start: missing {len(gone)}, "
        f"duplicated {len(twice)}, enrollments with a second run {len(second_runs)}, not "
        f"completed {not_completed}; fan-out reported {progress.started:,} started and "
        f"{progress.already_running} already running, {retried} page(s) retried after a kill; "
        f"all started after {fanned_out:.1f} s, "
        f"all done after {finished:.1f} s"
    )
    figure.expect("every ID has a device workflow of the instance", not gone, f"{len(gone)}")
    figure.expect("no ID has two", not twice and not strangers, f"{len(twice)} twice")
    figure.expect("no enrollment ran twice", not second_runs, f"{len(second_runs)} ran twice")
    figure.expect(
        "the fan-out's result counts every ID once",
        handled == len(ids),
        f"{progress.started} started + {progress.already_running} already running",
    )
    figure.expect(
        "every kill landed mid-fan-out",
        all(0 < k.started_at_kill < len(ids) for k in kills),
        ", ".join(str(k.started_at_kill) for k in kills),
    )
    return figure


async def _fleet_start(cluster: Cluster, ids: Sequence[str]) -> dict[str, Any]:
    async with cluster.api() as api:
        reply = await api.post(
            f"/v1/workflow/{DEVINFOLOG}/start",
            content=json.dumps(list(ids)).encode(),
            headers={"Content-Type": "application/json"},
        )
    if reply.status_code != 202:
        raise HarnessError(f"fleet start answered {reply.status_code}: {reply.text[:300]}")
    accepted: dict[str, Any] = reply.json()
    return accepted


async def _started(client: Client, instance_id: str) -> int | None:
    """Device workflows of the instance that Temporal's visibility shows (None while it is
    unreachable)."""
    try:
        counted = await client.count_workflows(_of(instance_id), rpc_timeout=RPC_TIMEOUT)
    except RPCError:
        return None
    return counted.count


async def _kill_at(
    cluster: Cluster, instance_id: str, threshold: int, total: int, began: float
) -> Kill:
    """Once ``threshold`` devices are started, kill the live worker and start another."""

    async def reached() -> bool:
        started = await _started(cluster.client, instance_id)
        return started is not None and started >= threshold

    await poll_until(f"waiting for {threshold} devices started", reached, KILL_WAIT_S, interval=0.1)
    (worker,) = cluster.live_workers()
    await worker.kill9()
    killed = now() - began
    at_kill = await _started(cluster.client, instance_id)
    await cluster.start_worker()
    return Kill(threshold, at_kill if at_kill is not None else -1, killed)


async def _fan_out_result(client: Client, fan_out_id: str) -> FleetProgress:
    """The fan-out's last run's result (it continues as new once per page)."""
    handle: WorkflowHandle[FleetStartWorkflow, FleetProgress] = client.get_workflow_handle_for(
        FleetStartWorkflow.run, fan_out_id
    )

    async def closed() -> bool:
        try:
            described = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError:
            return False
        return described.status not in (None, WorkflowExecutionStatus.RUNNING)

    await poll_until("waiting for the fan-out to end", closed, SETTLE_TIMEOUT_S, interval=0.2)
    return await handle.result(rpc_timeout=RPC_TIMEOUT)


async def _pages_retried(client: Client, fan_out_id: str) -> int:
    """Page activities of the fan-out (every run) that started more than once: the kills
    that landed while a page was being started, resumed from its last heartbeat."""
    retried = 0
    async for run in client.list_workflows(f"WorkflowId = '{fan_out_id}'"):
        history = await client.get_workflow_handle(fan_out_id, run_id=run.run_id).fetch_history()
        retried += sum(
            1
            for event in history.events
            if event.HasField("activity_task_started_event_attributes")
            and event.activity_task_started_event_attributes.attempt > 1
        )
    return retried


async def _all_closed(client: Client, instance_id: str, expected: int) -> None:
    """Until visibility shows ``expected`` device workflows of the instance and none runs."""

    async def done() -> bool:
        try:
            total = await client.count_workflows(_of(instance_id), rpc_timeout=RPC_TIMEOUT)
            running = await client.count_workflows(
                f"{_of(instance_id)} AND ExecutionStatus = 'Running'", rpc_timeout=RPC_TIMEOUT
            )
        except RPCError:
            return False
        return total.count >= expected and running.count == 0

    await poll_until("waiting for every device to close", done, SETTLE_TIMEOUT_S, interval=0.5)


async def _runs_per_enrollment(client: Client, instance_id: str) -> Counter[str]:
    runs: Counter[str] = Counter()
    async for execution in client.list_workflows(_of(instance_id), page_size=1000):
        runs[execution.typed_search_attributes.get(search.ENROLLMENT_ID) or ""] += 1
    return runs


async def _second_runs(client: Client) -> list[str]:
    """Workflow IDs with more than one devinfolog run in the namespace (this cluster's own
    Temporal, so every run is this scenario's)."""
    per_id: Counter[str] = Counter()
    async for execution in client.list_workflows(f"WorkflowType = '{DEVINFOLOG}'", page_size=1000):
        per_id[execution.id] += 1
    return sorted(w for w, n in per_id.items() if n > 1)


async def _not_completed(client: Client, instance_id: str) -> int:
    counted = await client.count_workflows(
        f"{_of(instance_id)} AND ExecutionStatus != 'Completed'", rpc_timeout=RPC_TIMEOUT
    )
    return counted.count


async def _really_missing(client: Client, instance_id: str, unlisted: Sequence[str]) -> list[str]:
    """Of the IDs visibility did not list, those Temporal has no workflow of the instance for:
    visibility can lag, the workflow's own record cannot."""
    gone = []
    for enrollment_id in unlisted:
        handle = client.get_workflow_handle(workflow_id(enrollment_id))
        try:
            described = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            gone.append(enrollment_id)
            continue
        if described.typed_search_attributes.get(search.INSTANCE_ID) != instance_id:
            gone.append(enrollment_id)
    return gone


def _of(instance_id: str) -> str:
    return f"{search.INSTANCE_ID.name} = '{instance_id}'"
