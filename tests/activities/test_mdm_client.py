"""The MDM client against the simulated NanoMDM and MicroMDM servers, over real HTTP."""

from __future__ import annotations

import plistlib
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mdmflow.activities.mdm_client import (
    NANOMDM_MAX_IDS,
    MDMClient,
    MDMRejectedError,
    MDMServer,
    MDMServerError,
)
from mdmflow.httpserver import serve_app
from mdmflow.mdm.commands import DeviceInformation, SecurityInfo
from mdmflow.simulator import Mode
from tests.activities.conftest import closed_port_url, simulated_mdm

MODES: list[Mode] = ["nanomdm", "micromdm"]


def new_command() -> tuple[str, bytes]:
    command_uuid = str(uuid.uuid4()).upper()
    return command_uuid, SecurityInfo().to_plist(command_uuid)


async def test_nanomdm_enqueues_in_chunks_of_30_without_push_then_pushes(
    http: aiohttp.ClientSession, webhook_url: str
) -> None:
    async with simulated_mdm(http, webhook_url, devices=35) as mdm:
        ids = mdm.sim.enrollment_ids()
        command_uuid = str(uuid.uuid4()).upper()
        plist = DeviceInformation(queries=["UDID", "OSVersion"]).to_plist(command_uuid)
        await mdm.client.enqueue(ids, command_uuid, plist, push=False)

        puts = mdm.requests("PUT", "/v1/enqueue/")
        assert [path for path, _, _ in puts] == [
            "/v1/enqueue/" + ",".join(ids[:NANOMDM_MAX_IDS]),
            "/v1/enqueue/" + ",".join(ids[NANOMDM_MAX_IDS:]),
        ]
        assert NANOMDM_MAX_IDS == 30
        assert len(ids[NANOMDM_MAX_IDS:]) == 5
        for _, query, body in puts:
            assert query == {"nopush": "1"}
            assert body == plist  # every chunk carries the command (NanoCMD sent empty ones)
            parsed = plistlib.loads(body)
            assert parsed["CommandUUID"] == command_uuid
            assert parsed["Command"]["RequestType"] == "DeviceInformation"
        assert all([c.uuid for c in mdm.sim.queued(eid)] == [command_uuid] for eid in ids)
        assert mdm.sim.stats.pushes == 0
        assert mdm.requests("GET", "/v1/push/") == []

        await mdm.client.push(ids)

        pushes = mdm.requests("GET", "/v1/push/")
        assert [path for path, _, _ in pushes] == [
            "/v1/push/" + ",".join(ids[:30]),
            "/v1/push/" + ",".join(ids[30:]),
        ]
        assert mdm.sim.stats.pushes == 35
        await mdm.sim.wait_until_quiet()
        assert mdm.sim.stats.reports["Acknowledged"] == 35


async def test_micromdm_posts_one_request_per_id_and_pushes_by_itself(
    http: aiohttp.ClientSession, webhook_url: str
) -> None:
    async with simulated_mdm(http, webhook_url, "micromdm", devices=3) as mdm:
        ids = mdm.sim.enrollment_ids()
        command_uuid, plist = new_command()
        await mdm.client.enqueue(ids, command_uuid, plist, push=False)

        posts = mdm.requests("POST", "/v1/commands/")
        assert [path for path, _, _ in posts] == [f"/v1/commands/{eid}" for eid in ids]
        assert all(body == plist and query == {} for _, query, body in posts)
        assert mdm.requests("GET", "/push/") == []
        assert mdm.requests("POST", "/v1/push/") == []
        assert mdm.sim.stats.pushes == 3  # the server pushed on its own

        await mdm.client.push(ids)
        assert [p for p, _, _ in mdm.requests("GET", "/push/")] == [f"/push/{e}" for e in ids]


async def test_nanomdm_enqueue_with_push_wakes_each_chunk_in_the_same_request(
    http: aiohttp.ClientSession, webhook_url: str
) -> None:
    """A step's last command pushes with its enqueue (no ``nopush``): no separate push call."""
    async with simulated_mdm(http, webhook_url, devices=35) as mdm:
        ids = mdm.sim.enrollment_ids()
        command_uuid, plist = new_command()

        await mdm.client.enqueue(ids, command_uuid, plist, push=True)

        puts = mdm.requests("PUT", "/v1/enqueue/")
        assert [len(path.rsplit("/", 1)[1].split(",")) for path, _, _ in puts] == [30, 5]
        assert all(query == {} for _, query, _ in puts)
        assert mdm.requests("GET", "/v1/push/") == []
        assert mdm.sim.stats.pushes == 35
        await mdm.sim.wait_until_quiet()
        assert mdm.sim.stats.reports["Acknowledged"] == 35


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_enrollment_id_is_rejected_by_name(
    http: aiohttp.ClientSession, webhook_url: str, mode: Mode
) -> None:
    async with simulated_mdm(http, webhook_url, mode, devices=1) as mdm:
        [known] = mdm.sim.enrollment_ids()
        command_uuid, plist = new_command()
        with pytest.raises(MDMRejectedError) as raised:
            await mdm.client.enqueue([known, "NO-SUCH-DEVICE"], command_uuid, plist, push=True)
        message = str(raised.value)
        assert "NO-SUCH-DEVICE" in message
        assert "unknown enrollment id" in message
        assert command_uuid in message
        assert known not in message
        # The known ID got its command either way (same request, or the one before).
        assert mdm.sim.stats.commands_enqueued == 1


@pytest.mark.parametrize("mode", MODES)
async def test_enqueueing_the_same_uuid_again_is_success(
    http: aiohttp.ClientSession, webhook_url: str, mode: Mode
) -> None:
    """An activity retry re-sends the same UUID; the server's duplicate answer is fine."""
    async with simulated_mdm(http, webhook_url, mode, devices=2) as mdm:
        ids = mdm.sim.enrollment_ids()
        command_uuid, plist = new_command()
        await mdm.client.enqueue(ids, command_uuid, plist, push=True)
        await mdm.client.enqueue(ids, command_uuid, plist, push=True)
        path = "/v1/enqueue/" if mode == "nanomdm" else "/v1/commands/"
        method = "PUT" if mode == "nanomdm" else "POST"
        assert len(mdm.requests(method, path)) == (2 if mode == "nanomdm" else 4)


@pytest.mark.parametrize("mode", MODES)
async def test_wrong_api_key_names_the_credentials(
    http: aiohttp.ClientSession, webhook_url: str, mode: Mode
) -> None:
    async with simulated_mdm(http, webhook_url, mode, devices=1, api_key="wrong") as mdm:
        [eid] = mdm.sim.enrollment_ids()
        command_uuid, plist = new_command()
        with pytest.raises(MDMRejectedError, match="credentials") as raised:
            await mdm.client.enqueue([eid], command_uuid, plist, push=True)
        assert "401" in str(raised.value)
        assert "wrong" not in str(raised.value)  # the key itself is never shown
        with pytest.raises(MDMRejectedError, match="credentials"):
            await mdm.client.push([eid])
        assert mdm.sim.queued(eid) == []


@pytest.mark.parametrize("mode", MODES)
async def test_unreachable_server_is_a_server_error(
    http: aiohttp.ClientSession, mode: Mode
) -> None:
    base = closed_port_url()
    server = MDMServer(
        enqueue_url=f"{base}/v1/enqueue",
        push_url=f"{base}/v1/push",
        user="nanomdm",
        api_key="k",
        micromdm=mode == "micromdm",
    )
    client = MDMClient(server, http)
    command_uuid, plist = new_command()
    with pytest.raises(MDMServerError, match="unreachable"):
        await client.enqueue(["A"], command_uuid, plist, push=True)
    with pytest.raises(MDMServerError, match="unreachable"):
        await client.push(["A"])


@pytest.fixture
async def failing_server() -> AsyncIterator[str]:
    """A proxy that answers 502 in text (no JSON) and 500 with an empty JSON object."""

    async def bad_gateway(request: Request) -> Response:
        return PlainTextResponse("Bad Gateway\n", status_code=502)

    async def empty_json(request: Request) -> Response:
        return JSONResponse({}, status_code=500)

    app = Starlette(
        routes=[
            Route("/502/{rest:path}", bad_gateway, methods=["GET", "PUT", "POST"]),
            Route("/empty/{rest:path}", empty_json, methods=["GET", "PUT", "POST"]),
        ]
    )
    async with serve_app(app, "127.0.0.1", 0) as base:
        yield base


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["502", "empty"])
async def test_5xx_without_a_result_is_a_server_error(
    http: aiohttp.ClientSession, failing_server: str, mode: Mode, kind: str
) -> None:
    base = f"{failing_server}/{kind}"
    server = MDMServer(
        enqueue_url=f"{base}/enqueue/",
        push_url=f"{base}/push/",
        user="nanomdm",
        api_key="k",
        micromdm=mode == "micromdm",
    )
    client = MDMClient(server, http)
    command_uuid, plist = new_command()
    if mode == "micromdm" and kind == "empty":
        # MicroMDM's 500 {"error": ...} is its per-command refusal; an empty one says nothing.
        with pytest.raises((MDMServerError, MDMRejectedError)):
            await client.enqueue(["A"], command_uuid, plist, push=True)
        return
    with pytest.raises(MDMServerError):
        await client.enqueue(["A"], command_uuid, plist, push=True)
    if mode == "nanomdm":
        with pytest.raises(MDMServerError):
            await client.push(["A"])


async def test_user_channel_id_reaches_the_server_intact(
    http: aiohttp.ClientSession, webhook_url: str
) -> None:
    async with simulated_mdm(http, webhook_url, devices=1) as mdm:
        [udid] = mdm.sim.enrollment_ids()
        user_eid = mdm.sim.device(udid).user_enrollment_id
        assert user_eid is not None
        command_uuid, plist = new_command()

        await mdm.client.enqueue([user_eid], command_uuid, plist, push=False)
        await mdm.client.push([user_eid])

        [(path, _, _)] = mdm.requests("PUT", "/v1/enqueue/")
        assert path == f"/v1/enqueue/{user_eid}"
        await mdm.sim.wait_until_quiet()
        assert mdm.sim.stats.reports["Acknowledged"] == 1
        assert mdm.sim.queued(udid) == []  # the device channel never saw it
        assert [p for p, _, _ in mdm.requests("GET", "/v1/push/")] == [f"/v1/push/{user_eid}"]


@pytest.mark.parametrize(
    ("mode", "odd_id"),
    [("nanomdm", "odd id?x=1&y=2#frag/part%41"), ("micromdm", "odd id?x=1&y=2#frag%41")],
)
async def test_ids_are_percent_encoded(
    http: aiohttp.ClientSession, webhook_url: str, mode: Mode, odd_id: str
) -> None:
    """Characters that end or split a URL path travel encoded and arrive as sent."""
    async with simulated_mdm(http, webhook_url, mode, devices=1) as mdm:
        command_uuid, plist = new_command()
        with pytest.raises(MDMRejectedError) as raised:
            await mdm.client.enqueue([odd_id], command_uuid, plist, push=False)
        assert f"unknown enrollment id: {odd_id}" in str(raised.value)
        [request] = [r for r in mdm.sim.requests if r.method in ("PUT", "POST")]
        assert request.query == ({"nopush": "1"} if mode == "nanomdm" else {})
