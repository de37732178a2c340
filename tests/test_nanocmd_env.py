"""NanoCMD's ``NANOCMD_*`` variables as fallbacks: parsed as NanoCMD parses them, never over an
``MDMFLOW_*`` one, named at start; a bridge runs with NanoCMD's variables alone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from mdmflow.config import ConfigError, load_settings
from mdmflow.crypto.keyring import ensure_key_file
from tests.nanocmd_import.helpers import environ_without_settings

MDMFLOW = str(Path(sys.executable).parent / "mdmflow")
NANOCMD_ENV = {
    "NANOCMD_API": "nano-api-key",
    "NANOCMD_ENQUEUE_URL": "https://nanomdm.example.com/v1/enqueue/",
    "NANOCMD_PUSH_URL": "https://nanomdm.example.com/v1/push/",
    "NANOCMD_ENQUEUE_API": "nanomdm-key",
    "NANOCMD_LISTEN": ":9003",
    "NANOCMD_MICROMDM": "T",
    "NANOCMD_STEP_TIMEOUT": "0",
    "NANOCMD_REPUSH_INTERVAL": "3600",
    "NANOCMD_DEBUG": "true",
    "NANOCMD_STORAGE": "file",
    "NANOCMD_STORAGE_DSN": "/var/db/nanocmd",
    "NANOCMD_WORKER_INTERVAL": "300",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No MDMFLOW_* or NANOCMD_* variable from the outer environment."""
    for key in list(os.environ):
        if key.upper().startswith(("MDMFLOW_", "NANOCMD_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MDMFLOW_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_nanocmd_variables_fill_mdmflow_settings(clean_env: pytest.MonkeyPatch) -> None:
    for key, value in NANOCMD_ENV.items():
        clean_env.setenv(key, value)
    settings = load_settings()

    assert settings.api_key == "nano-api-key"
    assert settings.enqueue_url == "https://nanomdm.example.com/v1/enqueue/"
    assert settings.push_url == "https://nanomdm.example.com/v1/push/"
    assert settings.enqueue_api_key == "nanomdm-key"
    assert (settings.listen_host, settings.listen_port) == ("0.0.0.0", 9003)
    assert settings.micromdm is True  # Go's "T"
    assert settings.mdm_user == "micromdm"
    assert settings.step_timeout == 259_200  # 0: NanoCMD keeps its default, so do we
    assert settings.repush_interval == 3600
    assert settings.log_level == "DEBUG"
    used, ignored = settings.nanocmd_notes
    assert used == (
        "using NanoCMD settings: NANOCMD_API as MDMFLOW_API_KEY; NANOCMD_ENQUEUE_URL as "
        "MDMFLOW_ENQUEUE_URL; NANOCMD_PUSH_URL as MDMFLOW_PUSH_URL; NANOCMD_ENQUEUE_API as "
        "MDMFLOW_ENQUEUE_API_KEY; NANOCMD_LISTEN as MDMFLOW_LISTEN; NANOCMD_MICROMDM as "
        "MDMFLOW_MICROMDM; NANOCMD_REPUSH_INTERVAL as MDMFLOW_REPUSH_INTERVAL; NANOCMD_DEBUG as "
        "MDMFLOW_LOG_LEVEL"
    )
    assert ignored.startswith("ignoring NanoCMD settings: NANOCMD_STEP_TIMEOUT (this value ")
    for variable in ("NANOCMD_STORAGE", "NANOCMD_STORAGE_DSN", "NANOCMD_WORKER_INTERVAL"):
        assert f"{variable} (" in ignored
    assert "NANOCMD_WORKER_INTERVAL (Temporal timers replace NanoCMD's polling worker)" in ignored
    assert "nano-api-key" not in used + ignored  # names only, never values


def test_mdmflow_variables_win(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("NANOCMD_API", "nano")
    clean_env.setenv("MDMFLOW_API_KEY", "flow")
    clean_env.setenv("NANOCMD_MICROMDM", "false")
    settings = load_settings()

    assert settings.api_key == "flow"
    assert settings.micromdm is False
    assert settings.nanocmd_notes == (
        "using NanoCMD settings: NANOCMD_MICROMDM as MDMFLOW_MICROMDM",
        "ignoring NanoCMD settings: NANOCMD_API (MDMFLOW_API_KEY is set and wins)",
    )


def test_no_nanocmd_variables_no_notes(clean_env: pytest.MonkeyPatch) -> None:
    assert load_settings().nanocmd_notes == ()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NANOCMD_MICROMDM", "yes", "NANOCMD_MICROMDM must be a Go boolean"),
        ("NANOCMD_REPUSH_INTERVAL", "-5", "NANOCMD_REPUSH_INTERVAL must not be negative"),
        ("NANOCMD_STEP_TIMEOUT", "3d", "NANOCMD_STEP_TIMEOUT must be whole seconds"),
        ("NANOCMD_LISTEN", "nowhere", "MDMFLOW_LISTEN must be host:port"),
    ],
)
def test_bad_nanocmd_values_stop_with_the_variable_named(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigError, match=expected):
        load_settings()


def _message(line: bytes) -> str:
    """The ``msg`` of a JSON log line (any other line as it is)."""
    try:
        return str(json.loads(line)["msg"])
    except (ValueError, KeyError, TypeError):
        return line.decode(errors="replace").strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_bridge_runs_on_nanocmds_variables_alone_and_says_so(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # The key file `mdmflow dev` (or the admin) leaves in the default data dir.
    ensure_key_file(tmp_path / ".mdmflow" / "codec-key")
    port = _free_port()
    env = environ_without_settings()
    env.update(NANOCMD_ENV)
    env["NANOCMD_LISTEN"] = f"127.0.0.1:{port}"
    env["TEMPORAL_ADDRESS"] = temporal_env.client.service_client.config.target_host
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "bridge",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        messages: list[str] = []
        while "bridge listening" not in messages:
            line = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert line, f"the bridge exited: {messages}"
            messages.append(_message(line))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            listed = await http.get("/v1/profiles", auth=("nanocmd", "nano-api-key"))
            refused = await http.get("/v1/profiles", auth=("nanocmd", "wrong"))
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)

    assert listed.status_code == 200, listed.text
    assert listed.json() == {}
    assert refused.status_code == 401
    assert any(
        m.startswith("using NanoCMD settings: NANOCMD_API as MDMFLOW_API_KEY") for m in messages
    )
    [ignored] = [m for m in messages if m.startswith("ignoring NanoCMD settings:")]
    assert "NANOCMD_STORAGE (mdmflow keeps its state in MDMFLOW_DATABASE_URL" in ignored
    assert "NANOCMD_WORKER_INTERVAL (Temporal timers replace" in ignored
    assert (tmp_path / ".mdmflow" / "mdmflow.db").exists()  # state went to mdmflow's database
