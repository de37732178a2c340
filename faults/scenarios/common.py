"""Counting helpers the scenarios share."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from faults.cluster import Cluster, Outcome, workflow_id
from faults.simulator import WebhookLog
from mdmflow.workflows.models import CommandReport

CLOSE_SLACK_S = 1.0
"""A report answered this long after its workflow closed was simply not needed any more."""


def duplicate_uuids(enqueued: Mapping[str, Sequence[str]]) -> int:
    """Second and later command UUIDs per device, for runs where each device ran one
    single-command step and nothing re-asks: each one would be a second command sent."""
    return sum(len(set(uuids)) - 1 for uuids in enqueued.values() if uuids)


async def report_signals(cluster: Cluster, enrollment_id: str) -> list[CommandReport]:
    """The report signals in the (latest) workflow's history, decoded, in history order."""
    handle = cluster.client.get_workflow_handle(workflow_id(enrollment_id))
    history = await handle.fetch_history()
    reports = []
    for event in history.events:
        if not event.HasField("workflow_execution_signaled_event_attributes"):
            continue
        payloads = event.workflow_execution_signaled_event_attributes.input.payloads
        (report,) = await cluster.client.data_converter.decode(payloads, [CommandReport])
        reports.append(report)
    return reports


async def answered_not_delivered(
    cluster: Cluster,
    log: WebhookLog,
    first_uuid: Mapping[str, str],
    outcomes: Mapping[str, Outcome],
) -> list[str]:
    """Devices whose first command's report was answered 2xx but never reached the workflow.

    Reached means its signal is in the workflow's history. A report answered 2xx after the
    workflow had closed (a re-ask's answer came first) had nothing left to reach, so it does
    not count; a workflow that never completed does.
    """
    gate = asyncio.Semaphore(8)

    async def missing(enrollment_id: str, command_uuid: str) -> bool:
        answered = [
            p.answered_at
            for p in log.reports()
            if p.enrollment_id == enrollment_id
            and p.command_uuid == command_uuid
            and p.code is not None
            and 200 <= p.code < 300
            and p.answered_at is not None
        ]
        if not answered:
            return False  # never answered 2xx: the sender knows it was not taken
        outcome = outcomes[workflow_id(enrollment_id)]
        if not outcome.completed:
            return True
        if outcome.close_time is not None and outcome.close_time < min(answered) - CLOSE_SLACK_S:
            return False
        async with gate:
            signals = await report_signals(cluster, enrollment_id)
        return not any(s.command_uuid == command_uuid for s in signals)

    ids = list(first_uuid)
    flags = await asyncio.gather(*(missing(i, first_uuid[i]) for i in ids))
    return [i for i, flag in zip(ids, flags, strict=True) if flag]
