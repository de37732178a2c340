"""Heartbeat while an activity's body runs, however long one MDM call takes.

The engine gives the MDM activities a short heartbeat timeout so that a worker killed in the
middle of one is noticed in seconds, not after the whole start-to-close timeout. The flip side:
a live activity that stops heartbeating, say behind a slow MDM server, is timed out and retried
as if its worker had died. So the beat comes from a background task, independent of how long
the awaited call takes, and the SDK throttles what it sends to the server.

The first beat comes one interval after the start, not at once: the server's heartbeat timeout
counts from the activity's start, so a dead worker is caught just the same, and the usual
enqueue, done in milliseconds, costs no heartbeat call at all (the SDK sends a first beat to the
server at once, a write to the workflow's state there on every step).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from temporalio import activity

HEARTBEAT_INTERVAL_S = 1.0
"""Well inside the engine's 5 s heartbeat timeout, even on a busy worker."""


@contextlib.asynccontextmanager
async def heartbeating(
    interval_s: float = HEARTBEAT_INTERVAL_S, details: Callable[[], object] | None = None
) -> AsyncIterator[None]:
    """Heartbeat every ``interval_s`` until the block exits, the first ``interval_s`` after
    the start; with ``details``, each beat carries what it returns then (a retry resumes from
    the last one the server got)."""

    if activity.info().is_local:
        # A local activity has no heartbeat: it lives inside a workflow task, which the SDK
        # keeps alive while it runs, and a dead worker's task times out as a whole.
        yield
        return

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval_s)
            if details is None:
                activity.heartbeat()
            else:
                activity.heartbeat(details())

    ticker = asyncio.create_task(beat(), name="activity heartbeat")
    try:
        yield
    finally:
        ticker.cancel()
        # wait, not await: the ticker's CancelledError stays its own, while a cancellation of
        # this activity still propagates from here.
        await asyncio.wait([ticker])
