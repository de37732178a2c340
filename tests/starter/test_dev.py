"""``mdmflow dev`` as a newcomer runs it: one process tree, a banner with URLs and the API
key, a workflow started over HTTP completing against the simulated devices, Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from mdmflow.workflows.devinfolog import DeviceInfoLog

MDMFLOW = str(Path(sys.executable).parent / "mdmflow")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_banner(stream: asyncio.StreamReader) -> str:
    """Everything printed up to the example command (the banner's last line)."""
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(stream.readline(), 90)).decode()
        if not line:
            raise AssertionError("mdmflow dev exited before its banner:\n" + "".join(lines))
        lines.append(line)
        if "curl -u nanocmd:" in line:
            return "".join(lines)


async def test_dev_stack_runs_a_workflow_end_to_end_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    temporal_port, ui_port, bridge_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDMFLOW_", "TEMPORAL_"))}
    env["MDMFLOW_LISTEN"] = f"127.0.0.1:{bridge_port}"
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "dev",
        "--data-dir",
        str(tmp_path / "data"),
        "--temporal-port",
        str(temporal_port),
        "--ui-port",
        str(ui_port),
        "--simulate",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        banner = await read_banner(proc.stdout)
        assert f"http://127.0.0.1:{ui_port}" in banner
        key_match = re.search(r"API key\s+(\S+)", banner)
        devices_match = re.search(r"simulated devices: (.+)", banner)
        assert key_match is not None
        assert devices_match is not None
        key = key_match.group(1)
        devices = devices_match.group(1).strip().split(", ")
        assert len(devices) == 2
        assert (tmp_path / "data" / "api-key").read_text().strip() == key

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bridge_port}") as http:
            reply = await http.post(
                "/v1/workflow/io.micromdm.wf.devinfolog.v1/start",
                params={"id": devices[0]},
                auth=("nanocmd", key),
            )
            assert reply.status_code == 200, reply.text
            async with httpx.AsyncClient(timeout=5) as ui:
                assert (await ui.get(f"http://127.0.0.1:{ui_port}/")).status_code == 200
        client = await Client.connect(
            f"127.0.0.1:{temporal_port}", data_converter=pydantic_data_converter
        )
        handle = client.get_workflow_handle(
            f"io.micromdm.wf.devinfolog.v1/{devices[0]}", result_type=DeviceInfoLog
        )
        result = await asyncio.wait_for(handle.result(), 60)
        assert result.values["UDID"] == devices[0]
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code in (0, 130)
    assert (tmp_path / "data" / "temporal.db").exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", temporal_port)) != 0, "temporal still running"
