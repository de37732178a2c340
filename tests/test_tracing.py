"""One trace from a device report to the next MDM HTTP call: the webhook's server span, the
bridge's signal, the workflow handling it, the next step's enqueue activity and its HTTP call
to the MDM server all share a trace (the simulator carries the push's trace context into the
device's webhook post, as a traced MDM server would)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, get_tracer
from temporalio.client import Client

from mdmflow.telemetry import setup_tracing
from mdmflow.workflows.models import WorkflowStart
from tests.engine.probe import PROBES, ProbeOutcome
from tests.support.stack import running_stack

EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    setup_tracing("mdmflow-test", SimpleSpanProcessor(EXPORTER))
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


def named(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def url_of(span: ReadableSpan) -> str:
    attrs = span.attributes or {}
    return str(attrs.get("url.full") or attrs.get("http.url") or "")


async def test_report_signal_workflow_enqueue_and_mdm_call_share_one_trace(
    client: Client, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    steps = {
        "steps": [
            {"name": "first", "commands": ["DeviceInformation"]},
            {"name": "second", "commands": ["SecurityInfo"]},
        ]
    }
    async with running_stack(
        client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=1, extra_workflows=PROBES
    ) as stack:
        eid = stack.sim.enrollment_ids()[0]
        with get_tracer(__name__).start_as_current_span("operator starts a workflow"):
            handle = await client.start_workflow(
                "test.engine.probe",
                WorkflowStart(enrollment_id=eid, context=json.dumps(steps)),
                id=f"test.engine.probe/{eid}",
                task_queue=stack.task_queue,
                result_type=ProbeOutcome,
            )
        outcome = await handle.result()
        await stack.sim.wait_until_quiet()
    assert [r.step for r in outcome.results] == ["first", "second"]
    finished = list(spans.get_finished_spans())

    webhooks = [
        s
        for s in finished
        if s.kind is SpanKind.SERVER and "/webhook" in s.name and s.name.startswith("POST")
    ]
    signals = named(finished, "SignalWorkflow:mdm_command_report")
    handled = named(finished, "HandleSignal:mdm_command_report")
    runs = named(finished, "RunActivity:mdm_enqueue_step")
    enqueue_calls = [
        s for s in finished if s.kind is SpanKind.CLIENT and "/v1/enqueue/" in url_of(s)
    ]
    assert webhooks, [s.name for s in finished]
    assert len(signals) == 2
    assert len(handled) == 2
    assert len(runs) == 2
    assert len(enqueue_calls) == 2
    assert [(s.attributes or {}).get("http.response.status_code") for s in enqueue_calls] == [
        200,
        200,
    ]

    first_report = min(signals, key=lambda s: s.start_time or 0)
    second_enqueue = max(enqueue_calls, key=lambda s: s.start_time or 0)
    trace_id = first_report.context.trace_id
    chain = [*webhooks, *signals, *handled, *runs, second_enqueue]
    assert {s.context.trace_id for s in chain} == {trace_id}
    assert (second_enqueue.start_time or 0) > (first_report.start_time or 0)

    by_id = {s.context.span_id: s for s in finished}
    import sys

    for s in sorted(finished, key=lambda s: s.start_time or 0):
        print(
            s.name,
            s.kind,
            hex(s.context.span_id),
            hex(s.parent.span_id) if s.parent else None,
            file=sys.stderr,
        )
    parent = first_report.parent
    assert parent is not None
    assert by_id[parent.span_id] in webhooks or by_id[parent.span_id].parent is not None
    assert any(
        link.context.span_id == first_report.context.span_id for s in handled for link in s.links
    )
