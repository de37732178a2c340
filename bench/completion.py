"""Know when thousands of workflows are done without one long poll per workflow.

``handle.result()`` is a long poll; the dev server allows only so many per namespace at once
("namespace concurrent poller limit"), so waiting on 2,000 results crashed a fleet run. Here
one visibility count per interval (grouped by execution status) follows any number of
workflows, and once none runs a listing reads their close times from the server's records,
so the time reported is when the last one closed, not when the next poll happened to look.
Both drivers (bare and mdmflow) wait this way, so the yardstick is the same.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecutionStatus

from bench.procs import BenchError

POLL_INTERVAL_S = 0.5
STALL_TIMEOUT_S = 180.0
"""No workflow closed for this long: something is stuck; stop instead of waiting forever."""
RUNNING = "Running"


@dataclass(frozen=True)
class Closed:
    """How a group of workflows ended."""

    workflows: int
    completed: int
    last_close: float
    """Wall-clock time (``time.time()``) the last one closed; the server runs on this clock."""
    history_events: int = 0
    """Events in all their histories: what each run cost the server to write and replay."""

    @property
    def failed(self) -> int:
        return self.workflows - self.completed

    @property
    def events_per_workflow(self) -> float:
        return self.history_events / self.workflows if self.workflows else 0.0


async def wait_closed(client: Client, query: str, expected: int) -> Closed:
    """Wait until ``expected`` workflows match ``query`` and none of them runs any more.

    ``query`` picks exactly the scenario's workflows (an ID prefix, an instance ID). Bounded:
    gives up when the closed count has not moved for ``STALL_TIMEOUT_S``.
    """
    progress_at, last_closed = time.monotonic(), -1
    while True:
        total, running = await _count(client, query)
        closed = total - running
        if total >= expected and running == 0:
            break
        if closed != last_closed:
            progress_at, last_closed = time.monotonic(), closed
        elif time.monotonic() - progress_at > STALL_TIMEOUT_S:
            raise BenchError(
                f"{closed} of {expected} workflows closed and none for {STALL_TIMEOUT_S:.0f} s "
                f"({total} visible, {running} running): {query}"
            )
        await asyncio.sleep(POLL_INTERVAL_S)
    completed, last_close, events = 0, 0.0, 0
    async for execution in client.list_workflows(query):
        if execution.status == WorkflowExecutionStatus.COMPLETED:
            completed += 1
        if execution.close_time is not None:
            last_close = max(last_close, execution.close_time.timestamp())
        events += execution.history_length
    return Closed(total, completed, last_close, events)


async def _count(client: Client, query: str) -> tuple[int, int]:
    """(matching workflows, of which running), in one request."""
    counted = await client.count_workflows(f"{query} GROUP BY ExecutionStatus")
    running = sum(
        group.count for group in counted.groups if RUNNING in map(str, group.group_values)
    )
    return counted.count, running
