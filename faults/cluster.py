"""One mdmflow deployment for one scenario: Temporal, workers, bridges, the simulated MDM server.

Temporal, every worker and every bridge are separate processes the scenario can kill with
SIGKILL and start again; the simulator runs in this process (see :mod:`faults.simulator`).
Each scenario gets a fresh deployment in its own temporary directory: its own Temporal file,
app database, task queue, keys and ports on 127.0.0.1, so no figure depends on another's.
Every wait polls a real endpoint (Temporal's HTTP API, the task queue's pollers, the bridge's
``/healthz``, workflow state) with a deadline; none sleeps for a guessed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import PendingWorkflowTaskState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from faults.balancer import Balancer
from faults.procs import Child, HarnessError, free_port, poll_until
from faults.simulator import FaultSimulator, RunningSimulator, running_simulator
from faults.temporal import TemporalServer
from mdmflow.config import Settings
from mdmflow.crypto.keyring import new_key_entry
from mdmflow.simulator import SimulatorConfig
from mdmflow.temporal_client import connect

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
READY_TIMEOUT_S = 120.0
"""Generous, for a busy 2-core machine."""
TASK_QUEUE_PARTITIONS = 4
"""The Temporal server's default number of partitions per task queue (the dev server's too)."""
API_USER = "nanocmd"
_FOREIGN_ENV = ("MDMFLOW_", "TEMPORAL_", "OTEL_")
KEEP_LOGS = False
"""Keep every run's directory (``python -m faults --keep-logs``), not only failed ones."""
RUN_BASE: Path | None = None
"""Where run directories go; when set (``python -m faults``), its owner decides to keep it."""


@dataclass(frozen=True)
class ClusterSpec:
    """What a scenario runs: the fleet, how many workers and bridges, engine settings."""

    devices: int
    workers: int = 1
    bridges: int = 1
    balance_webhooks: bool = True
    """With several bridges: webhooks go through a balancer to all of them; False sends them
    to bridge 0 only (the others then serve just the API)."""
    repush_interval_s: int | None = None
    """``MDMFLOW_REPUSH_INTERVAL`` for every process; None keeps mdmflow's default (a day)."""
    database_url: str | None = None
    """The app database; None puts SQLite in the run directory."""
    seed: int = 1
    latency_ms: tuple[int, int] = (0, 0)
    max_sessions: int = 16
    keep_logs: bool = False


@dataclass(frozen=True)
class Outcome:
    """How one workflow ended (or not) when the scenario stopped waiting."""

    workflow_id: str
    status: str
    """A Temporal execution status name, or ``MISSING`` when Temporal has no such workflow."""
    close_time: float | None

    @property
    def completed(self) -> bool:
        return self.status == WorkflowExecutionStatus.COMPLETED.name


@dataclass
class Bridge:
    """One bridge replica: a fixed port (kept across restarts) and its process."""

    index: int
    port: int
    child: Child

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    spec: ClusterSpec
    run_dir: Path
    temporal: TemporalServer
    mdm: RunningSimulator
    client: Client
    env: dict[str, str]
    bridges: list[Bridge]
    balancer: Balancer | None
    workers: list[Child] = field(default_factory=list)
    _worker_serial: int = 0

    # -- the parts --------------------------------------------------------------------------

    @property
    def sim(self) -> FaultSimulator:
        return self.mdm.sim

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def api_key(self) -> str:
        return self.env["MDMFLOW_API_KEY"]

    @property
    def webhook_url(self) -> str:
        return self.sim.config.webhook_url

    def device_ids(self) -> list[str]:
        return self.sim.enrollment_ids()

    def live_workers(self) -> list[Child]:
        return [w for w in self.workers if w.alive]

    # -- workers ----------------------------------------------------------------------------

    async def start_worker(self) -> Child:
        """Start a new worker process; returns once it polls both of its task queues."""
        self._worker_serial += 1
        child = Child(f"worker-{self._worker_serial}", [*_mdmflow(), "worker"], self.env, self.logs)
        child.start()
        self.workers.append(child)
        await self.wait_worker_ready(child)
        return child

    async def wait_worker_ready(self, child: Child) -> float:
        """Until ``child`` polls both of its task queues, on any partition.

        Temporal splits a task queue into partitions (the dev server: 4) and describes one at
        a time; a worker's few pollers may all sit on child partitions, which take tasks as
        well as the root. Asking the root alone once made a worker that polled after 1.5 s
        look ready only after 48 s."""
        identity = f"{child.pid}@"
        base = self.env["MDMFLOW_TASK_QUEUE"]
        partitions = [base, *(f"/_sys/{base}/{i}" for i in range(1, TASK_QUEUE_PARTITIONS))]

        async def polls(partition: str, kind: TaskQueueType.ValueType) -> bool:
            try:
                described = await self.client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=self.client.namespace,
                        task_queue=TaskQueue(name=partition),
                        task_queue_type=kind,
                    ),
                    timeout=timedelta(seconds=2.0),
                )
            except RPCError:
                return False
            return any(p.identity.startswith(identity) for p in described.pollers)

        async def polling() -> bool:
            for kind in (
                TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            ):
                if not any(await asyncio.gather(*(polls(p, kind) for p in partitions))):
                    return False
            return True

        return await poll_until(
            f"waiting for {child.name} to poll its task queue",
            polling,
            READY_TIMEOUT_S,
            interval=0.05,
            child=child,
        )

    # -- bridges ----------------------------------------------------------------------------

    async def start_bridge(self, bridge: Bridge) -> float:
        """(Re)start a bridge on its port; returns seconds until ``/healthz`` answers."""
        bridge.child.start()
        return await self.wait_bridge_ready(bridge)

    async def wait_bridge_ready(self, bridge: Bridge) -> float:
        async with httpx.AsyncClient(timeout=2.0) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get(f"{bridge.url}/healthz")).status_code == 200
                except httpx.HTTPError:
                    return False

            return await poll_until(
                f"waiting for {bridge.child.name} on {bridge.url}",
                healthy,
                READY_TIMEOUT_S,
                child=bridge.child,
            )

    def api(self, bridge: int = 0, timeout: float = 30.0) -> httpx.AsyncClient:
        """An HTTP client for a bridge's ``/v1`` API."""
        return httpx.AsyncClient(
            base_url=self.bridges[bridge].url, auth=(API_USER, self.api_key), timeout=timeout
        )

    async def intake(self, bridge: int = 0) -> dict[str, Any] | None:
        """The bridge's intake backlog (``GET /v1/intake``), or None where it has none."""
        async with self.api(bridge, timeout=5.0) as api:
            try:
                reply = await api.get("/v1/intake")
            except httpx.HTTPError:
                return None
        if reply.status_code != 200:
            return None
        body = reply.json()
        return body if isinstance(body, dict) else None

    async def intake_drained(self, timeout: float, bridge: int = 0) -> bool:
        """Whether the intake's backlog reaches 0 pending within ``timeout`` (False when the
        bridge has no intake to ask)."""
        if await self.intake(bridge) is None:
            return False

        async def empty() -> bool:
            backlog = await self.intake(bridge)
            return backlog is not None and backlog.get("pending") == 0

        try:
            await poll_until(
                "waiting for the intake backlog to drain", empty, timeout, interval=0.2
            )
        except HarnessError:
            return False
        return True

    # -- workflows --------------------------------------------------------------------------

    async def start_devinfolog(self, ids: Sequence[str], bridge: int = 0) -> list[str]:
        """Start devinfolog on ``ids`` through a bridge's NanoCMD API; returns workflow IDs."""
        started: list[str] = []
        async with self.api(bridge) as api:
            for chunk in _chunks(list(ids), 50):
                reply = await api.post(
                    f"/v1/workflow/{DEVINFOLOG}/start", params=[("id", i) for i in chunk]
                )
                if reply.status_code != 200:
                    raise HarnessError(
                        f"start on {len(chunk)} IDs answered {reply.status_code}: {reply.text}"
                    )
                started += reply.json()["started"]
        if sorted(started) != sorted(ids):
            raise HarnessError(f"started {len(started)} of {len(ids)} workflows")
        return [workflow_id(i) for i in ids]

    async def running(self, workflow_ids: Sequence[str]) -> int | None:
        """How many of ``workflow_ids`` Temporal lists as running (None while unreachable)."""
        try:
            total = 0
            for chunk in _chunks(list(workflow_ids), 100):
                quoted = ", ".join(f"'{w}'" for w in chunk)
                counted = await self.client.count_workflows(
                    f"ExecutionStatus = 'Running' AND WorkflowId IN ({quoted})",
                    rpc_timeout=timedelta(seconds=5.0),
                )
                total += counted.count
            return total
        except RPCError:
            return None

    async def wait_closed(self, workflow_ids: Sequence[str], timeout: float) -> dict[str, Outcome]:
        """Wait until none of ``workflow_ids`` runs, or ``timeout``; then how each ended.

        The visibility count is the cheap check; it can lag behind a start, so a count of 0
        is confirmed by describing each workflow before the wait ends.
        """
        found: dict[str, Outcome] = {}

        async def none_running() -> bool:
            nonlocal found
            if await self.running(workflow_ids) != 0:
                return False
            found = await self.outcomes(workflow_ids)
            return not any(o.status == WorkflowExecutionStatus.RUNNING.name for o in found.values())

        with contextlib.suppress(HarnessError):
            await poll_until("waiting for workflows to close", none_running, timeout, interval=0.2)
            return found
        return await self.outcomes(workflow_ids)

    async def outcomes(self, workflow_ids: Sequence[str]) -> dict[str, Outcome]:
        gate = asyncio.Semaphore(16)

        async def one(wid: str) -> Outcome:
            async with gate:
                for _ in range(20):
                    try:
                        desc = await self.client.get_workflow_handle(wid).describe(
                            rpc_timeout=timedelta(seconds=5.0)
                        )
                    except RPCError as exc:
                        if exc.status == RPCStatusCode.NOT_FOUND:
                            return Outcome(wid, "MISSING", None)
                        await asyncio.sleep(0.25)  # Temporal is coming back; ask again
                        continue
                    status = desc.status.name if desc.status is not None else "UNKNOWN"
                    closed = desc.close_time.timestamp() if desc.close_time else None
                    return Outcome(wid, status, closed)
                return Outcome(wid, "UNREACHABLE", None)

        found = await asyncio.gather(*(one(w) for w in workflow_ids))
        return {o.workflow_id: o for o in found}

    async def result(self, wid: str) -> Any:
        return await self.client.get_workflow_handle(wid).result(
            rpc_timeout=timedelta(seconds=10.0)
        )

    async def wait_waiting(self, workflow_ids: Sequence[str], timeout: float = 60.0) -> float:
        """Until each workflow waits for answers: no activity and no workflow task pending,
        so its step was enqueued, pushed and recorded by Temporal."""

        def waiting(desc: WorkflowExecutionDescription) -> bool:
            raw = desc.raw_description
            return not raw.pending_activities and not raw.HasField("pending_workflow_task")

        return await self._wait_each(
            f"waiting for {len(workflow_ids)} workflows to wait for answers",
            workflow_ids,
            waiting,
            timeout,
            interval=0.1,
        )

    async def wait_task_started(self, workflow_ids: Sequence[str], timeout: float = 60.0) -> float:
        """Until each workflow's pending workflow task is started (taken by a worker, not yet
        completed): with its worker stopped, Temporal now waits for the task's timeout. A
        workflow that closed instead had its task run elsewhere; the caller's history says so."""

        def started(desc: WorkflowExecutionDescription) -> bool:
            raw = desc.raw_description
            return desc.status != WorkflowExecutionStatus.RUNNING or (
                raw.HasField("pending_workflow_task")
                and raw.pending_workflow_task.state
                == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
            )

        return await self._wait_each(
            f"waiting for the workflow tasks of {len(workflow_ids)} workflows to be started",
            workflow_ids,
            started,
            timeout,
            interval=0.05,
        )

    async def _wait_each(
        self,
        what: str,
        workflow_ids: Sequence[str],
        holds: Callable[[WorkflowExecutionDescription], bool],
        timeout: float,
        *,
        interval: float,
    ) -> float:
        """Until ``holds`` is true of every workflow's description; one that cannot be
        described now (Temporal coming back) does not hold yet."""

        async def one(wid: str) -> bool:
            try:
                desc = await self.client.get_workflow_handle(wid).describe(
                    rpc_timeout=timedelta(seconds=5.0)
                )
            except RPCError:
                return False
            return holds(desc)

        async def every() -> bool:
            return all(await asyncio.gather(*(one(w) for w in workflow_ids)))

        return await poll_until(what, every, timeout, interval=interval)


def workflow_id(enrollment_id: str, name: str = DEVINFOLOG) -> str:
    return f"{name}/{enrollment_id}"


@contextlib.asynccontextmanager
async def running_cluster(spec: ClusterSpec) -> AsyncIterator[Cluster]:
    """Start the deployment; on exit kill what still runs and delete the run directory
    (kept, and its path printed, when the block failed or ``keep_logs`` is set)."""
    run_dir = Path(tempfile.mkdtemp(prefix="mdmflow-faults-", dir=RUN_BASE))
    failed = True
    try:
        async with _cluster(spec, run_dir) as cluster:
            yield cluster
        failed = False
    finally:
        if RUN_BASE is not None:
            pass
        elif failed or spec.keep_logs or KEEP_LOGS:
            print(f"fault suite: process logs kept in {run_dir / 'logs'}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def _cluster(spec: ClusterSpec, run_dir: Path) -> AsyncIterator[Cluster]:
    logs = run_dir / "logs"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV)}
    temporal = TemporalServer(run_dir, logs, base_env)
    bridge_ports = [free_port() for _ in range(spec.bridges)]
    balanced = spec.bridges > 1 and spec.balance_webhooks
    balancer = Balancer([("127.0.0.1", port) for port in bridge_ports]) if balanced else None
    webhook_base = balancer.url if balancer else f"http://127.0.0.1:{bridge_ports[0]}"
    mdm_key = secrets.token_urlsafe(16)
    sim_config = SimulatorConfig(
        api_key=mdm_key,
        webhook_url=f"{webhook_base}/webhook",
        devices=spec.devices,
        seed=spec.seed,
        latency_ms=spec.latency_ms,
        max_sessions=spec.max_sessions,
    )
    children: list[Child] = [temporal.child]
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(_simulator_log(logs / "simulator.log"))
        stack.push_async_callback(_kill_all, children)
        await temporal.start()
        if balancer is not None:
            await balancer.start()
            stack.push_async_callback(balancer.close)
        mdm = await stack.enter_async_context(running_simulator(sim_config))
        env = {
            **base_env,
            "PYTHONUNBUFFERED": "1",
            "MDMFLOW_CODEC_KEY": new_key_entry(),
            "TEMPORAL_ADDRESS": temporal.address,
            "TEMPORAL_NAMESPACE": "default",
            "MDMFLOW_TASK_QUEUE": f"faults-{uuid.uuid4()}",
            "MDMFLOW_DATA_DIR": str(run_dir / "data"),
            "MDMFLOW_DATABASE_URL": spec.database_url
            or f"sqlite+aiosqlite:///{run_dir / 'data' / 'app.db'}",
            "MDMFLOW_API_KEY": secrets.token_urlsafe(16),
            "MDMFLOW_ENQUEUE_URL": mdm.enqueue_url,
            "MDMFLOW_PUSH_URL": mdm.push_url,
            "MDMFLOW_ENQUEUE_API_KEY": mdm_key,
            "MDMFLOW_LOG_LEVEL": "INFO",
        }
        if spec.repush_interval_s is not None:
            env["MDMFLOW_REPUSH_INTERVAL"] = str(spec.repush_interval_s)
        client = await connect(
            Settings(
                codec_key=env["MDMFLOW_CODEC_KEY"],
                temporal_address=temporal.address,
                temporal_namespace="default",
            )
        )
        bridges = []
        for index, port in enumerate(bridge_ports):
            bridge_env = {**env, "MDMFLOW_LISTEN": f"127.0.0.1:{port}"}
            child = Child(f"bridge-{index}", [*_mdmflow(), "bridge"], bridge_env, logs)
            bridges.append(Bridge(index, port, child))
            children.append(child)
        cluster = Cluster(
            spec=spec,
            run_dir=run_dir,
            temporal=temporal,
            mdm=mdm,
            client=client,
            env=env,
            bridges=bridges,
            balancer=balancer,
        )
        # The first bridge migrates the app database; the rest start once it is up.
        await cluster.start_bridge(bridges[0])
        await asyncio.gather(
            *(cluster.start_bridge(b) for b in bridges[1:]),
            *(cluster.start_worker() for _ in range(spec.workers)),
        )
        children.extend(cluster.workers)
        try:
            yield cluster
        finally:
            children.extend(w for w in cluster.workers if w not in children)


@contextlib.contextmanager
def _simulator_log(path: Path) -> Iterator[None]:
    """The in-process simulator logs (retries, failed posts) to a file, like the processes,
    so the suite's own output stays its figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("mdmflow")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    propagate, level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = propagate, level
        handler.close()


async def _kill_all(children: list[Child]) -> None:
    """The run is over: nothing of it needs a graceful stop, and SIGKILL cannot hang."""
    await asyncio.gather(*(c.kill9() for c in reversed(children)), return_exceptions=True)


def _mdmflow() -> list[str]:
    found = shutil.which("mdmflow", path=str(Path(sys.executable).parent))
    if found is not None:
        return [found]
    return [sys.executable, "-c", "from mdmflow.cli.main import main; main()"]


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def now() -> float:
    """Wall-clock seconds: comparable with Temporal's close times on this machine."""
    return time.time()
