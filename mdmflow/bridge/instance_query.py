"""Visibility queries for one instance's device workflows, built only through
:mod:`mdmflow.visibility`, and the names the API gives Temporal's execution states.

An instance ID is compared with ``=``; one the SQL visibility stores cannot compare exactly (a
quote at an end, ``"`` or ``\\``, never one the starter made: those are UUIDs) could match
another instance, so it is refused as unknown rather than answered wrongly. Listings also keep
only executions whose attribute equals the ID exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from mdmflow.mdm import limits
from mdmflow.visibility import exact_prefix, quote
from mdmflow.workflows import search

RUNNING = "ExecutionStatus = 'Running'"
NOT_CONTINUED = "ExecutionStatus != 'ContinuedAsNew'"
"""A run that continued as new has a successor with the same attributes: count that one only."""

STATE_NAMES = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued_as_new",
}
GROUP_NAMES = {
    "Running": "running",
    "Completed": "completed",
    "Failed": "failed",
    "Canceled": "cancelled",
    "Terminated": "terminated",
    "TimedOut": "timed_out",
}
"""``GROUP BY ExecutionStatus`` values; ``ContinuedAsNew`` is left out (see NOT_CONTINUED)."""


class UnknownInstanceError(LookupError):
    def __init__(self, instance_id: str) -> None:
        super().__init__(f"no such instance: {instance_id}")


def instance_query(instance_id: str) -> str:
    """Every run of the instance's device workflows; :class:`UnknownInstanceError` for an ID
    the server cannot compare exactly, :class:`~mdmflow.mdm.limits.LimitError` for a bad one."""
    limits.check_id(instance_id, "instance_id")
    if exact_prefix(instance_id) != instance_id:
        raise UnknownInstanceError(instance_id)
    return f"{search.INSTANCE_ID.name} = {quote(instance_id, 'instance_id')}"


def state_name(execution: WorkflowExecution) -> str:
    return STATE_NAMES.get(execution.status, "running") if execution.status else "running"


def of_instance(execution: WorkflowExecution, instance_id: str) -> bool:
    """The execution belongs to the instance exactly and is not a run continued as new."""
    return (
        execution.typed_search_attributes.get(search.INSTANCE_ID) == instance_id
        and execution.status != WorkflowExecutionStatus.CONTINUED_AS_NEW
    )


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _any_before(client: Client, query: str, moment: datetime) -> bool:
    found = await client.count_workflows(f"{query} AND StartTime < '{_rfc3339(moment)}'")
    return found.count > 0


async def earliest_start(client: Client, query: str, seen: datetime) -> datetime:
    """The earliest start time of ``query``'s workflows, given one start time ``seen``.

    SQL visibility cannot order by start time, so the earliest one is found with server-side
    counts: step back in doubling intervals until none started before, bisect to one second,
    then list that second. A fleet started in one call takes one count.
    """
    if not await _any_before(client, query, seen):
        return seen
    step = timedelta(seconds=1)
    hi, lo = seen, seen - step
    while await _any_before(client, query, lo):
        hi, step = lo, step * 2
        lo = seen - step
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if await _any_before(client, query, mid):
            hi = mid
        else:
            lo = mid
    window = f"{query} AND StartTime >= '{_rfc3339(lo)}' AND StartTime < '{_rfc3339(hi)}'"
    starts = [e.start_time async for e in client.list_workflows(window, limit=1000)]
    return min(starts, default=seen)
