"""The bridge's durable intake as tests see it: its backlog over the API, and a bounded wait
for a state of the stack that nothing signals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.stack import Stack

PATIENCE_S = 30.0
"""A safety net only: a wait ends as soon as its condition holds."""


async def backlog(stack: Stack) -> dict[str, Any]:
    async with stack.api() as api:
        reply = await api.get("/v1/intake")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll a real condition of the stack until it holds (bounded): the relay's progress is
    visible only through the intake's state, which nothing signals."""
    async with asyncio.timeout(PATIENCE_S):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
