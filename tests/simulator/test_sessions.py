"""Device sessions: NotNow, errors, lost reports, user channels, HMAC, command effects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
from collections.abc import Mapping
from typing import Any

from mdmflow.mdm.commands import (
    DeviceInformation,
    InstallProfile,
    ProfileList,
    RemoveProfile,
    RotateFileVaultKey,
    SecurityInfo,
)
from mdmflow.mdm.plist import dump_xml
from mdmflow.mdm.reports import CommandStatus
from mdmflow.mdm.responses import ProfileListResponse, SecurityInfoResponse
from mdmflow.simulator import SimulatedDevice
from mdmflow.simulator.sender import RetryPolicy
from tests.simulator.conftest import Harness, simulated
from tests.simulator.receiver import WebhookReceiver
from tests.support.signing import signer, tampered

PROFILE_ID = "com.example.wifi"


def _profile(uuid: str = "5A0B1C2D-0000-4000-8000-000000000001") -> bytes:
    wifi = {
        "PayloadType": "com.apple.wifi.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{PROFILE_ID}.payload",
        "PayloadUUID": "5A0B1C2D-0000-4000-8000-0000000000AA",
        "SSID_STR": "Office",
    }
    return dump_xml(
        {
            "PayloadContent": [wifi],
            "PayloadDisplayName": "Office Wi-Fi",
            "PayloadIdentifier": PROFILE_ID,
            "PayloadType": "Configuration",
            "PayloadUUID": uuid,
            "PayloadVersion": 1,
        }
    )


async def test_not_now_keeps_the_command_for_a_later_push(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, not_now_rate=1.0) as nano:
        udid = nano.udids[0]
        command_uuid, _ = await nano.enqueue([udid], ProfileList())
        [not_now] = await receiver.wait_reports(1)
        assert not_now.report.status is CommandStatus.NOT_NOW
        assert not_now.report.payload == {}
        assert set(not_now.report.model_dump(exclude_defaults=True)) == {
            "status",
            "command_uuid",
            "udid",
        }
        await receiver.wait_idles(1)  # NotNow'd commands are skipped for the session
        assert [c.uuid for c in nano.sim.queued(udid)] == [command_uuid]

        nano.sim.not_now_rate = 0.0
        await nano.push([udid])
        reports = await receiver.wait_reports(2)
        assert reports[1].report.status is CommandStatus.ACKNOWLEDGED
        assert reports[1].ack.command_uuid == command_uuid
        await nano.sim.wait_until_quiet()
        assert nano.sim.queued(udid) == []


async def test_error_rate_answers_with_an_error_chain(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, error_rate=1.0) as nano:
        udid = nano.udids[0]
        await nano.enqueue([udid], SecurityInfo())
        [delivery] = await receiver.wait_reports(1)
        report = delivery.report
        assert report.status is CommandStatus.ERROR
        assert report.error_chain
        assert report.error_chain[0].error_domain
        await nano.sim.wait_until_quiet()
        assert nano.sim.queued(udid) == []  # Error is final
        assert nano.sim.stats.reports["Error"] == 1


async def test_unknown_request_type_is_error_12021(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    udid = nano.udids[0]
    plist = ProfileList().to_plist("0001_x").replace(b"ProfileList", b"ShutDownDevice")
    await nano.client.put(nano.sim.enqueue_url(nano.url) + udid, content=plist)
    [delivery] = await receiver.wait_reports(1)
    [item] = delivery.report.error_chain
    assert (item.error_code, item.error_domain) == (12021, "MCMDMErrorDomain")
    assert item.localized_description == item.us_english_description == "Unknown request type"


async def test_profile_install_list_and_remove(nano: Harness, receiver: WebhookReceiver) -> None:
    udid = nano.udids[0]
    await nano.enqueue([udid], InstallProfile(payload=_profile()), nopush=True)
    await nano.enqueue([udid], ProfileList(managed_only=True), nopush=True)
    await nano.enqueue([udid], RemoveProfile(identifier=PROFILE_ID), nopush=True)
    await nano.enqueue([udid], RemoveProfile(identifier=PROFILE_ID), nopush=True)
    await nano.enqueue([udid], ProfileList(), nopush=True)
    await nano.push([udid])

    install, listed, removed, missing, after = (d.report for d in await receiver.wait_reports(5))
    assert install.status is CommandStatus.ACKNOWLEDGED
    [item] = ProfileListResponse.model_validate(listed.payload).profile_list
    assert item.payload_identifier == PROFILE_ID
    assert item.payload_uuid == "5A0B1C2D-0000-4000-8000-000000000001"
    assert item.payload_display_name == "Office Wi-Fi"
    assert (item.model_extra or {})["PayloadContent"][0]["PayloadType"] == "com.apple.wifi.managed"
    assert removed.status is CommandStatus.ACKNOWLEDGED
    assert missing.status is CommandStatus.ERROR
    assert missing.error_chain[0].error_code == 12013
    remaining = ProfileListResponse.model_validate(after.payload).profile_list
    assert [p.payload_identifier for p in remaining] == ["com.example.mdmflow.enrollment"]
    await nano.sim.wait_until_quiet()
    assert len(receiver.idles) == 1  # one push, one session


async def test_signed_and_broken_profiles(nano: Harness, receiver: WebhookReceiver) -> None:
    udid = nano.udids[1]
    signed = signer().sign(_profile())
    forged = tampered(signed, b"Office Wi-Fi", b"Office WiFi!")
    await nano.enqueue([udid], InstallProfile(payload=signed), nopush=True)
    await nano.enqueue([udid], InstallProfile(payload=b"\x00garbage"), nopush=True)
    await nano.enqueue([udid], InstallProfile(payload=forged), nopush=True)
    await nano.push([udid])
    ok, broken, refused = (d.report for d in await receiver.wait_reports(3))
    assert ok.status is CommandStatus.ACKNOWLEDGED
    assert nano.sim.device(udid).profiles[PROFILE_ID].raw == signed
    for bad in (broken, refused):
        assert bad.status is CommandStatus.ERROR
        chain = bad.error_chain[0]
        assert (chain.error_code, chain.error_domain) == (4001, "MCInstallationErrorDomain")
    assert nano.sim.device(udid).profiles[PROFILE_ID].raw == signed


async def test_lost_report_keeps_the_command(receiver: WebhookReceiver) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/webhook"
    async with simulated(receiver) as nano:
        udid = nano.udids[0]
        receiver.failing = True
        command_uuid, _ = await nano.enqueue([udid], ProfileList())
        await nano.sim.wait_until_quiet()
        assert nano.sim.stats.webhook_failures == 1
        assert [c.uuid for c in nano.sim.queued(udid)] == [command_uuid]

        receiver.failing = False
        await nano.push([udid])
        [delivery] = await receiver.wait_reports(1)
        assert delivery.ack.command_uuid == command_uuid
        await receiver.wait_idles(1)

    async with simulated(receiver, webhook_url=dead) as nano:
        # No answer at all is retried (see test_webhook_retry); give up fast here.
        nano.sim.webhook_retry = RetryPolicy(max_attempts=2, first_delay_s=0.01)
        await nano.enqueue([nano.udids[0]], ProfileList())
        await nano.sim.wait_until_quiet()
        assert nano.sim.stats.webhook_failures == 1
        assert len(nano.sim.queued(nano.udids[0])) == 1


async def test_user_channel_routes_to_the_device(
    receiver: WebhookReceiver,
) -> None:
    async with simulated(receiver, url_params={"tenant": "acme"}) as nano:
        device = nano.sim.device(nano.udids[0])
        assert device.user is not None
        assert device.user_enrollment_id is not None
        user_id = device.user_enrollment_id
        assert nano.sim.device(user_id) is device
        command_uuid, reply = await nano.enqueue([user_id], SecurityInfo())
        assert reply.status_code == 200
        assert user_id in reply.json()["status"]
        assert nano.sim.requests[0].path == f"/v1/enqueue/{user_id}"

        [delivery] = await receiver.wait_reports(1)
        assert delivery.ack.udid == device.udid
        assert delivery.ack.command_uuid == command_uuid
        assert delivery.ack.ids is not None
        assert (delivery.ack.ids.id, delivery.ack.ids.type) == (user_id, "User")
        assert delivery.ack.ids.parent_id == device.udid
        assert delivery.ack.url_params == {"tenant": "acme"}
        report = delivery.report
        assert report.user_id == device.user.user_id
        security = SecurityInfoResponse.model_validate(report.payload).security_info
        assert security.fde_enabled is None  # no FileVault keys on the user channel
        [idle] = await receiver.wait_idles(1)
        assert idle.report.user_id == device.user.user_id

        _, unknown = await nano.enqueue([f"{device.udid}:SOMEONE-ELSE"], ProfileList())
        assert unknown.status_code == 500


async def test_hmac_signature_is_nanomdm_style(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, webhook_hmac_key="s3cret") as nano:
        await nano.enqueue([nano.udids[0]], DeviceInformation(queries=["UDID"]))
        [delivery] = await receiver.wait_reports(1)
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).digest()
    assert delivery.headers["x-hmac-signature"] == base64.b64encode(expected).decode()
    assert delivery.headers["content-type"] == "application/json; charset=utf-8"


async def test_rotate_hook_supplies_the_rotate_result(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    def rotate(device: SimulatedDevice, command: Mapping[str, Any]) -> dict[str, Any]:
        return {"EncryptedNewRecoveryKey": f"{device.serial_number}:{command['KeyType']}".encode()}

    command = RotateFileVaultKey.model_validate(
        {"KeyType": "personal", "FileVaultUnlock": {"Password": "pw"}}
    )
    await nano.enqueue([nano.udids[0]], command)
    [own] = await receiver.wait_reports(1)
    # without a hook the Mac itself answers: "pw" is not its recovery key
    assert own.report.status == "Error"
    assert "unlock credentials are not valid" in own.report.error_chain[0].localized_description

    nano.sim.rotate_hook = rotate
    await nano.enqueue([nano.udids[0]], command)
    hooked = (await receiver.wait_reports(2))[1].report
    serial = nano.sim.device(nano.udids[0]).serial_number
    encoded = base64.b64encode(f"{serial}:personal".encode()).decode()
    assert hooked.payload == {"RotateResult": {"EncryptedNewRecoveryKey": encoded}}


async def test_a_push_during_a_session_is_not_lost(
    receiver: WebhookReceiver,
) -> None:
    async with simulated(receiver, latency_ms=(5, 5)) as nano:
        udid = nano.udids[0]
        first, _ = await nano.enqueue([udid], ProfileList())  # session starts, waits latency
        second, _ = await nano.enqueue([udid], SecurityInfo())  # pushed mid-session
        await nano.sim.wait_until_quiet()
        assert [d.ack.command_uuid for d in receiver.reports] == [first, second]
        assert nano.sim.stats.pushes == 2
        assert nano.sim.queued(udid) == []
