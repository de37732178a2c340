"""``/v1/profile/{name}`` and ``/v1/profiles`` on the real bridge and app database: XML,
binary and signed uploads kept byte for byte, broken ones refused naming the key, auth."""

from __future__ import annotations

import plistlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from mdmflow.bridge.profile_api import MAX_PROFILE_BYTES
from mdmflow.mdm.plist import dump_xml
from tests.bridge.content_bridge import bridge_api
from tests.support.signing import signer, tampered
from tests.support.stack import API_KEY
from tests.workflows.content import mobileconfig

ASPEN = "application/x-apple-aspen-config"
CHALLENGE = 'Basic realm="nanocmd"'
ENDPOINTS = [
    ("PUT", "/v1/profile/wifi"),
    ("GET", "/v1/profile/wifi"),
    ("DELETE", "/v1/profile/wifi"),
    ("GET", "/v1/profiles"),
]


@pytest.fixture
async def api(client: Client, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with bridge_api(client, tmp_path) as http:
        yield http


async def put(api: httpx.AsyncClient, name: str, raw: bytes) -> httpx.Response:
    return await api.put(f"/v1/profile/{name}", content=raw)


async def test_xml_profile_round_trips_as_aspen_config(api: httpx.AsyncClient) -> None:
    raw = mobileconfig("com.example.wifi", "WIFI-1")
    reply = await put(api, "wifi", raw)
    assert reply.status_code == 204, reply.text
    got = await api.get("/v1/profile/wifi")
    assert got.status_code == 200
    assert got.headers["content-type"] == ASPEN
    assert got.content == raw
    listed = await api.get("/v1/profiles")
    assert listed.json() == {
        "wifi": {"identifier": "com.example.wifi", "uuid": "WIFI-1", "signed": False}
    }


async def test_binary_plist_profile_is_kept_binary(api: httpx.AsyncClient) -> None:
    raw = plistlib.dumps(
        plistlib.loads(mobileconfig("com.example.bin", "BIN-1")), fmt=plistlib.FMT_BINARY
    )
    assert (await put(api, "bin", raw)).status_code == 204
    assert (await api.get("/v1/profile/bin")).content == raw
    assert (await api.get("/v1/profiles", params={"name": "bin"})).json()["bin"]["uuid"] == "BIN-1"


async def test_signed_profile_is_verified_and_served_as_signed(api: httpx.AsyncClient) -> None:
    content = mobileconfig("com.example.signed", "SIGNED-1", name="Signed Wi-Fi")
    signed = signer().sign(content)
    assert (await put(api, "signed", signed)).status_code == 204
    got = await api.get("/v1/profile/signed")
    assert got.content == signed
    assert got.headers["content-type"] == ASPEN
    info = (await api.get("/v1/profiles", params={"name": "signed"})).json()["signed"]
    assert info == {"identifier": "com.example.signed", "uuid": "SIGNED-1", "signed": True}

    forged = tampered(signed, b"Signed Wi-Fi", b"Forged Wi-Fi")
    reply = await put(api, "forged", forged)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("verifying pkcs7: ")
    assert (await api.get("/v1/profile/forged")).status_code == 404


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", "empty body"),
        (b"not a plist", "unmarshal plist: not a valid plist"),
        (
            mobileconfig("com.example.x").replace(b"<key>PayloadUUID</key>", b"<key>UUID</key>", 1),
            "invalid payload: PayloadContent[0]: PayloadUUID is empty",
        ),
        (
            dump_xml(
                {"PayloadIdentifier": "x", "PayloadType": "Configuration", "PayloadVersion": 1}
            ),
            "invalid payload: PayloadUUID is empty",
        ),
        (
            mobileconfig("com.example.x").replace(b"<true/>", b"<data>%%%</data>"),
            "unmarshal plist: <data> element 1 is not valid base64",
        ),
        (b"\x30\x80\x06\x09garbage", "parsing pkcs7: "),
    ],
    ids=["empty", "not-plist", "payload-without-uuid", "top-without-uuid", "bad-data", "bad-cms"],
)
async def test_broken_profiles_are_refused_and_not_stored(
    api: httpx.AsyncClient, raw: bytes, error: str
) -> None:
    reply = await put(api, "broken", raw)
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["error"].startswith(error)
    assert (await api.get("/v1/profiles")).json() == {}


@pytest.mark.parametrize("name", ["a,b", "-a", " a"], ids=["comma", "dash", "space"])
async def test_names_the_profile_workflow_cannot_use_are_refused(
    api: httpx.AsyncClient, name: str
) -> None:
    reply = await put(api, name, mobileconfig("com.example.x"))
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("profile name must not")


async def test_oversized_upload_is_refused(api: httpx.AsyncClient) -> None:
    reply = await put(api, "huge", b"<" * (MAX_PROFILE_BYTES + 1))
    assert reply.status_code == 413
    assert reply.json() == {"error": f"profile body over {MAX_PROFILE_BYTES} bytes"}


async def test_list_replace_and_delete(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/profiles")).json() == {}
    for name in ("a", "b", "c"):
        reply = await put(api, name, mobileconfig(f"com.example.{name}", f"{name}-1"))
        assert reply.status_code == 204
    assert (await put(api, "a", mobileconfig("com.example.a", "a-2"))).status_code == 204
    some = await api.get("/v1/profiles", params=[("name", "c"), ("name", "a")])
    assert some.json() == {
        "a": {"identifier": "com.example.a", "uuid": "a-2", "signed": False},
        "c": {"identifier": "com.example.c", "uuid": "c-1", "signed": False},
    }
    unknown = await api.get("/v1/profiles", params=[("name", "a"), ("name", "nope")])
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "profile not found: nope"}

    assert (await api.delete("/v1/profile/a")).status_code == 204
    assert (await api.delete("/v1/profile/a")).status_code == 204  # deleting is idempotent
    missing = await api.get("/v1/profile/a")
    assert missing.status_code == 404
    assert missing.json() == {"error": "profile not found: a"}
    assert sorted((await api.get("/v1/profiles")).json()) == ["b", "c"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize(
    "auth", [None, ("nanocmd", "wrong"), ("admin", API_KEY)], ids=["none", "password", "user"]
)
async def test_every_endpoint_needs_the_api_key(
    api: httpx.AsyncClient, method: str, path: str, auth: tuple[str, str] | None
) -> None:
    async with httpx.AsyncClient(base_url=str(api.base_url), auth=auth) as anonymous:
        reply = await anonymous.request(method, path, content=b"{}")
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == CHALLENGE
    assert "error" in reply.json()
