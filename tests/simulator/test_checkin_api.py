"""A simulated device checks in on request, over the simulator's HTTP API and from the
``mdmflow simulate checkin`` command, posting what a real MDM server would forward."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from mdmflow.cli.sim_address import SimulatorAddress
from tests.simulator.conftest import API_KEY, Harness
from tests.simulator.receiver import WebhookReceiver
from tests.support.processes import MDMFLOW

CLI_SECONDS = 60  # a safety net against hangs only; the wait ends when the command exits


def checkin_url(nano: Harness, enrollment_id: str) -> str:
    return f"{nano.url}/sim/devices/{enrollment_id}/checkin"


def topics(receiver: WebhookReceiver) -> list[str]:
    return [delivery.event.topic for delivery in receiver.deliveries]


async def test_each_message_posts_its_check_in(nano: Harness, receiver: WebhookReceiver) -> None:
    udid = nano.udids[0]
    device = nano.sim.device(udid)
    user_token = ["mdm.TokenUpdate"] if device.user is not None else []

    reply = await nano.client.post(checkin_url(nano, udid), json={"message": "Authenticate"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"id": udid, "message": "Authenticate", "delivered": True}
    assert topics(receiver) == ["mdm.Authenticate", "mdm.TokenUpdate", *user_token]
    first_token = receiver.checkins[1].event.checkin_event
    assert first_token is not None
    assert first_token.token_update_tally == 1

    receiver.reset()
    reply = await nano.client.post(
        checkin_url(nano, udid), json={"message": "TokenUpdate", "tally": 5}
    )
    assert reply.status_code == 200, reply.text
    [token] = receiver.checkins
    assert token.event.topic == "mdm.TokenUpdate"
    assert token.event.checkin_event is not None
    assert token.event.checkin_event.token_update_tally == 5

    receiver.reset()
    assert (await nano.client.post(checkin_url(nano, udid), json={"message": "Idle"})).is_success
    [idle] = receiver.idles
    assert idle.ack.status == "Idle"
    assert idle.ack.target_id == udid

    receiver.reset()
    reply = await nano.client.post(checkin_url(nano, udid), json={"message": "CheckOut"})
    assert reply.status_code == 200, reply.text
    assert topics(receiver) == ["mdm.CheckOut"]
    assert not device.enrolled, "a checked-out device no longer takes pushes"


async def test_a_standalone_token_update_is_a_later_one(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    udid = nano.udids[0]
    reply = await nano.client.post(checkin_url(nano, udid), json={"message": "TokenUpdate"})
    assert reply.status_code == 200, reply.text
    [token] = receiver.checkins
    assert token.event.checkin_event is not None
    assert token.event.checkin_event.token_update_tally == 2, "tally 1 would mean Enrollment"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"message": "Enroll"}, "message"),
        ({}, "message"),
        ({"message": "TokenUpdate", "tally": 0}, "tally"),
        ({"message": "Idle", "extra": 1}, "extra"),
    ],
)
async def test_a_bad_request_is_400_with_the_reason(
    nano: Harness, receiver: WebhookReceiver, body: dict[str, object], reason: str
) -> None:
    reply = await nano.client.post(checkin_url(nano, nano.udids[0]), json=body)
    assert reply.status_code == 400, reply.text
    assert reason in reply.json()["error"]
    assert receiver.deliveries == []


async def test_unknown_device_is_404_and_credentials_are_required(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    reply = await nano.client.post(checkin_url(nano, "NOT-A-DEVICE"), json={"message": "Idle"})
    assert reply.status_code == 404
    assert "NOT-A-DEVICE" in reply.json()["error"]
    async with httpx.AsyncClient(timeout=20) as anonymous:
        unauthorized = await anonymous.post(
            checkin_url(nano, nano.udids[0]), json={"message": "Idle"}
        )
    assert unauthorized.status_code == 401
    assert receiver.deliveries == []


async def test_a_webhook_that_refuses_is_reported_as_502(
    nano: Harness, receiver: WebhookReceiver
) -> None:
    receiver.failing = True
    reply = await nano.client.post(checkin_url(nano, nano.udids[0]), json={"message": "Idle"})
    assert reply.status_code == 502
    assert reply.json()["delivered"] is False
    assert receiver.url in reply.json()["error"]


async def mdmflow_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the command in a child process while this loop keeps serving the simulator."""
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    async with asyncio.timeout(CLI_SECONDS):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MDMFLOW_", "TEMPORAL_"))}


async def test_the_cli_makes_a_device_check_in(nano: Harness, receiver: WebhookReceiver) -> None:
    udid = nano.udids[1]
    args = ["simulate", "checkin", "--simulator", nano.url, "--device", udid]
    code, out, err = await mdmflow_cli(
        *args, "--message", "CheckOut", "--key", API_KEY, env=clean_env()
    )
    assert code == 0, err
    assert f"CheckOut from {udid}: delivered" in out
    assert topics(receiver) == ["mdm.CheckOut"]

    receiver.reset()
    with_env_key = {**clean_env(), "MDMFLOW_ENQUEUE_API_KEY": API_KEY}
    code, out, err = await mdmflow_cli(*args, "--message", "Idle", env=with_env_key)
    assert code == 0, err
    assert [d.ack.status for d in receiver.idles] == ["Idle"]

    code, _, err = await mdmflow_cli(*args, "--message", "Idle", "--key", "wrong", env=clean_env())
    assert code == 1
    assert "HTTP 401" in err


async def test_the_cli_finds_the_simulator_mdmflow_dev_recorded(
    nano: Harness, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    args = ["simulate", "checkin", "--data-dir", str(data_dir), "--device", nano.udids[0]]
    code, _, err = await mdmflow_cli(*args, "--message", "Idle", env=clean_env())
    assert code == 2
    assert "mdmflow dev" in err
    assert "--simulator" in err

    path = SimulatorAddress(nano.url, nano.sim.config.auth_user, API_KEY).write(data_dir)
    assert path.stat().st_mode & 0o077 == 0, "the file holds the simulator's key"
    code, out, err = await mdmflow_cli(*args, "--message", "Authenticate", env=clean_env())
    assert code == 0, err
    assert "Authenticate" in out
    assert topics(receiver)[:2] == ["mdm.Authenticate", "mdm.TokenUpdate"]
