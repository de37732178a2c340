"""Replay every recorded history against today's workflow code: a change that would break
running workflows (non-determinism) fails here, before it reaches a worker. Replay runs in the
SDK's sandbox, so a workflow that calls something non-deterministic (time, random, I/O) on a
recorded path fails here too, although the worker itself runs workflows unsandboxed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from mdmflow.activities.fleet_models import FLEET_START_WORKFLOW
from mdmflow.workflows.fleet_start import FleetStartWorkflow
from mdmflow.workflows.registry import WORKFLOWS
from tests.replay.record import WORKFLOW_ID_KEY
from tests.support.codec import codec_converter

REPLAYED = [*WORKFLOWS.values(), FleetStartWorkflow]
"""The MDM workflows and the fleet start's fan-out (event handlers keep no long history)."""
HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
RECORDED = {p.stem: json.loads(p.read_text()) for p in HISTORIES}


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 2
    recorded_types = {
        h["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        for h in RECORDED.values()
    }
    assert recorded_types <= {*WORKFLOWS, FLEET_START_WORKFLOW}


@pytest.mark.parametrize("name", sorted(RECORDED))
async def test_history_replays_without_nondeterminism(name: str) -> None:
    recorded = RECORDED[name]
    # the run's own ID where the file keeps it: runs of v8 on check it as they mint UUIDs
    workflow_id = recorded.get(WORKFLOW_ID_KEY, name)
    history = WorkflowHistory.from_json(workflow_id, {"events": recorded["events"]})
    replayer = Replayer(
        workflows=REPLAYED,
        data_converter=codec_converter(),
        # the worker runs workflows unsandboxed for speed; here the sandbox's restrictions
        # check every recorded path for non-deterministic calls
        workflow_runner=SandboxedWorkflowRunner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
