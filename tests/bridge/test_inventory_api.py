"""``GET /v1/inventory`` and NanoCMD's ``/inventory`` on the real bridge and app database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from mdmflow.bridge.server import running_bridge
from mdmflow.config import Settings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.mdm.plist import JsonValue
from mdmflow.store.database import Database
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.secrets import InventorySecretStore
from tests.support.codec import TEST_CODEC_KEY, TEST_KEYRING
from tests.support.stack import API_KEY

PATHS = ["/v1/inventory", "/inventory"]
SECRETS = {"prk": "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ", "io.micromdm.wf.lock.v1.pin": "042042"}
CHALLENGE = 'Basic realm="nanocmd"'
RECORDS: dict[str, dict[str, JsonValue]] = {
    "dev-1": {"serial_number": "C02XK1ZZJGH5", "sip_enabled": True, "battery": 0.5},
    "dev-2": {"model": "Mac14,2", "nested": {"a": [1, None, "b"]}},
}


@pytest.fixture
async def bridge_url(client: Client, tmp_path: Path) -> AsyncIterator[str]:
    """A bridge with an API key over a database that already holds two inventory records."""
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    db = await Database.open(url)
    try:
        for eid, values in RECORDS.items():
            await InventoryStore(db).merge(eid, values)
        await InventorySecretStore(db, SecretBox(TEST_KEYRING)).put("dev-1", SECRETS)
        await InventorySecretStore(db, SecretBox(TEST_KEYRING)).put("dev-3", SECRETS)
    finally:
        await db.close()
    settings = Settings(
        listen="127.0.0.1:0", api_key=API_KEY, database_url=url, codec_key=TEST_CODEC_KEY
    )
    async with running_bridge(settings, client) as base:
        yield base


@pytest.fixture
async def api(bridge_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=bridge_url, auth=("nanocmd", API_KEY)) as http:
        yield http


@pytest.mark.parametrize("path", PATHS)
async def test_records_of_known_ids_only(api: httpx.AsyncClient, path: str) -> None:
    reply = await api.get(path, params=[("id", "dev-2"), ("id", "unknown"), ("id", "dev-1")])
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == RECORDS
    one = await api.get(path, params={"id": "dev-2"})
    assert one.json() == {"dev-2": RECORDS["dev-2"]}


@pytest.mark.parametrize("path", PATHS)
async def test_only_unknown_ids_give_an_empty_object(api: httpx.AsyncClient, path: str) -> None:
    reply = await api.get(path, params=[("id", "unknown"), ("id", "also-unknown")])
    assert reply.status_code == 200, reply.text
    assert reply.json() == {}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "params", [(), (("id", ""),), (("id", ""), ("id", "  "))], ids=["none", "empty", "blank"]
)
async def test_no_ids_is_a_bad_request(
    api: httpx.AsyncClient, path: str, params: tuple[tuple[str, str], ...]
) -> None:
    reply = await api.get(path, params=params)
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"error": "no IDs provided"}


@pytest.mark.parametrize("path", PATHS)
async def test_secrets_only_when_asked_for(
    api: httpx.AsyncClient, path: str, bridge_url: str
) -> None:
    ids = ["dev-1", "dev-2", "dev-3"]
    plain = await api.get(path, params={"id": ids})
    assert plain.json() == RECORDS
    revealed = await api.get(path, params={"id": ids, "secrets": "1"})
    assert revealed.json() == {
        "dev-1": {**RECORDS["dev-1"], **SECRETS},
        "dev-2": RECORDS["dev-2"],
        "dev-3": SECRETS,
    }
    async with httpx.AsyncClient(base_url=bridge_url, auth=("nanocmd", "wrong-key")) as http:
        refused = await http.get(path, params={"id": ids, "secrets": "1"})
    assert refused.status_code == 401
    assert "ABCD" not in refused.text


async def test_the_compatibility_route_answers_as_v1(api: httpx.AsyncClient) -> None:
    for params in ({"id": ["dev-1", "dev-2"]}, {"id": "unknown"}, {}):
        v1 = await api.get("/v1/inventory", params=params)
        compat = await api.get("/inventory", params=params)
        assert (compat.status_code, compat.json()) == (v1.status_code, v1.json())


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "auth", [None, ("nanocmd", "wrong-key"), ("admin", API_KEY)], ids=["none", "wrong", "user"]
)
async def test_basic_auth_is_required(
    bridge_url: str, path: str, auth: tuple[str, str] | None
) -> None:
    async with httpx.AsyncClient(base_url=bridge_url, auth=auth) as http:
        reply = await http.get(path, params={"id": "dev-1"})
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"] == CHALLENGE
    assert "error" in reply.json()


async def test_absent_without_an_api_key(client: Client, tmp_path: Path) -> None:
    settings = Settings(
        listen="127.0.0.1:0",
        api_key="",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/app.db",
        codec_key=TEST_CODEC_KEY,
    )
    async with (
        running_bridge(settings, client) as url,
        httpx.AsyncClient(base_url=url, auth=("nanocmd", "")) as http,
    ):
        for path in PATHS:
            reply = await http.get(path, params={"id": "dev-1"})
            assert reply.status_code == 404, reply.text
