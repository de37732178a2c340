"""Start one device's MDM workflow the one way mdmflow does: by the synchronous starter and
by the fleet fan-out's page activity alike (workflow ID, search attributes, summary, details,
conflict policy, task timeout)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from mdmflow.workflows import search
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.workflow_config import (
    WORKFLOW_TASK_TIMEOUT,
    device_details,
    device_workflow_id,
)

MAX_PARALLEL_STARTS = 32
"""Starts in flight at once from one process: enough to keep the dev server busy, few enough that a
fleet does not open thousands of RPCs. Tried at 64: on 3,000-ID fleets the start rate rose (bare
182 to 191 starts/s, mdmflow 162 to 175 synchronous, 142 to 172 fan-out), but at 10,000 IDs it
did not (full bench runs: synchronous 0.92 of bare both ways, fan-out 0.88 and 0.88-0.90), and
1,000 devices doing 3 steps each went from 73.5 and 66.3 to 60.3 and 59.1 rounds/s (bare 93-101
throughout), the server spending 11.6-13.5 ms a round at 32 and 15.0-15.1 at 64 (two runs each,
one machine; why the server works harder was not measured)."""

FAN_OUT_PARALLEL_STARTS = 64
"""Starts in flight at once from one worker's fan-out pages, twice the synchronous start's:
the fan-out needs more in flight to keep the same pace (why was not measured). On 3,000-ID
fleets, one bench run each: 142 and 127 starts/s with 32 in flight, 172 and 188 with 64,
where the synchronous start, at 32 throughout, gave 162, 149 and 176 (bare 130 to 186 within
one run). It holds only the fan-out's starts; the synchronous start and the bench's starts
keep :data:`MAX_PARALLEL_STARTS`."""


async def start_device(
    client: Client,
    task_queue: str,
    start: WorkflowStart,
    *,
    name: str,
    exclusive: bool,
    summary: str,
    first_step: str = "",
) -> bool:
    """Start ``name`` on one device; False if its workflow ID is running already (NanoCMD's
    exclusivity, or the same instance's start repeated)."""
    try:
        await client.start_workflow(
            name,
            start,
            id=device_workflow_id(name, exclusive, start.enrollment_id, start.instance_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            task_timeout=WORKFLOW_TASK_TIMEOUT,
            search_attributes=search.start_attributes(
                name, start.enrollment_id, start.instance_id, first_step
            ),
            static_summary=f"{summary} on {start.enrollment_id}",
            static_details=device_details(start.instance_id, start.context),
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def started_for(client: Client, workflow_id: str, instance_id: str) -> bool:
    """Whether the latest run of ``workflow_id``, running or not, belongs to ``instance_id``:
    a start retried after a crash must not start a device that it started before the crash
    and whose workflow may have ended since."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return described.typed_search_attributes.get(search.INSTANCE_ID) == instance_id
