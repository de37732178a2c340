"""Cancel an instance, or a workflow on given enrollment IDs, with a reason the Web UI shows.

The reason goes into the cancel request (``WorkflowHandle.cancel(reason=...)``), so it is the
``cause`` of the WorkflowExecutionCancelRequested event in the history. Cancelling is
idempotent: a workflow that already ended is counted as already ended, not reported as an
error. The call returns once every request is accepted;
it does not wait for the workflows to finish their cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from mdmflow.bridge.fan_out import stop_fan_out
from mdmflow.bridge.instance_models import CancelOutcome
from mdmflow.bridge.instance_query import NOT_CONTINUED, UnknownInstanceError, instance_query
from mdmflow.mdm import limits
from mdmflow.visibility import enrollment_workflow_ids
from mdmflow.workflows import search
from mdmflow.workflows.registry import workflow_class

CONCURRENCY = 32
DEFAULT_REASON = "cancelled through mdmflow"


async def _cancel_one(client: Client, workflow_id: str, reason: str) -> str:
    """``cancelled``, ``already_ended`` or ``not_found``.

    The run is described first: Temporal accepts a second cancel request for a run that was
    cancelled already, so only its state tells "already ended" apart.
    """
    handle = client.get_workflow_handle(workflow_id)
    try:
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return "already_ended"
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "not_found"
        raise
    try:
        await handle.cancel(reason=reason)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # ended between the two calls
            return "already_ended"
        raise
    return "cancelled"


async def _cancel_all(
    client: Client, workflow_ids: Sequence[str], reason: str, outcome: CancelOutcome
) -> CancelOutcome:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(workflow_id: str) -> str:
        async with gate:
            return await _cancel_one(client, workflow_id, reason)

    results = await asyncio.gather(*(one(w) for w in workflow_ids))
    for workflow_id, result in zip(workflow_ids, results, strict=True):
        if result == "cancelled":
            outcome.cancelled += 1
            outcome.workflow_ids.append(workflow_id)
        elif result == "already_ended":
            outcome.already_ended += 1
        else:
            outcome.not_found += 1
    return outcome


async def cancel_instance(client: Client, instance_id: str, reason: str) -> CancelOutcome:
    """Request cancellation of every running workflow of the instance;
    :class:`UnknownInstanceError` when Temporal knows none of it.

    A fleet start's fan-out is cancelled first and waited for, so it starts no device after
    the listing below.

    One listing decides both counts, so they add up to the instance's devices even while
    visibility catches up (a run listed as running that has ended counts as already ended).
    """
    query = f"{instance_query(instance_id)} AND {NOT_CONTINUED}"
    fan_out_stopped = await stop_fan_out(client, instance_id, reason)
    running: list[str] = []
    ended = 0
    async for execution in client.list_workflows(query):
        if execution.typed_search_attributes.get(search.INSTANCE_ID) != instance_id:
            continue
        if execution.status == WorkflowExecutionStatus.RUNNING:
            running.append(execution.id)
        else:
            ended += 1
    if not running and not ended and not fan_out_stopped:
        raise UnknownInstanceError(instance_id)
    outcome = CancelOutcome(already_ended=ended, fan_out_cancelled=fan_out_stopped)
    return await _cancel_all(client, running, reason, outcome)


async def cancel_workflow(
    client: Client, name: str, enrollment_ids: Sequence[str], reason: str
) -> CancelOutcome:
    """Request cancellation of workflow ``name`` on each enrollment ID.

    An exclusive workflow has one ID per enrollment, so it is addressed directly (consistent at
    once); other workflows are found by their running runs in visibility.
    :class:`~mdmflow.workflows.registry.UnknownWorkflowError` for a name mdmflow does not have.
    """
    config = workflow_class(name).config
    ids = list(dict.fromkeys(i.strip() for i in enrollment_ids if i.strip()))
    for eid in ids:
        limits.check_id(eid, "id")
    if config.exclusive:
        return await _cancel_all(
            client, [config.workflow_id(e, "") for e in ids], reason, CancelOutcome()
        )
    outcome = CancelOutcome()
    found: list[str] = []
    prefix = f"{name}/"
    for eid in ids:
        mine = [w async for w in enrollment_workflow_ids(client, eid) if w.startswith(prefix)]
        if not mine:
            outcome.not_found += 1
        found.extend(mine)
    return await _cancel_all(client, found, reason, outcome)
