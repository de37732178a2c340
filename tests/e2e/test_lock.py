"""Lock end to end: a PIN from a cryptographic source reaches the device, is escrowed sealed
with the sent and acknowledged times, and the inventory API shows it only when asked."""

from __future__ import annotations

from temporalio.client import Client

from mdmflow.activities.lock_models import (
    MESSAGE_RESULT_KEY,
    PIN_SECRET,
    RECEIVED_KEY,
    SENT_KEY,
)
from mdmflow.workflows.results import LockResult
from tests.support.stack import running_stack

LOCK = "io.micromdm.wf.lock.v1"


async def test_lock_escrows_the_devices_pin_and_times(client: Client, database_url: str) -> None:
    async with running_stack(client, database_url, devices=2) as stack:
        ids = stack.sim.enrollment_ids()
        async with stack.api() as api:
            reply = await api.post(f"/v1/workflow/{LOCK}/start", params={"id": ids})
            assert reply.status_code == 200, reply.text
            results = [
                await client.get_workflow_handle(f"{LOCK}/{eid}", result_type=LockResult).result()
                for eid in ids
            ]
            plain = (await api.get("/v1/inventory", params={"id": ids})).json()
            revealed = (await api.get("/v1/inventory", params={"id": ids, "secrets": "1"})).json()
        await stack.sim.wait_until_quiet()  # a device applies the lock after reporting it
        pins = [stack.sim.device(eid).lock_pin for eid in ids]
        assert all(pin is not None and len(pin) == 6 and pin.isdigit() for pin in pins)
        for eid, result, pin in zip(ids, results, pins, strict=True):
            assert result.enrollment_id == eid
            assert result.message_result == "Success"
            assert result.sent_at <= result.acknowledged_at
            assert pin not in result.model_dump_json()
            record = plain[eid]
            assert PIN_SECRET not in record
            assert record[SENT_KEY] == result.sent_at.isoformat()
            assert record[RECEIVED_KEY] == result.acknowledged_at.isoformat()
            assert record[MESSAGE_RESULT_KEY] == "Success"
            assert revealed[eid] == {**record, PIN_SECRET: pin}
