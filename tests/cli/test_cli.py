"""The operator's command line, run as real subprocesses: ``temporal workflow start`` with
plain JSON input, ``mdmflow start``, and one-line errors for bad settings."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from mdmflow.mdm.commands import DeviceInformation
from mdmflow.workflows.results import DeviceInfoLog
from tests.support.codec import TEST_CODEC_KEY
from tests.support.processes import MDMFLOW, run, temporal_address
from tests.support.stack import Stack, running_stack
from tests.support.temporal import binary

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db") as running:
        yield running


async def test_temporal_cli_start_with_plain_json_reaches_the_workflow(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    code, _out, err = await run(
        binary("temporal"),
        "workflow",
        "start",
        "--address",
        temporal_address(temporal_env),
        "--type",
        DEVINFOLOG,
        "--task-queue",
        stack.task_queue,
        "--workflow-id",
        f"{DEVINFOLOG}/{eid}",
        "--input",
        json.dumps({"enrollment_id": eid}),
    )
    assert code == 0, err
    handle = stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}", result_type=DeviceInfoLog)
    result = await handle.result()
    assert result.values["SerialNumber"] == stack.sim.device(eid).serial_number


async def test_mdmflow_start_starts_one_workflow_per_id(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    ids = stack.sim.enrollment_ids()[:2]
    code, out, err = await run(
        MDMFLOW,
        "start",
        DEVINFOLOG,
        "--id",
        ids[0],
        "--id",
        ids[1],
        env={
            "TEMPORAL_ADDRESS": temporal_address(temporal_env),
            "MDMFLOW_TASK_QUEUE": stack.task_queue,
            "MDMFLOW_CODEC_KEY": TEST_CODEC_KEY,
        },
    )
    assert code == 0, err
    outcome = json.loads(out)
    assert outcome["started"] == ids
    for eid in ids:
        handle = stack.client.get_workflow_handle(f"{DEVINFOLOG}/{eid}", result_type=DeviceInfoLog)
        assert (await handle.result()).values["UDID"] == eid
        attrs = (await handle.describe()).typed_search_attributes
        assert outcome["instance_id"] in str(attrs)


async def test_mdmflow_start_ids_file_fans_out_and_waits_for_every_device(
    client: Client, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Over the threshold the CLI leaves the starts to the fan-out workflow, shows its progress
    on standard error, prints the outcome as JSON, and with ``--wait`` returns once every
    device's workflow has completed."""
    database_url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    async with running_stack(client, database_url, devices=12) as stack:
        ids = stack.sim.enrollment_ids()
        ids_file = tmp_path / "ids.txt"
        ids_file.write_text("# twelve Macs\n" + "\n".join(ids) + "\n\n")
        code, out, err = await run(
            MDMFLOW,
            "start",
            DEVINFOLOG,
            "--ids-file",
            str(ids_file),
            "--wait",
            env={
                "TEMPORAL_ADDRESS": temporal_address(temporal_env),
                "MDMFLOW_TASK_QUEUE": stack.task_queue,
                "MDMFLOW_CODEC_KEY": TEST_CODEC_KEY,
                "MDMFLOW_DATABASE_URL": database_url,
                "MDMFLOW_FLEET_START_THRESHOLD": "5",
            },
        )
        assert code == 0, err
        outcome = json.loads(out)
        assert (outcome["total"], outcome["started"], outcome["already_running"]) == (12, 12, 0)
        assert "started" in err
        assert "12 devices — 12 completed" in err
        for eid in ids:
            handle = stack.client.get_workflow_handle(
                f"{DEVINFOLOG}/{eid}", result_type=DeviceInfoLog
            )
            assert (await handle.result()).values["UDID"] == eid
            attrs = (await handle.describe()).typed_search_attributes
            assert outcome["instance_id"] in str(attrs)


async def test_mdmflow_start_refuses_an_unreadable_ids_file(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.json"
    ids_file.write_text('["a", 2]')
    code, _, err = await run(MDMFLOW, "start", DEVINFOLOG, "--ids-file", str(ids_file))
    assert code == 1
    assert err.strip() == "mdmflow: the IDs must be a JSON list of strings"


async def test_mdmflow_start_of_unknown_workflow_says_so(temporal_env: WorkflowEnvironment) -> None:
    code, _, err = await run(
        MDMFLOW,
        "start",
        "io.example.nope",
        "--id",
        "X",
        env={
            "TEMPORAL_ADDRESS": temporal_address(temporal_env),
            "MDMFLOW_CODEC_KEY": TEST_CODEC_KEY,
        },
    )
    assert code == 1
    assert "no such workflow: io.example.nope" in err


@pytest.mark.parametrize(
    ("command", "env", "expected"),
    [
        (["worker"], {"MDMFLOW_STEP_TIMEOUT": "soon"}, "MDMFLOW_STEP_TIMEOUT"),
        (["bridge"], {"MDMFLOW_LISTEN": "nowhere"}, "MDMFLOW_LISTEN must be host:port"),
        (["worker"], {"MDMFLOW_ENQUEUE_URL": "http://x/"}, "must be set together"),
        (["worker"], {"MDMFLOW_ENQUEUE_URL": "", "MDMFLOW_PUSH_URL": ""}, "MDMFLOW_ENQUEUE_URL"),
        (
            ["worker"],
            {
                "TEMPORAL_ADDRESS": "127.0.0.1:1",
                "MDMFLOW_ENQUEUE_URL": "http://x/",
                "MDMFLOW_PUSH_URL": "http://x/",
                "MDMFLOW_CODEC_KEY": TEST_CODEC_KEY,
            },
            "cannot reach Temporal",
        ),
        (
            ["worker"],
            {"MDMFLOW_ENQUEUE_URL": "http://x/", "MDMFLOW_PUSH_URL": "http://x/"},
            "no encryption key: set MDMFLOW_CODEC_KEY",
        ),
        (["bridge"], {"MDMFLOW_CODEC_KEY": "k1:short"}, "MDMFLOW_CODEC_KEY key 'k1'"),
        (
            ["bridge"],
            {"MDMFLOW_CODEC_KEY": TEST_CODEC_KEY, "MDMFLOW_CODEC_KEY_FILE": "keys"},
            "both set; use one",
        ),
    ],
)
async def test_bad_settings_stop_with_one_clear_line(
    command: list[str], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    # a data dir of its own: a key file left by `mdmflow dev` in the checkout must not count
    env = {"MDMFLOW_DATA_DIR": str(tmp_path), "MDMFLOW_CODEC_KEY": "", **env}
    code, _, err = await run(MDMFLOW, *command, env=env)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("mdmflow: ")
    assert expected in lines[0]
    assert "Traceback" not in err


async def test_mdmflow_simulate_serves_the_mdm_api_for_its_devices() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "simulate",
        "--devices",
        "2",
        "--listen",
        f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "MDMFLOW_ENQUEUE_API_KEY": "sim-key"},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("  devices:"):
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line, "".join(lines)
            lines.append(line)
        text = "".join(lines)
        enqueue_url = text.split("MDMFLOW_ENQUEUE_URL=")[1].split()[0]
        devices = lines[-1].split(":", 1)[1].strip().split(", ")
        assert len(devices) == 2
        plist = DeviceInformation(queries=["UDID"]).to_plist("CLI-TEST-1")
        async with httpx.AsyncClient(auth=("nanomdm", "sim-key")) as http:
            reply = await http.put(enqueue_url + devices[0], content=plist, params={"nopush": "1"})
            refused = await http.put(enqueue_url + devices[0], content=plist, auth=("nanomdm", "x"))
        assert reply.status_code == 200, reply.text
        assert reply.json()["command_uuid"] == "CLI-TEST-1"
        assert refused.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
