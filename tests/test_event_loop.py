"""mdmflow's processes run on uvloop, and ``event_loop.run`` behaves as ``asyncio.run`` does:
the coroutine's value comes back, its exception propagates, and what it leaves running is
cancelled at the end."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from mdmflow import event_loop


def test_run_returns_the_value_computed_on_uvloop() -> None:
    async def loop_type() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert event_loop.run(loop_type()) is uvloop.Loop


def test_run_propagates_the_coroutines_exception() -> None:
    async def fails() -> None:
        raise LookupError("no such device")

    with pytest.raises(LookupError, match="no such device"):
        event_loop.run(fails())


def test_run_cancels_what_the_coroutine_left_running() -> None:
    cancelled: list[bool] = []
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def leaves_a_task() -> asyncio.Task[None]:
        task = asyncio.create_task(forever())
        await started.wait()
        return task

    task = event_loop.run(leaves_a_task())
    assert task.cancelled()
    assert cancelled == [True]
