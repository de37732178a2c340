"""``/v1/event/{name}`` and ``/v1/events`` over HTTP, on both app-database backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from tests.support.stack import API_KEY, Stack, running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"


@pytest.fixture
async def stack(client: Client, database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(client, database_url, devices=1) as running:
        yield running


async def test_put_get_list_delete_round_trip(stack: Stack) -> None:
    sub = {"event": "Enrollment", "workflow": DEVINFOLOG, "context": "a,b"}
    stale = {"event": "IdleNotStartedSince", "workflow": DEVINFOLOG, "event_context": "86400"}
    async with stack.api() as api:
        assert (await api.put("/v1/event/enroll", json=sub)).status_code == 204
        assert (await api.put("/v1/event/stale", json=stale)).status_code == 204
        assert (await api.get("/v1/event/enroll")).json() == sub
        assert (await api.get("/v1/events")).json() == {"enroll": sub, "stale": stale}
        replaced = {**sub, "context": "c"}
        assert (await api.put("/v1/event/enroll", json=replaced)).status_code == 204
        assert (await api.get("/v1/event/enroll")).json() == replaced
        assert (await api.delete("/v1/event/enroll")).status_code == 204
        missing = await api.get("/v1/event/enroll")
        assert missing.status_code == 404
        assert "enroll" in missing.json()["error"]
        assert (await api.get("/v1/events")).json() == {"stale": stale}
        assert (await api.delete("/v1/event/never-there")).status_code == 204


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"workflow": DEVINFOLOG}, "missing event type"),
        ({"event": "", "workflow": DEVINFOLOG}, "missing event type"),
        ({"event": "Reboot", "workflow": DEVINFOLOG}, "invalid event type: Reboot"),
        ({"event": "Enrollment"}, "missing workflow name"),
        ({"event": "Enrollment", "workflow": ""}, "missing workflow name"),
        ({"event": "Enrollment", "workflow": "io.example.nope"}, "workflow not registered"),
        ({"event": "IdleNotStartedSince", "workflow": DEVINFOLOG}, "event_context"),
        (
            {"event": "IdleNotStartedSince", "workflow": DEVINFOLOG, "event_context": "0"},
            "event_context",
        ),
    ],
)
async def test_invalid_subscriptions_are_400_with_the_reason(
    stack: Stack, body: dict[str, str], message: str
) -> None:
    async with stack.api() as api:
        reply = await api.put("/v1/event/bad", json=body)
        assert reply.status_code == 400
        assert message in reply.json()["error"]
        assert (await api.get("/v1/event/bad")).status_code == 404


async def test_malformed_json_is_400(stack: Stack) -> None:
    async with stack.api() as api:
        reply = await api.put("/v1/event/bad", content=b"{nope")
    assert reply.status_code == 400
    assert "JSON" in reply.json()["error"]


async def test_subscriptions_need_the_api_key(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.bridge_url) as http:
        assert (await http.get("/v1/events")).status_code == 401
        wrong = await http.put("/v1/event/x", json={}, auth=("nanocmd", API_KEY + "x"))
        assert wrong.status_code == 401
