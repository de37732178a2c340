"""NanoCMD's ``/v1`` API on the real bridge: auth, start semantics, instance IDs, /version."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from mdmflow import __version__
from mdmflow.bridge.server import running_bridge
from mdmflow.config import Settings
from mdmflow.workflows import search
from mdmflow.workflows.results import DeviceInfoLog
from tests.bridge.helpers import DEVINFOLOG, seed_for, workflow_id
from tests.support.codec import TEST_CODEC_KEY
from tests.support.runs import terminate_if_running
from tests.support.stack import API_KEY, Stack, running_stack

START = f"/v1/workflow/{DEVINFOLOG}/start"
CHALLENGE = 'Basic realm="nanocmd"'


@pytest.fixture(scope="module")
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """One stack whose devices never answer: started workflows keep waiting."""
    folder: Path = tmp_path_factory.mktemp("api")
    async with running_stack(
        temporal_env.client,
        f"sqlite+aiosqlite:///{folder}/app.db",
        devices=4,
        simulator={"not_now_rate": 1.0, "seed": 4242},
    ) as running:
        try:
            yield running
        finally:
            for eid in running.sim.enrollment_ids():
                await terminate_if_running(
                    temporal_env.client.get_workflow_handle(workflow_id(eid)), "test done"
                )


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.api() as http:
        yield http


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("nanocmd", "wrong-key"),
        basic("admin", API_KEY),
        basic("nanocmd", ""),
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": "Basic !!not-base64!!"},
    ],
    ids=["none", "wrong-password", "wrong-user", "empty-password", "bearer", "bad-base64"],
)
async def test_v1_requires_basic_auth(stack: Stack, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
        reply = await http.post(START, params={"id": "X"}, headers=headers)
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"] == CHALLENGE
    assert reply.headers["content-type"] == "application/json"
    assert "error" in reply.json()


async def test_auth_is_checked_before_the_workflow_name(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
        reply = await http.post("/v1/workflow/nope/start", params={"id": "X"})
    assert reply.status_code == 401


async def test_v1_is_absent_without_an_api_key(client: Client, tmp_path: Path) -> None:
    settings = Settings(
        listen="127.0.0.1:0",
        api_key="",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/app.db",
        codec_key=TEST_CODEC_KEY,
    )
    async with (
        running_bridge(settings, client) as url,
        httpx.AsyncClient(base_url=url, auth=("nanocmd", ""), timeout=30) as http,
    ):
        reply = await http.post(START, params={"id": "X"})
        assert reply.status_code == 404, reply.text
        assert (await http.get("/version")).status_code == 200


@pytest.mark.parametrize(
    "params", [(), (("id", ""),), (("id", ""), ("id", "  "))], ids=["none", "empty", "blank"]
)
async def test_start_without_ids(
    api: httpx.AsyncClient, params: tuple[tuple[str, str], ...]
) -> None:
    reply = await api.post(START, params=params)
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"error": "no IDs provided"}


async def test_start_unknown_workflow(api: httpx.AsyncClient) -> None:
    reply = await api.post("/v1/workflow/io.example.nope.v1/start", params={"id": "X"})
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"error": "no such workflow: io.example.nope.v1"}


async def test_second_start_on_a_busy_id(
    client: Client, stack: Stack, api: httpx.AsyncClient
) -> None:
    busy, fresh = stack.sim.enrollment_ids()[:2]
    first = await api.post(START, params={"id": busy})
    assert first.status_code == 200, first.text
    assert first.json()["started"] == [busy]

    again = await api.post(START, params={"id": busy})
    assert again.status_code == 409, again.text
    assert again.json() == {"error": "workflow already started on 1 (of 1) ids"}

    mixed = await api.post(START, params={"id": [busy, fresh]})
    assert mixed.status_code == 200, mixed.text
    body = mixed.json()
    assert body["started"] == [fresh]
    assert body["already_running"] == [busy]
    assert body["workflow"] == DEVINFOLOG
    # The busy ID's workflow is still the first one, not replaced.
    described = await client.get_workflow_handle(workflow_id(busy)).describe()
    attrs = described.typed_search_attributes
    assert attrs.get(search.INSTANCE_ID) == first.json()["instance_id"]
    assert attrs.get(search.INSTANCE_ID) != body["instance_id"]


async def test_duplicate_ids_start_one_workflow(
    client: Client, stack: Stack, api: httpx.AsyncClient
) -> None:
    eid = stack.sim.enrollment_ids()[2]
    reply = await api.post(START, params=[("id", eid), ("id", eid), ("id", f" {eid} ")])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["started"] == [eid]
    assert body["already_running"] == []
    # Starting the repeat would have failed against the first: it would be "already running".
    described = await client.get_workflow_handle(workflow_id(eid)).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    assert described.typed_search_attributes.get(search.INSTANCE_ID) == body["instance_id"]


async def test_one_instance_id_for_all_started_workflows(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=3,
        simulator={"seed": seed_for(request)},
    ) as stack:
        ids = stack.sim.enrollment_ids()
        async with stack.api() as api:
            reply = await api.post(START, params={"id": ids})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["started"] == ids
        assert body["already_running"] == []
        instance_id = body["instance_id"]
        assert instance_id
        for eid in ids:
            handle = client.get_workflow_handle(workflow_id(eid), result_type=DeviceInfoLog)
            assert handle.id == f"io.micromdm.wf.devinfolog.v1/{eid}"
            assert (await handle.result()).enrollment_id == eid
            described = await handle.describe()
            assert described.workflow_type == DEVINFOLOG
            attrs = described.typed_search_attributes
            assert attrs.get(search.INSTANCE_ID) == instance_id
            assert attrs.get(search.ENROLLMENT_ID) == eid
            assert attrs.get(search.WORKFLOW_NAME) == DEVINFOLOG


async def test_version_and_health(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
        version = await http.get("/version")
        health = await http.get("/healthz")
    assert version.status_code == 200
    assert version.json() == {"version": __version__}
    assert health.status_code == 200
