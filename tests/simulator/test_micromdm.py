"""The MicroMDM dialect: 201 with the payload echo, automatic push, queue view, auth."""

from __future__ import annotations

import base64

import httpx

from mdmflow.mdm.commands import DeviceLock, ProfileList
from mdmflow.mdm.reports import CommandStatus
from tests.simulator.conftest import API_KEY, Harness
from tests.simulator.receiver import WebhookReceiver


async def test_enqueue_answers_201_and_pushes_by_itself(
    micro: Harness, receiver: WebhookReceiver
) -> None:
    udid = micro.udids[0]
    plist = DeviceLock(pin="123456").to_plist("0001_lock")
    reply = await micro.client.post(micro.sim.enqueue_url(micro.url) + udid, content=plist)

    assert reply.status_code == 201
    assert reply.json() == {
        "payload": {
            "udid": udid,
            "command_uuid": "0001_lock",
            "command": {"request_type": "DeviceLock"},
            "payload": base64.b64encode(plist).decode(),
        }
    }
    [delivery] = await receiver.wait_reports(1)
    assert delivery.ack.ids is None  # MicroMDM's webhook has no ids
    assert b'"url_params":null' in delivery.body
    assert delivery.report.status is CommandStatus.ACKNOWLEDGED
    assert delivery.report.payload == {"MessageResult": "Success"}
    assert [r.method for r in micro.sim.requests] == ["POST"]


async def test_queue_view_clear_and_push(micro: Harness, receiver: WebhookReceiver) -> None:
    udid = micro.udids[1]
    micro.sim.device(udid).enrolled = False  # no push token yet: commands just wait
    base = micro.sim.enqueue_url(micro.url) + udid
    first, second = ProfileList().to_plist("0001_a"), ProfileList().to_plist("0002_b")
    for plist in (first, second):
        assert (await micro.client.put(base, content=plist)).status_code == 201

    view = await micro.client.get(base)
    assert view.json() == {
        "commands": [
            {"uuid": "0001_a", "payload": base64.b64encode(first).decode()},
            {"uuid": "0002_b", "payload": base64.b64encode(second).decode()},
        ]
    }
    failed = await micro.client.get(micro.sim.push_url(micro.url) + udid)
    assert failed.status_code == 500
    assert failed.json() == {"error": "push data missing for id"}
    assert (await micro.client.delete(base)).status_code == 200
    assert (await micro.client.get(base)).json() == {"commands": []}

    assert (await micro.client.post(base, content=ProfileList().to_plist("3"))).status_code == 201
    micro.sim.device(udid).enrolled = True
    pushed = await micro.client.post(f"{micro.url}/v1/push/{udid}")
    assert pushed.status_code == 200
    assert pushed.json()["status"] == "success"
    assert pushed.json()["push_notification_id"]
    [delivery] = await receiver.wait_reports(1)
    assert delivery.ack.command_uuid == "3"


async def test_enqueue_errors_are_500_json(micro: Harness) -> None:
    base = micro.sim.enqueue_url(micro.url)
    bad = await micro.client.post(base + micro.udids[0], content=b"nope")
    assert bad.status_code == 500
    assert bad.json()["error"].startswith("parse payload as plist: ")
    unknown = await micro.client.post(base + "NOPE", content=ProfileList().to_plist("u"))
    assert unknown.json() == {"error": "unknown enrollment id: NOPE"}
    push = await micro.client.get(micro.sim.push_url(micro.url) + "NOPE")
    assert push.status_code == 500
    assert "error" in push.json()


async def test_auth_failures_match_micromdm(micro: Harness) -> None:
    url = micro.sim.enqueue_url(micro.url) + micro.udids[0]
    async with httpx.AsyncClient() as anonymous:
        for auth in (
            httpx.Auth(),  # no credentials at all
            httpx.BasicAuth("micromdm", "wrong"),
            httpx.BasicAuth("nanomdm", API_KEY),
        ):
            reply = await anonymous.post(url, content=b"", auth=auth)
            assert reply.status_code == 401
            assert reply.headers["www-authenticate"] == 'Basic realm="micromdm"'
            assert reply.json() == {"error": "Unauthorized"}
    assert micro.sim.stats.commands_enqueued == 0
