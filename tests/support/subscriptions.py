"""NanoCMD event subscriptions made through the bridge's API, as an operator makes them."""

from __future__ import annotations

from tests.support.stack import Stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"


async def subscribe(stack: Stack, name: str, event: str, **extra: str) -> None:
    async with stack.api() as api:
        body = {"event": event, "workflow": DEVINFOLOG, **extra}
        reply = await api.put(f"/v1/event/{name}", json=body)
    assert reply.status_code == 204, reply.text
