"""(c) through the bridge: a fleet start as an operator sends it, and what it costs.

Every ID goes in one ``POST /v1/workflow/{name}/start`` body (a JSON list) to the stack's
real bridge, over loopback HTTP. Past the bridge's threshold the answer is a 202 with the
instance ID, and the fan-out workflow (``mdmflow.fleetstart.v1``) starts the devices, page by
page, on the same worker that runs them. Measured: the POST's answer, the time until the
fan-out's result (every device started; the start rate compared with bare Temporal's), the
time until the last device closed, and ``GET /v1/instances/{id}`` on the whole instance
twice, once while its devices run and once when all are done, each with visibility's own
count of the instance next to the answer's total.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
from temporalio.client import WorkflowHandle

from bench.completion import wait_closed
from bench.mdmflow_path import DEVINFOLOG, instance_query
from bench.measure import FAN_OUT, FanOutResult, StatusRead, now, peak_rss_mb, wall
from bench.procs import BenchError, bounded, time_limit
from bench.stack import MDMStack
from mdmflow.activities.fleet_models import FleetProgress
from mdmflow.workflows.fleet_start import FleetStartWorkflow

API_USER = "nanocmd"
HTTP_TIMEOUT_S = 120.0
"""Generous: a slow answer is a figure to report, not a reason to give up."""


async def fan_out_fleet(stack: MDMStack, ids: Sequence[str]) -> FanOutResult:
    """Start devinfolog on ``ids`` with one POST to the bridge, follow the fan-out and the
    devices until all are done, and read the instance status while they run and after."""
    client = stack.client
    body = json.dumps(list(ids)).encode()
    async with httpx.AsyncClient(
        base_url=stack.bridge_url,
        auth=(API_USER, stack.settings.api_key),
        timeout=HTTP_TIMEOUT_S,
    ) as api:
        begin, begin_wall = now(), wall()
        reply = await api.post(
            f"/v1/workflow/{DEVINFOLOG}/start",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        answer_seconds = now() - begin
        if reply.status_code != 202:
            raise BenchError(f"fleet start answered {reply.status_code}: {reply.text[:300]}")
        accepted: dict[str, Any] = reply.json()
        instance_id = str(accepted["instance_id"])
        fan_out_id = str(accepted["fan_out_workflow_id"])
        handle: WorkflowHandle[FleetStartWorkflow, FleetProgress] = client.get_workflow_handle_for(
            FleetStartWorkflow.run, fan_out_id
        )
        progress = await bounded(
            f"waiting for the fan-out of {len(ids)} IDs", time_limit(len(ids)), handle.result()
        )
        start_seconds = now() - begin
        query = instance_query(instance_id)
        status = [await _status(api, stack, instance_id, "running")]
        closed = await wait_closed(client, query, progress.started)
        await stack.sim.wait_until_quiet()
        status.append(await _status(api, stack, instance_id, "all done"))
    runs = await client.count_workflows(f"WorkflowId = '{fan_out_id}'")
    return FanOutResult(
        name=FAN_OUT,
        workflows=len(ids),
        start_seconds=start_seconds,
        complete_seconds=closed.last_close - begin_wall,
        failures=progress.already_running + closed.failed,
        peak_rss_mb=peak_rss_mb(),
        events_per_workflow=closed.events_per_workflow,
        answer_seconds=answer_seconds,
        started=progress.started,
        already_running=progress.already_running,
        fan_out_runs=runs.count,
        status=status,
    )


async def _status(
    api: httpx.AsyncClient, stack: MDMStack, instance_id: str, when: str
) -> StatusRead:
    """One status read as an operator makes it (the default page of devices), timed; then
    visibility's count of the same instance."""
    begin = now()
    reply = await api.get(f"/v1/instances/{instance_id}")
    seconds = now() - begin
    if reply.status_code != 200:
        raise BenchError(f"instance status answered {reply.status_code}: {reply.text[:300]}")
    answer: dict[str, Any] = reply.json()
    counted = await stack.client.count_workflows(instance_query(instance_id))
    return StatusRead(
        when=when,
        seconds=seconds,
        total=int(answer["total"]),
        counts={str(k): int(v) for k, v in answer["counts"].items()},
        visibility=counted.count,
    )
