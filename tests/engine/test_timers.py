"""Engine timer rules on the time-skipping test server: NotNow, step timeouts and their
precedence, re-push intervals and NotUntil. Days pass in milliseconds; devices answer for real
through the simulator, the bridge and Temporal signals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from mdmflow.mdm.reports import CommandStatus
from mdmflow.workflows.models import WorkflowStart
from tests.engine.probe import PROBES, ProbeOutcome
from tests.support.history import activity_types, elapsed, events
from tests.support.stack import ClockHold, Stack, running_stack

MINUTE = timedelta(minutes=1)


@pytest.fixture
async def stack(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """A device that always answers NotNow; engine default 3 days, re-push every day."""
    async with running_stack(
        time_env.client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=PROBES,
        simulator={"not_now_rate": 1.0},
        hold=ClockHold(time_env),
    ) as running:
        yield running


async def start_probe(
    stack: Stack, steps: list[dict[str, Any]], workflow: str = "test.engine.probe"
) -> WorkflowHandle[Any, ProbeOutcome]:
    eid = stack.sim.enrollment_ids()[0]
    return await stack.client.start_workflow(
        workflow,
        WorkflowStart(enrollment_id=eid, context=json.dumps({"steps": steps})),
        id=f"{workflow}/{eid}",
        task_queue=stack.task_queue,
        result_type=ProbeOutcome,
    )


def pushes(stack: Stack) -> list[str]:
    """Requests that push: a push, or an enqueue without ``nopush`` (a step's last command)."""
    return [
        r.path
        for r in stack.sim.requests
        if r.path.startswith("/v1/push/")
        or (r.path.startswith("/v1/enqueue/") and not r.query.get("nopush"))
    ]


async def test_notnow_never_completes_and_timeout_hands_back_partial_results(
    stack: Stack, time_env: WorkflowEnvironment
) -> None:
    handle = await start_probe(stack, [{"name": "a", "commands": ["DeviceInformation"]}])
    with time_env.auto_time_skipping_disabled():
        # the bridge answers the device's webhook only after Temporal accepted the signal
        await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
    outcome = await handle.result()
    [step] = outcome.results
    assert step.timed_out
    assert [c.status for c in step.commands] == [CommandStatus.NOT_NOW]
    history = await events(handle)
    took = elapsed(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    assert timedelta(days=3) <= took < timedelta(days=3) + MINUTE


async def test_repush_every_interval_while_unanswered(
    stack: Stack, time_env: WorkflowEnvironment
) -> None:
    handle = await start_probe(stack, [{"name": "a", "commands": ["DeviceInformation"]}])
    await handle.result()
    # the enqueue pushes, then a re-push at day 1 and day 2; the step times out at day 3
    assert len(pushes(stack)) == 3
    enqueues = [r for r in stack.sim.requests if r.path.startswith("/v1/enqueue/")]
    assert [r.query.get("nopush") for r in enqueues] == [None]


async def test_step_timeout_beats_workflow_timeout_beats_engine_default(
    stack: Stack, time_env: WorkflowEnvironment
) -> None:
    cases = [
        ("test.engine.probe", {"timeout_s": 3600}, timedelta(hours=1)),
        ("test.engine.probe.slow", {"timeout_s": 3600}, timedelta(hours=1)),
        ("test.engine.probe.slow", {}, timedelta(hours=5)),
        ("test.engine.probe", {}, timedelta(days=3)),
    ]
    for workflow, extra, expected in cases:
        handle = await start_probe(
            stack, [{"name": "a", "commands": ["SecurityInfo"], **extra}], workflow
        )
        outcome = await handle.result()
        assert outcome.results[0].timed_out
        took = elapsed(await events(handle), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
        assert expected <= took < expected + MINUTE, (workflow, extra, took)


async def test_not_until_delays_the_enqueue_and_the_timeout_counts_from_the_enqueue(
    stack: Stack, time_env: WorkflowEnvironment
) -> None:
    handle = await start_probe(
        stack,
        [{"name": "later", "commands": ["ProfileList"], "not_until_s": 7200, "timeout_s": 3600}],
    )
    outcome = await handle.result()
    history = await events(handle)
    assert activity_types(history).count("mdm_enqueue_step") == 1
    assert elapsed(history, EventType.EVENT_TYPE_TIMER_FIRED) >= timedelta(hours=2)
    took = elapsed(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    assert timedelta(hours=3) <= took < timedelta(hours=3) + MINUTE
    assert outcome.results[0].timed_out


async def test_later_steps_run_after_earlier_ones_time_out(
    stack: Stack, time_env: WorkflowEnvironment
) -> None:
    handle = await start_probe(
        stack,
        [
            {"name": "first", "commands": ["SecurityInfo"], "timeout_s": 600},
            {"name": "second", "commands": ["DeviceInformation", "ProfileList"], "timeout_s": 600},
        ],
    )
    outcome = await handle.result()
    assert [r.step for r in outcome.results] == ["first", "second"]
    assert [len(r.commands) for r in outcome.results] == [1, 2]
    uuids = [c.command_uuid for r in outcome.results for c in r.commands]
    assert len(set(uuids)) == 3
