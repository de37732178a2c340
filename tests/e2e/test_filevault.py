"""FileVault end to end on the time-skipping server: the enable profile with our escrow
certificate, SecurityInfo polls every two minutes (hours pass in seconds), real CMS envelopes
from the simulated Macs, continue-as-new between runs, rotation, and the stored profile."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from mdmflow.activities.models import EngineSettings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.filevault.profile import PROFILE_IDENTIFIER, TEMPLATE
from mdmflow.simulator import SimulatedDevice
from mdmflow.store.escrow_identity import EscrowIdentityStore
from mdmflow.workflows import search
from mdmflow.workflows.engine import STEP_UPSERT_ON_CHANGE_PATCH
from mdmflow.workflows.fvenable_poll import (
    FVENABLE,
    MAX_POLLS,
    POLL_INTERVAL,
    POLLS_PER_RUN,
    FileVaultEnableResult,
)
from mdmflow.workflows.fvrotate import FVROTATE
from mdmflow.workflows.models import STATUS_QUERY, WorkflowStart, WorkflowStatus
from mdmflow.workflows.results import FileVaultRotateResult
from tests.support.codec import TEST_KEYRING
from tests.support.history import elapsed, events, patch_markers, upserted
from tests.support.runs import runs
from tests.support.stack import ClockHold, Stack, running_stack

CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
INSTANCE_ID = "filevault-test"
R = TypeVar("R")


@pytest.fixture
async def stack(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(
        time_env.client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=3,
        hold=ClockHold(time_env),
    ) as running:
        yield running


def off(device: SimulatedDevice, enable_after: int | None) -> SimulatedDevice:
    """FileVault off until ``enable_after`` polls after the profile (None: never)."""
    device.fde_enabled = False
    device.filevault.recovery_key = None
    device.filevault.enable_after_polls = enable_after
    return device


def on(device: SimulatedDevice) -> SimulatedDevice:
    """FileVault already on with a personal recovery key, as on most enrolled Macs."""
    device.fde_enabled = True
    device.filevault.recovery_key = "OLD1-OLD2-OLD3-OLD4-OLD5-OLD6"
    return device


async def start(stack: Stack, name: str, eid: str, result_type: type[R]) -> WorkflowHandle[Any, R]:
    """Start as the bridge does; the handle comes from the client, whose ``result()`` lets the
    time-skipping server skip time (a handle from ``get_workflow_handle`` would not)."""
    return await stack.client.start_workflow(
        name,
        WorkflowStart(enrollment_id=eid, instance_id=INSTANCE_ID),
        id=f"{name}/{eid}",
        task_queue=stack.task_queue,
        result_type=result_type,
    )


async def escrowed(stack: Stack, eid: str) -> dict[str, Any]:
    async with stack.api() as api:
        reply = await api.get("/v1/inventory", params={"id": eid, "secrets": "1"})
    record: dict[str, Any] = reply.json()[eid]
    return record


def security_info_polls(stack: Stack, eid: str) -> int:
    return sum(1 for r in stack.sim.requests if r.path.endswith(eid) and b"SecurityInfo" in r.body)


async def test_key_escrowed_once_filevault_turns_on_across_continued_runs(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    device = off(stack.sim.device(eid), enable_after=POLLS_PER_RUN + 2)
    device.filevault.cipher = "aes256"
    handle = await start(stack, FVENABLE, eid, FileVaultEnableResult)
    result = await handle.result()

    assert result.polls == POLLS_PER_RUN + 2
    assert result.profile_source == "built-in"
    assert device.fde_enabled
    record = await escrowed(stack, eid)
    assert record["prk"] == device.filevault.recovery_key
    assert record["last_source"] == "InvPRK"
    assert record["fde_enabled"] is True  # the inventory event handler saw the polls too
    identity = await EscrowIdentityStore(stack.db, SecretBox(TEST_KEYRING)).get_or_create()
    assert device.filevault.escrow_certificate == identity.certificate_der
    installed = device.profiles[PROFILE_IDENTIFIER].raw
    assert base64.b64encode(identity.certificate_der) in installed

    chain = await runs(stack.client, handle.id)
    assert len(chain) == 2
    assert [e for e in await events(chain[0]) if e.event_type == CONTINUED]
    status = await handle.query(STATUS_QUERY, result_type=WorkflowStatus)
    assert status.steps_completed == ["install"] + ["poll"] * result.polls
    assert status.instance_id == INSTANCE_ID
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(search.INSTANCE_ID) == INSTANCE_ID
    assert attributes.get(search.ENROLLMENT_ID) == eid
    took = elapsed(await events(chain[0]), CONTINUED)
    assert took >= POLL_INTERVAL * POLLS_PER_RUN


@pytest.mark.parametrize(
    ("engine", "shown", "marker"),
    [
        pytest.param(EngineSettings.for_new_start(), ["install", "poll"], False, id="start-input"),
        pytest.param(None, ["install", "poll"], True, id="by-patch"),
        # Started by earlier code: its engine settings lack step_upsert_on_change, and it
        # upserts twice a poll, as it waits out its interval (NotUntil) and as it sends.
        pytest.param(
            EngineSettings(local_enqueue=True), ["install"] + ["poll"] * 6, False, id="earlier"
        ),
    ],
)
async def test_a_polling_run_upserts_its_step_only_when_it_changes(
    stack: Stack, engine: EngineSettings | None, shown: list[str], marker: bool
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    off(stack.sim.device(eid), enable_after=3)
    handle = await stack.client.start_workflow(
        FVENABLE,
        WorkflowStart(enrollment_id=eid, instance_id=INSTANCE_ID, engine=engine),
        id=f"{FVENABLE}/{eid}",
        task_queue=stack.task_queue,
        result_type=FileVaultEnableResult,
    )
    result = await handle.result()

    assert result.polls == 3
    history = await events(handle)
    assert upserted(history, search.STEP.name) == shown
    assert (STEP_UPSERT_ON_CHANGE_PATCH in patch_markers(history)) is marker


async def test_device_that_never_enables_ends_after_the_poll_limit(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    off(stack.sim.device(eid), enable_after=None)
    handle = await start(stack, FVENABLE, eid, FileVaultEnableResult)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert f"after {MAX_POLLS} SecurityInfo polls" in cause.message
    assert security_info_polls(stack, eid) == MAX_POLLS
    chain = await runs(stack.client, handle.id)
    assert len(chain) == MAX_POLLS // POLLS_PER_RUN
    assert "prk" not in await escrowed(stack, eid)


async def test_damaged_envelope_is_logged_and_polling_goes_on(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    device = off(stack.sim.device(eid), enable_after=1)
    device.filevault.corrupt_envelope = True
    caplog.set_level(logging.INFO)
    handle = await start(stack, FVENABLE, eid, FileVaultEnableResult)
    waiting = asyncio.create_task(handle.result())  # time skips while the result is awaited
    await stack.sim.wait_for(lambda: security_info_polls(stack, eid) >= 3)
    device.filevault.corrupt_envelope = False  # the device's next escrow works
    result = await waiting

    assert result.polls >= 3
    assert (await escrowed(stack, eid))["prk"] == device.filevault.recovery_key
    reasons = [
        r.getMessage()
        for r in caplog.records
        if "recovery key envelope does not open" in r.getMessage()
    ]
    assert len(reasons) >= 2
    assert all("not CMS EnvelopedData" in r and r.startswith("poll ") for r in reasons)
    assert all(
        r.levelno == logging.WARNING
        for r in caplog.records
        if "envelope does not open" in r.getMessage()
    )


async def test_stored_profile_under_the_workflow_name_is_used(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    on(stack.sim.device(eid))
    async with stack.api() as api:
        template = await api.get("/v1/fvenable/profiletemplate")
        assert template.status_code == 200
        assert template.headers["content-type"] == "application/x-apple-aspen-config"
        assert template.content == TEMPLATE
        edited = template.content.replace(
            b"<string>FileVault</string>\n\t<key>PayloadIdentifier</key>",
            b"<string>FileVault (ACME)</string>\n\t<key>PayloadIdentifier</key>",
        )
        assert edited != template.content
        uploaded = await api.put(f"/v1/profile/{FVENABLE}", content=edited)
        assert uploaded.status_code == 204, uploaded.text
    result = await (await start(stack, FVENABLE, eid, FileVaultEnableResult)).result()
    assert result.profile_source == "store"
    assert result.polls == 1  # FileVault was already on: the first poll brings the key
    installed = stack.sim.device(eid).profiles[PROFILE_IDENTIFIER]
    assert installed.display_name == "FileVault (ACME)"


async def test_rotation_replaces_the_escrowed_key(stack: Stack) -> None:
    eid, never_escrowed = stack.sim.enrollment_ids()[:2]
    device = on(stack.sim.device(eid))
    await (await start(stack, FVENABLE, eid, FileVaultEnableResult)).result()
    old = (await escrowed(stack, eid))["prk"]
    assert old == device.filevault.recovery_key == "OLD1-OLD2-OLD3-OLD4-OLD5-OLD6"

    rotated = await (await start(stack, FVROTATE, eid, FileVaultRotateResult)).result()
    assert rotated.enrollment_id == eid
    new = (await escrowed(stack, eid))["prk"]
    assert new == device.filevault.recovery_key
    assert new != old

    never = await start(stack, FVROTATE, never_escrowed, FileVaultRotateResult)
    with pytest.raises(WorkflowFailureError) as failed:
        await never.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert "no FileVault recovery key is escrowed" in failed.value.cause.message


async def test_rotation_with_a_stale_key_fails_with_the_devices_error(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    on(stack.sim.device(eid))
    await (await start(stack, FVENABLE, eid, FileVaultEnableResult)).result()
    stack.sim.device(eid).filevault.recovery_key = "CHANGED-ON-THE-MAC-ITSELF"
    stale = await start(stack, FVROTATE, eid, FileVaultRotateResult)
    with pytest.raises(WorkflowFailureError) as failed:
        await stale.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert "RotateFileVaultKey answered Error" in failed.value.cause.message
    assert "unlock credentials are not valid" in failed.value.cause.message


def test_poll_budget_matches_nanocmd() -> None:
    assert (180, timedelta(minutes=2)) == (MAX_POLLS, POLL_INTERVAL)
