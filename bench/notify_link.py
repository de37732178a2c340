"""Step notifications across processes: a bare worker in its own process tells the driver.

The bare worker's activity writes its workflow ID as one line on a loopback TCP connection it
opened at start; the driver feeds each line to its ``StepNotifier``, exactly as the in-process
activity does. A line costs the worker one small write, far less than the HTTP enqueue and
push mdmflow's activity makes, so the bare side stays the cheaper, honest budget.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

from bench.measure import now
from bench.rounds_activity import StepNotifier
from bench.rounds_workflow import STEP_ACTIVITY


@contextlib.asynccontextmanager
async def serving_notifications(notifier: StepNotifier) -> AsyncIterator[int]:
    """Accept step lines on a free loopback port for the block; yields the port."""
    readers: set[asyncio.Task[None]] = set()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            readers.add(task)
        try:
            while line := await reader.readline():
                notifier.notify(line.decode().strip(), now())
        finally:
            writer.close()
            if task is not None:
                readers.discard(task)

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in list(readers):
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


class LinkedStep:
    """The bare step activity of a worker in another process than its driver."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    @classmethod
    async def connect(cls, port: int) -> LinkedStep:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(writer)

    @activity.defn(name=STEP_ACTIVITY)
    async def step(self) -> None:
        self._writer.write(f"{activity.info().workflow_id}\n".encode())
        await self._writer.drain()
