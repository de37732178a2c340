"""``mdmflow dev`` as a newcomer runs it: one process tree, a banner with URLs and the API
key, a workflow started over HTTP completing against the simulated devices, payloads encrypted
with a key file made on first run and decoded for the Web UI by the bridge, Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import socket
from pathlib import Path

import httpx
from google.protobuf.json_format import MessageToJson
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client

from mdmflow.crypto.codec import ENCODING, data_converter
from mdmflow.crypto.keyring import parse_keyring
from mdmflow.workflows.results import DeviceInfoLog
from tests.support.processes import MDMFLOW, free_port, read_banner


async def decoded_for_the_web_ui(ui_port: int, payload: Payload) -> None:
    """The UI's settings name the bridge's codec endpoint, which decodes for the UI's origin."""
    origin = f"http://127.0.0.1:{ui_port}"
    async with httpx.AsyncClient(timeout=10) as http:
        settings = (await http.get(f"{origin}/api/v1/settings")).json()
        endpoint = settings["Codec"]["Endpoint"]
        assert "/codec/ui/" in endpoint
        body = MessageToJson(Payloads(payloads=[payload]))
        reply = await http.post(f"{endpoint}/decode", content=body, headers={"Origin": origin})
    assert reply.status_code == 200, reply.text
    assert reply.headers["access-control-allow-origin"] == origin
    [decoded] = reply.json()["payloads"]
    assert b"QueryResponses" not in payload.data
    assert b"UDID" in base64.b64decode(decoded["data"])


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
        key_file = tmp_path / "data" / "codec-key"
        assert key_file.stat().st_mode & 0o077 == 0
        keyring = parse_keyring(key_file.read_text(), source="key file")
        client = await Client.connect(
            f"127.0.0.1:{temporal_port}", data_converter=data_converter(keyring)
        )
        handle = client.get_workflow_handle(
            f"io.micromdm.wf.devinfolog.v1/{devices[0]}", result_type=DeviceInfoLog
        )
        result = await asyncio.wait_for(handle.result(), 60)
        assert result.values["UDID"] == devices[0]
        history = await handle.fetch_history()
        stored = history.events[-1].workflow_execution_completed_event_attributes.result
        [payload] = stored.payloads
        assert payload.metadata["encoding"] == ENCODING
        assert devices[0].encode() not in payload.data
        await decoded_for_the_web_ui(ui_port, payload)
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code in (0, 130)
    assert (tmp_path / "data" / "temporal.db").exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", temporal_port)) != 0, "temporal still running"
