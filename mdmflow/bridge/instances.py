"""Status of one instance from Temporal alone: counts by state from visibility (server-side,
so a 10,000-device instance costs one count), one page of devices, each running one asked
its ``status`` query and each failed one its close event, concurrently and bounded, and a
fleet start's fan-out progress from its own ``progress`` query."""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import timedelta

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from mdmflow.bridge.failure_reason import failure_reason
from mdmflow.bridge.fan_out import fan_out_status
from mdmflow.bridge.instance_models import STATES, DeviceStatus, InstanceStatus
from mdmflow.bridge.instance_query import (
    GROUP_NAMES,
    NOT_CONTINUED,
    UnknownInstanceError,
    earliest_start,
    instance_query,
    of_instance,
    state_name,
)
from mdmflow.workflows import search
from mdmflow.workflows.models import STATUS_QUERY, WorkflowStatus

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
CONCURRENCY = 32
"""Devices asked at once: enough for a page in well under a second, few enough not to flood."""
QUERY_TIMEOUT = timedelta(seconds=1)
"""A device whose query takes longer is shown without its commands rather than delaying all."""
DETAILS_DEADLINE_S = 1.5
"""From the request's arrival, when a page's queries and close events stop being waited for,
so a page of 1,000 devices (or workflows no busy worker answers for soon) still answers within
the 2 s an operator waits; the counts and the listing come first."""
ENDED_BADLY = {
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TIMED_OUT,
    WorkflowExecutionStatus.TERMINATED,
}


class BadPageTokenError(ValueError):
    def __init__(self) -> None:
        super().__init__("next_page_token is not a token this API gave")


def encode_token(token: bytes | None) -> str | None:
    return base64.urlsafe_b64encode(token).decode() if token else None


def decode_token(token: str | None) -> bytes | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        raise BadPageTokenError from None


async def state_counts(client: Client, query: str) -> dict[str, int]:
    """Workflows of ``query`` by state, counted by the server in one call."""
    counted = await client.count_workflows(f"{query} GROUP BY ExecutionStatus")
    counts = dict.fromkeys(STATES, 0)
    for group in counted.groups:
        name = GROUP_NAMES.get(str(group.group_values[0])) if group.group_values else None
        if name is not None:
            counts[name] += group.count
    return counts


async def _device(
    client: Client, execution: WorkflowExecution, gate: asyncio.Semaphore, deadline: float
) -> DeviceStatus:
    attrs = execution.typed_search_attributes
    device = DeviceStatus(
        enrollment_id=attrs.get(search.ENROLLMENT_ID) or "",
        workflow_id=execution.id,
        state=state_name(execution),
        step=attrs.get(search.STEP) or None,
    )
    try:
        async with asyncio.timeout_at(deadline):
            await _details(client, execution, gate, device)
    except TimeoutError:
        if execution.status == WorkflowExecutionStatus.RUNNING:
            device.query_error = f"no answer within {DETAILS_DEADLINE_S} s of the request"
    return device


async def _details(
    client: Client, execution: WorkflowExecution, gate: asyncio.Semaphore, device: DeviceStatus
) -> None:
    """Fill in the running device's commands or the failed one's reason."""
    async with gate:
        if execution.status == WorkflowExecutionStatus.RUNNING:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            try:
                status = await handle.query(
                    STATUS_QUERY, result_type=WorkflowStatus, rpc_timeout=QUERY_TIMEOUT
                )
            except Exception as exc:  # refused, timed out, no worker: still show the device
                device.query_error = str(exc) or type(exc).__name__
            else:
                device.step = status.step or device.step
                device.outstanding = status.outstanding
                device.waiting_for = status.waiting_for
        elif execution.status in ENDED_BADLY:
            try:
                device.failure = await failure_reason(client, execution.id, execution.run_id)
            except RPCError as exc:
                device.failure = f"The reason could not be read: {exc}."


async def _page(
    client: Client, query: str, page_size: int, token: bytes | None
) -> tuple[list[WorkflowExecution], bytes | None]:
    listing = client.list_workflows(query, page_size=page_size, next_page_token=token)
    await listing.fetch_next_page()
    return list(listing.current_page or []), listing.next_page_token


async def instance_status(
    client: Client,
    instance_id: str,
    page_size: int = DEFAULT_PAGE_SIZE,
    next_page_token: str | None = None,
) -> InstanceStatus:
    """The instance's counts and one page of its devices; :class:`UnknownInstanceError` when
    Temporal knows no workflow of it."""
    deadline = asyncio.get_running_loop().time() + DETAILS_DEADLINE_S
    query = instance_query(instance_id)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    token = decode_token(next_page_token)
    listed = f"{query} AND {NOT_CONTINUED}"
    counts, (page, next_token), fan_out = await asyncio.gather(
        state_counts(client, query),
        _page(client, listed, page_size, token),
        fan_out_status(client, instance_id),
    )
    total = sum(counts.values())
    if total == 0 and fan_out is None:
        raise UnknownInstanceError(instance_id)
    executions = [e for e in page if of_instance(e, instance_id)]
    first = executions[0] if executions else None
    if first is None:
        async for execution in client.list_workflows(listed, limit=1):
            first = execution
    gate = asyncio.Semaphore(CONCURRENCY)
    details = asyncio.gather(*(_device(client, e, gate, deadline) for e in executions))
    started = None
    if first is not None:
        seen = min([e.start_time for e in executions] or [first.start_time])
        started, devices = await asyncio.gather(earliest_start(client, query, seen), details)
    else:
        devices = await details
    workflow = fan_out.progress.workflow if fan_out and fan_out.progress else ""
    if first is not None:
        workflow = first.typed_search_attributes.get(search.WORKFLOW_NAME) or first.workflow_type
    return InstanceStatus(
        instance_id=instance_id,
        workflow=workflow,
        started=started,
        total=total,
        counts=counts,
        devices=list(devices),
        next_page_token=encode_token(next_token),
        fan_out=fan_out,
    )
