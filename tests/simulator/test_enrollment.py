"""Simulated devices enroll (Authenticate, then TokenUpdate with NanoMDM's tally), re-key,
check out and go idle, posting the check-ins a real MDM server would forward."""

from __future__ import annotations

from mdmflow.mdm.checkin import Authenticate, CheckOut, TokenUpdate, parse_checkin
from mdmflow.mdm.commands import SecurityInfo
from tests.simulator.conftest import simulated
from tests.simulator.receiver import Delivery, WebhookReceiver


def message(delivery: Delivery) -> Authenticate | TokenUpdate | CheckOut:
    checkin = delivery.event.checkin_event
    assert checkin is not None
    return parse_checkin(checkin.raw_payload, delivery.event.topic.removeprefix("mdm."))


async def test_unenrolled_device_enrolls_and_then_answers_pushes(
    receiver: WebhookReceiver,
) -> None:
    async with simulated(receiver, devices=1, enrolled=False, seed=11) as nano:
        udid = nano.udids[0]
        _, reply = await nano.enqueue([udid], SecurityInfo())
        assert reply.json()["status"][udid]["push_error"] == "push data missing for id"

        assert await nano.sim.enroll(udid)
        device = nano.sim.device(udid)
        expected = 3 if device.user is not None else 2
        deliveries = await receiver.wait_checkins(expected)
        topics = [d.event.topic for d in deliveries]
        assert topics[:2] == ["mdm.Authenticate", "mdm.TokenUpdate"]
        auth = message(deliveries[0])
        assert isinstance(auth, Authenticate)
        assert auth.serial_number == device.serial_number
        assert auth.model == device.model
        token = deliveries[1].event.checkin_event
        assert token is not None
        assert token.token_update_tally == 1
        assert token.ids is not None
        assert token.ids.id == udid
        assert token.ids.type == "Device"
        update = message(deliveries[1])
        assert isinstance(update, TokenUpdate)
        assert update.token
        assert update.push_magic

        assert (await nano.push([udid])).status_code == 200
        [report] = await receiver.wait_reports(1)
        assert report.ack.status == "Acknowledged"


async def test_user_channel_gets_its_own_token_update(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, devices=6, seed=3) as nano:
        mac = next(d for d in nano.sim.fleet if d.user is not None)
        assert mac.user is not None
        await nano.sim.enroll(mac.udid)
        deliveries = await receiver.wait_checkins(3)
        user_event = deliveries[2].event.checkin_event
        assert user_event is not None
        assert user_event.ids is not None
        assert user_event.ids.id == f"{mac.udid}:{mac.user.user_id}"
        assert user_event.ids.type == "User"
        update = message(deliveries[2])
        assert isinstance(update, TokenUpdate)
        assert update.user_id == mac.user.user_id


async def test_later_token_update_carries_the_running_tally(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, devices=1) as nano:
        assert await nano.sim.token_update(nano.udids[0], tally=4)
        [delivery] = await receiver.wait_checkins(1)
        assert delivery.event.checkin_event is not None
        assert delivery.event.checkin_event.token_update_tally == 4


async def test_check_out_stops_pushes(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, devices=1) as nano:
        udid = nano.udids[0]
        assert await nano.sim.check_out(udid)
        [delivery] = await receiver.wait_checkins(1)
        assert isinstance(message(delivery), CheckOut)
        push = await nano.push([udid])
        assert push.json()["status"][udid]["push_error"] == "push data missing for id"


async def test_idle_posts_an_idle_report(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, devices=1, url_params={"site": "lab"}) as nano:
        assert await nano.sim.idle(nano.udids[0])
        [idle] = await receiver.wait_idles(1)
        assert idle.ack.command_uuid == ""
        assert idle.ack.url_params == {"site": "lab"}


async def test_micromdm_checkins_have_no_ids_and_no_tally(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, devices=1, mode="micromdm") as nano:
        await nano.sim.enroll(nano.udids[0])
        deliveries = await receiver.wait_checkins(2)
        for delivery in deliveries:
            checkin = delivery.event.checkin_event
            assert checkin is not None
            assert checkin.ids is None
            assert checkin.token_update_tally is None
            assert b'"url_params":null' in delivery.body


async def test_webhook_refusing_a_checkin_is_reported(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, devices=1) as nano:
        receiver.failing = True
        assert not await nano.sim.check_out(nano.udids[0])
        assert nano.sim.stats.webhook_failures == 1
