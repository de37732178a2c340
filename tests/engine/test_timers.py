"""Engine timer rules on the time-skipping test server: NotNow, step timeouts and their
precedence, re-push intervals and NotUntil, both for runs that wake by the step alarm and for
runs started by earlier code, which time each wait with a timer of its own. Days pass in
milliseconds; devices answer for real through the simulator, the bridge and Temporal signals."""

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

from mdmflow.activities.models import EngineSettings
from mdmflow.mdm.reports import CommandStatus
from mdmflow.workflows.engine import STEP_ALARM_PATCH
from mdmflow.workflows.models import WorkflowStart
from tests.engine.probe import PROBES, ProbeOutcome
from tests.support.history import activity_types, elapsed, events, patch_markers
from tests.support.stack import ClockHold, Stack, running_stack

MINUTE = timedelta(minutes=1)
EARLIER = EngineSettings(local_enqueue=True, step_upsert_on_change=True)
"""The engine settings of a start by the version before the step alarm."""
TIMER_STARTED = EventType.EVENT_TYPE_TIMER_STARTED
TIMER_CANCELED = EventType.EVENT_TYPE_TIMER_CANCELED


@pytest.fixture(
    params=[
        pytest.param(None, id="alarm-by-patch"),
        pytest.param(EngineSettings.for_new_start(), id="alarm-by-start-input"),
        pytest.param(EARLIER, id="timer-per-wait"),
    ]
)
def engine(request: pytest.FixtureRequest) -> EngineSettings | None:
    """How the probe is started: each way a run decides how its steps wait."""
    settings: EngineSettings | None = request.param
    return settings


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
    stack: Stack,
    steps: list[dict[str, Any]],
    engine: EngineSettings | None,
    workflow: str = "test.engine.probe",
) -> WorkflowHandle[Any, ProbeOutcome]:
    eid = stack.sim.enrollment_ids()[0]
    return await stack.client.start_workflow(
        workflow,
        WorkflowStart(enrollment_id=eid, context=json.dumps({"steps": steps}), engine=engine),
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
    stack: Stack, time_env: WorkflowEnvironment, engine: EngineSettings | None
) -> None:
    handle = await start_probe(stack, [{"name": "a", "commands": ["DeviceInformation"]}], engine)
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
    stack: Stack, time_env: WorkflowEnvironment, engine: EngineSettings | None
) -> None:
    handle = await start_probe(stack, [{"name": "a", "commands": ["DeviceInformation"]}], engine)
    await handle.result()
    # the enqueue pushes, then a re-push at day 1 and day 2; the step times out at day 3
    assert len(pushes(stack)) == 3
    enqueues = [r for r in stack.sim.requests if r.path.startswith("/v1/enqueue/")]
    assert [r.query.get("nopush") for r in enqueues] == [None]


async def test_step_timeout_beats_workflow_timeout_beats_engine_default(
    stack: Stack, time_env: WorkflowEnvironment, engine: EngineSettings | None
) -> None:
    cases = [
        ("test.engine.probe", {"timeout_s": 3600}, timedelta(hours=1)),
        ("test.engine.probe.slow", {"timeout_s": 3600}, timedelta(hours=1)),
        ("test.engine.probe.slow", {}, timedelta(hours=5)),
        ("test.engine.probe", {}, timedelta(days=3)),
    ]
    for workflow, extra, expected in cases:
        handle = await start_probe(
            stack, [{"name": "a", "commands": ["SecurityInfo"], **extra}], engine, workflow
        )
        outcome = await handle.result()
        assert outcome.results[0].timed_out
        took = elapsed(await events(handle), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
        assert expected <= took < expected + MINUTE, (workflow, extra, took)


async def test_not_until_delays_the_enqueue_and_the_timeout_counts_from_the_enqueue(
    stack: Stack, time_env: WorkflowEnvironment, engine: EngineSettings | None
) -> None:
    handle = await start_probe(
        stack,
        [{"name": "later", "commands": ["ProfileList"], "not_until_s": 7200, "timeout_s": 3600}],
        engine,
    )
    outcome = await handle.result()
    history = await events(handle)
    assert activity_types(history).count("mdm_enqueue_step") == 1
    assert elapsed(history, EventType.EVENT_TYPE_TIMER_FIRED) >= timedelta(hours=2)
    took = elapsed(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    assert timedelta(hours=3) <= took < timedelta(hours=3) + MINUTE
    assert outcome.results[0].timed_out


async def test_later_steps_run_after_earlier_ones_time_out(
    stack: Stack, time_env: WorkflowEnvironment, engine: EngineSettings | None
) -> None:
    handle = await start_probe(
        stack,
        [
            {"name": "first", "commands": ["SecurityInfo"], "timeout_s": 600},
            {"name": "second", "commands": ["DeviceInformation", "ProfileList"], "timeout_s": 600},
        ],
        engine,
    )
    outcome = await handle.result()
    assert [r.step for r in outcome.results] == ["first", "second"]
    assert [len(r.commands) for r in outcome.results] == [1, 2]
    uuids = [c.command_uuid for r in outcome.results for c in r.commands]
    assert len(set(uuids)) == 3


def timers(history: list[Any]) -> tuple[list[timedelta], int]:
    """The durations of the timers a run started, to the second (a step's deadline counts
    from its enqueue, so its timer is a little shorter), and how many it cancelled."""
    started = [
        timedelta(
            seconds=round(
                e.timer_started_event_attributes.start_to_fire_timeout.ToNanoseconds() / 1e9
            )
        )
        for e in history
        if e.event_type == TIMER_STARTED
    ]
    return started, sum(1 for e in history if e.event_type == TIMER_CANCELED)


@pytest.mark.parametrize(
    ("engine", "expected", "marker"),
    [
        pytest.param(None, ([timedelta(days=1)], 0), True, id="alarm-by-patch"),
        pytest.param(EngineSettings.for_new_start(), ([timedelta(days=1)], 0), False, id="alarm"),
        pytest.param(EARLIER, ([timedelta(days=1)] * 3, 3), False, id="timer-per-wait"),
    ],
)
async def test_steps_answered_in_time_share_one_timer(
    stack: Stack,
    engine: EngineSettings | None,
    expected: tuple[list[timedelta], int],
    marker: bool,
) -> None:
    stack.sim.not_now_rate = 0.0
    steps = [{"name": n, "commands": ["DeviceInformation"]} for n in ("a", "b", "c")]
    handle = await start_probe(stack, steps, engine)
    outcome = await handle.result()

    assert [r.timed_out for r in outcome.results] == [False] * 3
    history = await events(handle)
    # each wait ends at the re-push (a day), sooner than the 3 days' step timeout
    assert timers(history) == expected
    assert (STEP_ALARM_PATCH in patch_markers(history)) is marker


async def test_a_step_due_sooner_replaces_the_pending_timer(stack: Stack) -> None:
    stack.sim.not_now_rate = 0.0
    steps: list[dict[str, Any]] = [
        {"name": "long", "commands": ["DeviceInformation"]},
        {"name": "short", "commands": ["SecurityInfo"], "timeout_s": 600},
        {"name": "long again", "commands": ["ProfileList"]},
    ]
    handle = await start_probe(stack, steps, EngineSettings.for_new_start())
    outcome = await handle.result()

    assert [r.timed_out for r in outcome.results] == [False] * 3
    # the first timer would wake the short step too late: it is cancelled, and the short
    # step's own timer, sooner than the third step needs, serves the third step
    assert timers(await events(handle)) == ([timedelta(days=1), timedelta(seconds=600)], 1)
