"""A fleet start's fan-out as the instance status and cancel see it.

The fan-out has a workflow ID derived from the instance ID, so it is addressed directly
(consistent at once, unlike visibility) and carries no instance search attribute: the
instance's counts stay counts of devices.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from mdmflow.activities.fleet_models import FleetProgress, fleet_workflow_id
from mdmflow.bridge.instance_models import FanOutStatus
from mdmflow.bridge.instance_query import STATE_NAMES
from mdmflow.workflows.fleet_start import FleetStartWorkflow

QUERY_TIMEOUT = timedelta(seconds=1)
CANCEL_WAIT_S = 10.0
"""How long a cancel waits for the fan-out to stop before it lists the devices to cancel:
a device it starts after the listing would otherwise keep running."""


def _handle(client: Client, instance_id: str) -> WorkflowHandle[FleetStartWorkflow, FleetProgress]:
    return client.get_workflow_handle_for(FleetStartWorkflow.run, fleet_workflow_id(instance_id))


async def fan_out_status(client: Client, instance_id: str) -> FanOutStatus | None:
    """The instance's fan-out and its progress; None for an instance started without one."""
    handle = _handle(client, instance_id)
    try:
        described = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    status = FanOutStatus(
        workflow_id=handle.id,
        state=STATE_NAMES.get(described.status, "running") if described.status else "running",
    )
    try:
        status.progress = await handle.query(FleetStartWorkflow.progress, rpc_timeout=QUERY_TIMEOUT)
    except Exception as exc:  # no worker, timed out: still show the fan-out's state
        status.query_error = str(exc) or type(exc).__name__
    return status


async def fan_out_running(client: Client, instance_id: str) -> bool:
    """Whether the instance has a fan-out running now (its latest run, after any
    continue-as-new); False for one that ended or never started."""
    try:
        described = await _handle(client, instance_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return described.status == WorkflowExecutionStatus.RUNNING


async def stop_fan_out(client: Client, instance_id: str, reason: str) -> bool:
    """Cancel the instance's running fan-out and wait (bounded) until it has stopped; True if
    there was one running. Its cancellation ends it before it starts another device."""
    if not await fan_out_running(client, instance_id):
        return False
    handle = _handle(client, instance_id)
    try:
        await handle.cancel(reason=reason)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    try:
        async with asyncio.timeout(CANCEL_WAIT_S):
            await handle.result()
    except Exception:  # cancelled (expected), or still stopping: the devices are cancelled next
        pass
    return True
