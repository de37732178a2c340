"""``/v1/cmdplan/{name}`` and ``/v1/cmdplans`` on the real bridge and app database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.bridge.content_bridge import bridge_api
from tests.support.stack import API_KEY

CHALLENGE = 'Basic realm="nanocmd"'
PLAN = {
    "profile_names": ["wifi", "vpn"],
    "manifest_urls": ["https://apps.example.com/agent.plist"],
    "device_configured": True,
}
ENDPOINTS = [
    ("PUT", "/v1/cmdplan/setup"),
    ("GET", "/v1/cmdplan/setup"),
    ("DELETE", "/v1/cmdplan/setup"),
    ("GET", "/v1/cmdplans"),
]


@pytest.fixture
async def api(client: Client, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with bridge_api(client, tmp_path) as http:
        yield http


async def test_plan_round_trips_lists_and_deletes(api: httpx.AsyncClient) -> None:
    assert (await api.put("/v1/cmdplan/setup", json=PLAN)).status_code == 204
    got = await api.get("/v1/cmdplan/setup")
    assert got.status_code == 200
    assert got.json() == PLAN
    assert (
        await api.put("/v1/cmdplan/apps", json={"manifest_urls": PLAN["manifest_urls"]})
    ).status_code == 204
    # NanoCMD leaves empty fields out
    assert (await api.get("/v1/cmdplan/apps")).json() == {"manifest_urls": PLAN["manifest_urls"]}
    assert (await api.get("/v1/cmdplans")).json() == {
        "apps": {"manifest_urls": PLAN["manifest_urls"]},
        "setup": PLAN,
    }
    assert (await api.delete("/v1/cmdplan/setup")).status_code == 204
    assert (await api.delete("/v1/cmdplan/setup")).status_code == 204
    missing = await api.get("/v1/cmdplan/setup")
    assert missing.status_code == 404
    assert missing.json() == {"error": "cmdplan not found: setup"}
    assert list((await api.get("/v1/cmdplans")).json()) == ["apps"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "Invalid JSON: EOF while parsing a value"),
        (b'{"profile_names": ["a"]', "Invalid JSON"),
        (b'{"profile_name": ["a"]}', "profile_name: Extra inputs are not permitted"),
        (b'{"profile_names": "a"}', "profile_names: Input should be a valid array"),
        (b'{"profile_names": ["a", " "]}', "profile_names: Value error, a profile name is empty"),
        (
            b'{"manifest_urls": ["ftp://x/m.plist"]}',
            "manifest_urls: Value error, 'ftp://x/m.plist' is not an http(s) URL",
        ),
        (b'{"device_configured": "yes please"}', "device_configured: Input should be a valid bool"),
    ],
    ids=["empty", "truncated", "unknown-key", "not-a-list", "empty-name", "ftp-url", "not-bool"],
)
async def test_bad_plans_are_refused_naming_the_key(
    api: httpx.AsyncClient, body: bytes, error: str
) -> None:
    reply = await api.put("/v1/cmdplan/bad", content=body)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(error)
    assert (await api.get("/v1/cmdplans")).json() == {}


async def test_a_name_the_workflow_would_expand_is_refused(api: httpx.AsyncClient) -> None:
    reply = await api.put("/v1/cmdplan/setup-$site", json=PLAN)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("cmdplan name must not contain '$'")
    assert (await api.get("/v1/cmdplans")).json() == {}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize(
    "auth", [None, ("nanocmd", "wrong"), ("admin", API_KEY)], ids=["none", "password", "user"]
)
async def test_every_endpoint_needs_the_api_key(
    api: httpx.AsyncClient, method: str, path: str, auth: tuple[str, str] | None
) -> None:
    async with httpx.AsyncClient(base_url=str(api.base_url), auth=auth) as anonymous:
        reply = await anonymous.request(method, path, json=PLAN)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == CHALLENGE
    assert (await api.get("/v1/cmdplans")).json() == {}  # nothing was stored
