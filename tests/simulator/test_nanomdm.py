"""The NanoMDM dialect end to end: enqueue, push, result JSON, auth, reports on the webhook."""

from __future__ import annotations

import httpx

from mdmflow.mdm.commands import DeviceInformation, ProfileList, SecurityInfo
from mdmflow.mdm.reports import CommandStatus
from mdmflow.mdm.responses import SecurityInfoResponse
from tests.simulator.conftest import API_KEY, Harness, simulated
from tests.simulator.receiver import WebhookReceiver

QUERIES = ["SerialNumber", "Model", "OSVersion", "BuildVersion", "IsAppleSilicon", "Languages"]


async def test_enqueue_pushes_and_device_reports_queried_values(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    udid = nano.udids[0]
    command_uuid, reply = await nano.enqueue([udid], DeviceInformation(queries=QUERIES))

    assert reply.status_code == 200
    body = reply.json()
    assert body["command_uuid"] == command_uuid
    assert body["request_type"] == "DeviceInformation"
    assert set(body["status"][udid]) == {"push_result"}
    assert "no_push" not in body

    [delivery] = await receiver.wait_reports(1)
    assert delivery.event.topic == "mdm.Connect"
    assert delivery.ack.udid == udid
    assert delivery.ack.command_uuid == command_uuid
    assert delivery.ack.ids is not None
    assert delivery.ack.ids.type == "Device"
    assert delivery.ack.ids.id == udid
    report = delivery.report
    assert report.status is CommandStatus.ACKNOWLEDGED
    assert report.udid == udid
    assert report.command_uuid == command_uuid
    device = nano.sim.device(udid)
    assert report.payload["QueryResponses"] == {
        "SerialNumber": device.serial_number,
        "Model": device.model,
        "OSVersion": device.os_version,
        "BuildVersion": device.build_version,
        "IsAppleSilicon": device.is_apple_silicon,
    }
    [idle] = await receiver.wait_idles(1)
    assert idle.ack.command_uuid == ""
    assert idle.report.status is CommandStatus.IDLE
    assert "url_params" not in idle.event.model_dump(exclude_defaults=True)["acknowledge_event"]


async def test_nopush_waits_for_the_push(nano: Harness, receiver: WebhookReceiver) -> None:
    udid = nano.udids[1]
    command_uuid, reply = await nano.enqueue([udid], SecurityInfo(), nopush=True)

    assert reply.status_code == 200
    assert reply.json() == {
        "no_push": True,
        "command_uuid": command_uuid,
        "request_type": "SecurityInfo",
    }
    await nano.sim.wait_until_quiet()
    assert receiver.deliveries == []
    assert [c.uuid for c in nano.sim.queued(udid)] == [command_uuid]

    push = await nano.push([udid])
    assert push.status_code == 200
    assert set(push.json()) == {"status"}
    [delivery] = await receiver.wait_reports(1)
    security = SecurityInfoResponse.model_validate(delivery.report.payload).security_info
    assert security.fde_enabled is nano.sim.device(udid).fde_enabled
    [request] = [r for r in nano.sim.requests if r.path.startswith("/v1/enqueue/")]
    assert request.method == "PUT"
    assert request.query == {"nopush": "1"}
    assert request.path == f"/v1/enqueue/{udid}"


async def test_multi_id_enqueue_reaches_every_device(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    command_uuid, reply = await nano.enqueue(nano.udids, ProfileList(), nopush=True)
    assert reply.status_code == 200
    push = await nano.push(nano.udids)
    assert sorted(push.json()["status"]) == sorted(nano.udids)

    reports = await receiver.wait_reports(len(nano.udids))
    assert sorted(d.ack.udid for d in reports) == sorted(nano.udids)
    assert {d.ack.command_uuid for d in reports} == {command_uuid}
    await nano.sim.wait_until_quiet()
    assert [len(nano.sim.queued(u)) for u in nano.udids] == [0, 0, 0]


async def test_unknown_id_is_a_per_id_error_207_or_500(nano: Harness) -> None:
    udid = nano.udids[0]
    _, partial = await nano.enqueue([udid, "NOPE"], ProfileList())
    assert partial.status_code == 207
    assert partial.json()["status"]["NOPE"] == {
        "push_error": "push data missing for id",
        "command_error": "unknown enrollment id: NOPE",
    }
    assert set(partial.json()["status"][udid]) == {"push_result"}

    _, failed = await nano.enqueue(["NOPE"], ProfileList(), nopush=True)
    assert failed.status_code == 500
    assert failed.json()["status"] == {"NOPE": {"command_error": "unknown enrollment id: NOPE"}}

    push = await nano.push(["NOPE"])
    assert push.status_code == 500
    assert push.json() == {"status": {"NOPE": {"push_error": "push data missing for id"}}}


async def test_duplicate_uuid_is_rejected_per_id(nano: Harness) -> None:
    udid = nano.udids[0]
    plist = ProfileList().to_plist("0001_dup")
    url = nano.sim.enqueue_url(nano.url) + udid
    first = await nano.client.put(url, content=plist, params={"nopush": "1"})
    again = await nano.client.put(url, content=plist, params={"nopush": "1"})

    assert first.status_code == 200
    assert again.status_code == 500
    assert again.json()["status"][udid] == {"command_error": "command already exists: 0001_dup"}
    assert len(nano.sim.queued(udid)) == 1


async def test_bad_plist_and_missing_keys_are_decoding_errors(nano: Harness) -> None:
    url = nano.sim.enqueue_url(nano.url) + nano.udids[0]
    garbage = await nano.client.put(url, content=b"not a plist")
    assert garbage.status_code == 500
    assert garbage.json()["command_error"].startswith("decoding command: ")
    no_uuid = await nano.client.put(url, content=_no_uuid())
    assert no_uuid.status_code == 500
    assert no_uuid.json() == {"command_error": "decoding command: invalid command"}
    empty = await nano.client.put(url, content=b"", params={"nopush": "1"})
    assert empty.status_code == 500
    assert empty.json() == {"no_push": True, "command_error": "must enqueue or push"}


async def test_empty_body_pushes_and_empty_path_fails(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    base = nano.sim.enqueue_url(nano.url)
    no_ids = await nano.client.put(base, content=ProfileList().to_plist("0001"))
    assert no_ids.status_code == 500
    assert no_ids.json() == {"command_error": "getting enrollment ids: empty path"}

    push_only = await nano.client.put(base + nano.udids[0], content=b"")
    assert push_only.status_code == 200
    assert set(push_only.json()["status"][nano.udids[0]]) == {"push_result"}
    [idle] = await receiver.wait_idles(1)  # nothing queued: the device just checks in
    assert idle.ack.udid == nano.udids[0]


def _no_uuid() -> bytes:
    return ProfileList().to_plist("X").replace(b"<key>CommandUUID</key>", b"<key>Other</key>")


async def test_not_enrolled_device_cannot_be_pushed(nano: Harness) -> None:
    udid = nano.udids[2]
    nano.sim.device(udid).enrolled = False
    _, reply = await nano.enqueue([udid], ProfileList())
    assert reply.status_code == 500  # queued, but every push failed
    assert reply.json()["status"] == {udid: {"push_error": "push data missing for id"}}
    assert len(nano.sim.queued(udid)) == 1


async def test_auth_failures_match_nanomdm(nano: Harness) -> None:
    url = nano.sim.push_url(nano.url) + nano.udids[0]
    async with httpx.AsyncClient() as anonymous:
        for auth in (
            httpx.Auth(),  # no credentials at all
            httpx.BasicAuth("nanomdm", "wrong"),
            httpx.BasicAuth("micromdm", API_KEY),
        ):
            reply = await anonymous.get(url, auth=auth)
            assert reply.status_code == 401
            assert reply.headers["www-authenticate"] == 'Basic realm="nanomdm"'
            assert reply.text == "Unauthorized\n"
            assert reply.headers["content-type"].startswith("text/plain")
        version = await anonymous.get(f"{nano.url}/version")
    assert version.status_code == 200
    assert "version" in version.json()
    assert nano.sim.stats.pushes == 0


async def test_ops_endpoint_lists_the_fleet(nano: Harness) -> None:
    reply = await nano.client.get(f"{nano.url}/sim/devices")
    devices = reply.json()["devices"]
    assert [d["id"] for d in devices] == nano.udids
    assert all(d["queued"] == 0 and d["enrolled"] for d in devices)


async def test_the_request_log_keeps_only_the_most_recent_requests(
    receiver: WebhookReceiver,
) -> None:
    async with simulated(receiver, kept_requests=4, devices=1) as nano:
        for _ in range(9):
            reply = await nano.push(nano.udids)
            assert reply.status_code == 200
        kept = len(nano.sim.requests)
        assert 2 <= kept <= 4
        await nano.client.get(nano.sim.push_url(nano.url) + "KEPT-LAST")
        assert nano.sim.requests[-1].path.endswith("/KEPT-LAST")
        assert len(nano.sim.requests) <= 4
