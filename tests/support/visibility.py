"""Waiting on Temporal's visibility, which is eventually consistent and offers nothing to wait
on: the count is polled (bounded) until it is the one a test is about."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

VISIBLE_WITHIN_S = 30.0


async def counted(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def until_counted(client: Client, query: str, expected: int) -> None:
    async with asyncio.timeout(VISIBLE_WITHIN_S):
        while await counted(client, query) != expected:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
