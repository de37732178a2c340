"""Capacity: one process simulates thousands of devices answering chunked enqueues and pushes."""

from __future__ import annotations

import asyncio

from mdmflow.mdm.commands import DeviceInformation
from tests.simulator.conftest import simulated
from tests.simulator.receiver import WebhookReceiver

FLEET = 2000
CHUNK = 30  # NanoCMD's maximum IDs per NanoMDM request


async def test_two_thousand_devices_answer_one_command_each(receiver: WebhookReceiver) -> None:
    async with simulated(receiver, devices=FLEET, seed=7, max_sessions=8) as nano:
        ids = nano.udids
        assert len(set(ids)) == FLEET
        chunks = [ids[i : i + CHUNK] for i in range(0, FLEET, CHUNK)]
        command = DeviceInformation(queries=["SerialNumber"])
        enqueued = await asyncio.gather(*(nano.enqueue(c, command, nopush=True) for c in chunks))
        assert {reply.status_code for _, reply in enqueued} == {200}
        uuids = {command_uuid for command_uuid, _ in enqueued}
        pushed = await asyncio.gather(*(nano.push(chunk) for chunk in chunks))
        assert {reply.status_code for reply in pushed} == {200}

        reports = await receiver.wait_reports(FLEET)
        await nano.sim.wait_until_quiet()

        assert sorted(d.ack.udid for d in reports) == sorted(ids)
        assert {d.ack.command_uuid for d in reports} == uuids
        assert len(receiver.idles) == FLEET
        stats = nano.sim.stats
        assert (stats.commands_enqueued, stats.pushes, stats.sessions) == (FLEET, FLEET, FLEET)
        assert stats.reports == {"Acknowledged": FLEET, "Idle": FLEET}
        assert stats.webhook_failures == 0
        methods = [r.method for r in nano.sim.requests]
        assert methods == ["PUT"] * len(chunks) + ["GET"] * len(chunks)
        assert all(r.query == {"nopush": "1"} for r in nano.sim.requests[: len(chunks)])
