"""A start the content workflows cannot run with never half-runs: over HTTP it is a 400 and
nothing starts; ``mdmflow start`` prints the reason; a start that bypasses both (``temporal
workflow start``, the client) fails at once, non-retryably, before any command is enqueued."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from mdmflow.workflows.certprof_decide import CERTPROF
from mdmflow.workflows.cmdplan_plan import CMDPLAN
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.profile_plan import PROFILE
from tests.support.codec import TEST_CODEC_KEY
from tests.support.history import activity_types, events
from tests.support.processes import MDMFLOW, run, temporal_address
from tests.support.reports import post_checkin, token_update
from tests.support.runs import exists
from tests.support.signing import signer
from tests.support.stack import Stack, running_stack
from tests.support.temporal import binary
from tests.workflows.content import enqueued, mobileconfig, put_cmdplan, upload_profile


@pytest.fixture(scope="module")
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("start-checks")
    async with running_stack(
        temporal_env.client, f"sqlite+aiosqlite:///{folder}/app.db", devices=1
    ) as running:
        async with running.api() as api:
            await upload_profile(api, "wifi", mobileconfig("com.example.wifi"))
            await upload_profile(api, "signed", signer().sign(mobileconfig("com.example.s")))
            await put_cmdplan(api, "needs-ghost", {"profile_names": ["wifi", "ghost"]})
            await put_cmdplan(api, "configure-only", {"device_configured": True})
        yield running


async def latest_run(client: Client, workflow_id: str) -> str | None:
    """The run ID of the workflow's latest run, None if it never ran."""
    if not await exists(client, workflow_id):
        return None
    return (await client.get_workflow_handle(workflow_id).describe()).run_id


@pytest.mark.parametrize(
    ("workflow", "context", "reason"),
    [
        (PROFILE, "", "missing profile names"),
        (PROFILE, "wifi,,x", "profile name 2 of 'wifi,,x' is empty"),
        (PROFILE, "wifi,nope,-gone", "profile not found: nope, gone (upload with PUT"),
        (CMDPLAN, "", "missing cmdplan name"),
        (CMDPLAN, "nope-${site:x}", "cmdplan not found: nope-x (create it with PUT"),
        (CMDPLAN, "needs-ghost", "cmdplan needs-ghost: profile not found: ghost"),
        (CMDPLAN, "configure-only", "cmdplan configure-only: no commands to queue"),
        (CERTPROF, "", "missing context: certprof needs JSON"),
        (CERTPROF, '{"profile": "wifi"}', "filter: Field required"),
        (CERTPROF, '{"profile": "nope", "filter": {}}', "profile not found: nope"),
        (
            CERTPROF,
            '{"profile": "signed", "filter": {}, "text_replacements": {"%C%": "secret-1"}}',
            "profile signed is signed, and this workflow edits its text",
        ),
    ],
    ids=[
        "profile-empty",
        "profile-empty-element",
        "profile-missing",
        "cmdplan-empty",
        "cmdplan-missing",
        "cmdplan-missing-profile",
        "cmdplan-nothing-to-send",
        "certprof-empty",
        "certprof-no-filter",
        "certprof-missing-profile",
        "certprof-edits-signed",
    ],
)
async def test_api_refuses_with_400_and_starts_nothing(
    stack: Stack, workflow: str, context: str, reason: str
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    before = await latest_run(stack.client, f"{workflow}/{eid}")
    stack.sim.reset_log()
    async with stack.api() as api:
        reply = await api.post(
            f"/v1/workflow/{workflow}/start", params={"id": eid, "context": context}
        )
    assert reply.status_code == 400
    message = reply.json()["error"]
    assert message.startswith(f"invalid context for {workflow}: {reason}")
    assert "secret-1" not in reply.text
    assert await latest_run(stack.client, f"{workflow}/{eid}") == before
    assert enqueued(stack.sim, eid) == []


@pytest.mark.parametrize(
    ("workflow", "context", "reason"),
    [
        (PROFILE, "wifi,nope", "profile not found: nope"),
        (CMDPLAN, "nope", "cmdplan not found: nope"),
        (
            CERTPROF,
            '{"profile": "wifi", "filter": {}, "critera": {}}',
            "critera: Extra inputs are not permitted",
        ),
    ],
    ids=["profile", "cmdplan", "certprof"],
)
async def test_a_start_that_bypasses_the_checks_fails_at_once_without_retrying(
    stack: Stack, workflow: str, context: str, reason: str
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    handle = await stack.client.start_workflow(
        workflow,
        WorkflowStart(enrollment_id=eid, context=context),
        id=f"{workflow}/{eid}",
        task_queue=stack.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.non_retryable) == ("InvalidContext", True)
    assert cause.message.startswith(f"invalid start context for {workflow}: ")
    assert reason in cause.message
    history = await events(handle)
    kinds = {e.event_type for e in history}
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds  # failed, not retrying
    assert "mdm_enqueue_step" not in activity_types(history)
    assert enqueued(stack.sim, eid) == []


async def test_temporal_cli_start_with_a_missing_profile_fails_the_workflow(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    wid = f"{PROFILE}/{eid}/cli"
    code, _out, err = await run(
        binary("temporal"),
        "workflow",
        "execute",
        "--address",
        temporal_address(temporal_env),
        "--type",
        PROFILE,
        "--task-queue",
        stack.task_queue,
        "--workflow-id",
        wid,
        "--input",
        json.dumps({"enrollment_id": eid, "context": "wifi,ghost"}),
    )
    assert code != 0, err
    assert "FAILED" in _out + err  # the message itself is encrypted; the client decodes it
    with pytest.raises(WorkflowFailureError) as caught:
        await stack.client.get_workflow_handle(wid).result()
    assert isinstance(caught.value.cause, ApplicationError)
    assert "profile not found: ghost" in caught.value.cause.message
    assert enqueued(stack.sim, eid) == []


async def test_mdmflow_start_prints_the_reason(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    before = await latest_run(stack.client, f"{PROFILE}/{eid}")
    code, out, err = await run(
        MDMFLOW,
        "start",
        PROFILE,
        "--id",
        eid,
        "--context",
        "wifi,ghost",
        env={
            "TEMPORAL_ADDRESS": temporal_address(temporal_env),
            "MDMFLOW_TASK_QUEUE": stack.task_queue,
            "MDMFLOW_DATABASE_URL": stack.settings.database_url,
            "MDMFLOW_CODEC_KEY": TEST_CODEC_KEY,
        },
    )
    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"mdmflow: invalid context for {PROFILE}: profile not found: ghost "
        "(upload with PUT /v1/profile/{name})"
    )
    assert await latest_run(stack.client, f"{PROFILE}/{eid}") == before


async def test_enrollment_subscription_with_a_missing_plan_starts_nothing(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    async with stack.api() as api:
        body = {"event": "Enrollment", "workflow": CMDPLAN, "context": "site-${site}"}
        assert (await api.put("/v1/event/enroll-missing", json=body)).status_code == 204
    before = stack.started.ids(CMDPLAN)
    try:
        reply = await post_checkin(
            stack.bridge_url, eid, token_update(True), tally=1, url_params={"site": "nowhere"}
        )
        assert reply.status_code == 200  # the MDM server must not retry
        assert stack.started.ids(CMDPLAN) == before  # the bridge awaited the start attempt
        assert enqueued(stack.sim, eid) == []
    finally:
        async with stack.api() as api:
            await api.delete("/v1/event/enroll-missing")
