"""Structured logs: JSON lines that carry the enrollment ID, command UUID and workflow ID."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import get_tracer
from temporalio.client import Client

from mdmflow.telemetry import JSONFormatter, setup_tracing
from tests.support.stack import running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"


def test_without_an_exporter_no_span_is_recorded() -> None:
    """No exporter configured: nothing is installed, so spans cost nothing (a fresh process,
    since the tracer provider is global and other tests install one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    code = (
        "from opentelemetry import trace\n"
        "from mdmflow.telemetry import setup_tracing, tracing_enabled\n"
        "setup_tracing('x')\n"
        "span = trace.get_tracer('t').start_span('s')\n"
        "print(tracing_enabled(), span.is_recording())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False"]


def test_json_lines_carry_extra_fields_and_the_trace_id() -> None:
    setup_tracing("mdmflow-test", SimpleSpanProcessor(InMemorySpanExporter()))
    record = logging.makeLogRecord(
        {
            "name": "mdmflow.x",
            "levelname": "INFO",
            "msg": "routed %s",
            "args": ("report",),
            "enrollment_id": "E1",
            "command_uuid": "C1",
            "attempt": 2,
        }
    )
    with get_tracer(__name__).start_as_current_span("span") as span:
        line = json.loads(JSONFormatter().format(record))
        trace_id = format(span.get_span_context().trace_id, "032x")
    assert line["msg"] == "routed report"
    assert line["level"] == "info"
    assert line["enrollment_id"] == "E1"
    assert line["command_uuid"] == "C1"
    assert line["attempt"] == 2
    assert line["trace_id"] == trace_id


async def test_engine_and_bridge_logs_name_the_device_command_and_workflow(
    client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One line per command and per report, at debug as NanoCMD logs each command (#126):
    at the default level a fleet's every step would be two lines to format and ship."""
    caplog.set_level(logging.DEBUG, logger="mdmflow")
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=1) as stack:
        eid = stack.sim.enrollment_ids()[0]
        async with stack.api() as api:
            await api.post(f"/v1/workflow/{DEVINFOLOG}/start", params={"id": eid})
        await client.get_workflow_handle(f"{DEVINFOLOG}/{eid}").result()
    lines = [json.loads(JSONFormatter().format(r)) for r in caplog.records]
    enqueued = [line for line in lines if line["msg"] == "enqueued command"]
    routed = [line for line in lines if line["msg"] == "routed report"]
    assert len(enqueued) == 1
    assert len(routed) == 1
    for line in (enqueued[0], routed[0]):
        assert line["level"] == "debug"
        assert line["enrollment_id"] == eid
        assert line["workflow_id"] == f"{DEVINFOLOG}/{eid}"
    assert enqueued[0]["command_uuid"] == routed[0]["command_uuid"]
