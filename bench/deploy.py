"""Separate-process deployments for the scenarios that account per process.

Each deployment gets its own fresh Temporal dev server (so its RSS, CPU time and database
start from the same point on both sides) and its own directory. mdmflow's bridge is the
production command (``mdmflow bridge``) and its worker the production worker with the bench's
K-step workflow registered too (``bench.mdmflow_worker``), both configured through their
environment, as an operator would run them; the simulated MDM server is ``mdmflow simulate``
when its CPU time is measured, and an in-process, unenrolled one when devices must never
answer (its cost is not what the parked scenario measures). The bare side is
``bench.bare_worker``. The driver (starts, results, the bare side's signals) is this process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.client import Client

import bench
import mdmflow
from bench.baseline import Baseline
from bench.notify_link import serving_notifications
from bench.procs import BenchError, Child, child_process, free_port, wait_until
from bench.rounds_activity import StepNotifier
from bench.server import DevServer, dev_server
from bench.stack import bench_settings
from bench.timed_simulator import TimedSimulator
from mdmflow.config import Settings
from mdmflow.httpserver import serve_app
from mdmflow.simulator import SimulatorConfig, create_app
from mdmflow.temporal_client import connect

READY_TIMEOUT_S = 60.0
_FOREIGN_ENV = ("MDMFLOW_", "TEMPORAL_", "OTEL_")
SIM_DEVICES_LINE = "  devices: "
SOURCES = (bench, mdmflow)


@dataclass
class Deployment:
    """What the driver needs: a client, the task queue, and every process by role."""

    server: DevServer
    client: Client
    """Bare: the server's plain client; mdmflow: one built by ``connect`` like every process."""
    task_queue: str
    children: dict[str, Child] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        """Role → pid of every measured process (the driver is the bench process itself)."""
        return {"server": self.server.pid, **{r: c.pid for r, c in self.children.items()}}


def _mdmflow() -> list[str]:
    """The ``mdmflow`` command of the source tree the bench imported: the entry point its
    ``pyproject.toml`` names, run by this interpreter. The installed script may name another
    module than this tree has (it is written at install time; modules move), so it is only
    the fallback, for an install without the source tree."""
    pyproject = Path(mdmflow.__file__ or "").resolve().parents[1] / "pyproject.toml"
    if pyproject.exists():
        target = tomllib.loads(pyproject.read_text())["project"]["scripts"]["mdmflow"]
        module, _, function = str(target).partition(":")
        code = f"import sys; from {module} import {function}; sys.exit({function}())"
        return [sys.executable, "-c", code]
    found = shutil.which("mdmflow", path=str(Path(sys.executable).parent))
    if found is None:
        raise BenchError("no mdmflow command: neither a pyproject.toml nor an installed script")
    return [found]


def _base_env() -> dict[str, str]:
    """This environment without mdmflow's and Temporal's settings, and with this process's
    source trees first on the path: the children run the very code the bench imported (not
    whatever the installed package or the working directory would give them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV)}
    roots = dict.fromkeys(
        str(Path(m.__file__ or "").resolve().parents[1]) for m in (bench, mdmflow)
    )
    path = os.pathsep.join([*roots, *filter(None, [env.get("PYTHONPATH")])])
    return {**env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}


def _mdmflow_env(settings: Settings) -> dict[str, str]:
    """The environment that makes ``mdmflow worker``/``bridge`` load exactly ``settings``."""
    return {
        **_base_env(),
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "MDMFLOW_CODEC_KEY": settings.codec_key,
        "MDMFLOW_TASK_QUEUE": settings.task_queue,
        "MDMFLOW_DATA_DIR": str(settings.data_dir),
        "MDMFLOW_DATABASE_URL": settings.resolved_database_url,
        "MDMFLOW_API_KEY": settings.api_key,
        "MDMFLOW_ENQUEUE_API_KEY": settings.enqueue_api_key,
        "MDMFLOW_ENQUEUE_URL": settings.enqueue_url,
        "MDMFLOW_PUSH_URL": settings.push_url,
        "MDMFLOW_LISTEN": settings.listen,
    }


@contextlib.asynccontextmanager
async def bare_processes(run_dir: Path) -> AsyncIterator[tuple[Deployment, Baseline]]:
    """A fresh server and ``bench.bare_worker``; yields the deployment and its driver."""
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(dev_server(run_dir / "temporal"))
        notifier = StepNotifier()
        port = await stack.enter_async_context(serving_notifications(notifier))
        task_queue = f"bench-bare-{secrets.token_hex(4)}"
        worker = await stack.enter_async_context(
            child_process(
                "bare-worker",
                [
                    sys.executable,
                    "-m",
                    "bench.bare_worker",
                    f"--address={server.address}",
                    f"--task-queue={task_queue}",
                    f"--notify-port={port}",
                ],
                _base_env(),
                run_dir / "logs",
            )
        )
        deployment = Deployment(server, server.client, task_queue, {"worker": worker})
        yield deployment, Baseline(server.client, task_queue, notifier)


@contextlib.asynccontextmanager
async def mdmflow_processes(
    run_dir: Path, devices: int, database_url: str
) -> AsyncIterator[tuple[Deployment, list[str]]]:
    """A fresh server, ``mdmflow simulate``, ``mdmflow bridge`` and the worker;
    yields the deployment and the simulated devices' enrollment IDs."""
    logs = run_dir / "logs"
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(dev_server(run_dir / "temporal"))
        sim_port, bridge_port = free_port(), free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        settings = bench_settings(server.address, run_dir / "data", database_url).model_copy(
            update={
                "listen": f"127.0.0.1:{bridge_port}",
                "enqueue_url": f"{sim_url}/v1/enqueue/",
                "push_url": f"{sim_url}/v1/push/",
            }
        )
        env = _mdmflow_env(settings)
        simulator = await stack.enter_async_context(
            child_process(
                "simulator",
                [
                    *_mdmflow(),
                    "simulate",
                    f"--devices={devices}",
                    f"--listen=127.0.0.1:{sim_port}",
                    f"--webhook-url=http://127.0.0.1:{bridge_port}/webhook",
                ],
                env,
                logs,
            )
        )
        ids = await _simulated_ids(simulator, logs / "simulator.stdout")
        # The bridge migrates the app database; the worker starts once it is up.
        bridge = await stack.enter_async_context(
            child_process("bridge", [*_mdmflow(), "bridge"], env, logs)
        )
        await _healthy(bridge, f"http://127.0.0.1:{bridge_port}/healthz")
        worker = await stack.enter_async_context(
            child_process("worker", [sys.executable, "-m", "bench.mdmflow_worker"], env, logs)
        )
        children = {"worker": worker, "bridge": bridge, "simulator": simulator}
        yield Deployment(server, await connect(settings), settings.task_queue, children), ids


@contextlib.asynccontextmanager
async def mdmflow_parking(
    run_dir: Path, devices: int, database_url: str
) -> AsyncIterator[tuple[Deployment, TimedSimulator]]:
    """A fresh server and ``mdmflow worker`` on an in-process simulator whose devices are
    not enrolled: every enqueue is taken, every push fails, no device ever answers."""
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(dev_server(run_dir / "temporal"))
        settings = bench_settings(server.address, run_dir / "data", database_url)
        sim = await stack.enter_async_context(
            TimedSimulator(
                SimulatorConfig(
                    api_key=settings.enqueue_api_key,
                    webhook_url="http://127.0.0.1:9/webhook",  # never posted to: nobody enrolled
                    devices=devices,
                    enrolled=False,
                )
            )
        )
        sim_url = await stack.enter_async_context(serve_app(create_app(sim)))
        settings = settings.model_copy(
            update={"enqueue_url": sim.enqueue_url(sim_url), "push_url": sim.push_url(sim_url)}
        )
        worker = await stack.enter_async_context(
            child_process(
                "worker", [*_mdmflow(), "worker"], _mdmflow_env(settings), run_dir / "logs"
            )
        )
        client = await connect(settings)
        yield Deployment(server, client, settings.task_queue, {"worker": worker}), sim


async def _simulated_ids(simulator: Child, stdout: Path) -> list[str]:
    """``mdmflow simulate`` prints its devices once it serves; that line is its readiness."""
    found: list[str] = []

    async def printed() -> bool:
        found.extend(_listed_devices(stdout))
        return bool(found)

    await wait_until("waiting for the simulator", printed, READY_TIMEOUT_S, child=simulator)
    return found


def _listed_devices(stdout: Path) -> list[str]:
    for line in stdout.read_text(errors="replace").splitlines():
        if line.startswith(SIM_DEVICES_LINE):
            return line.removeprefix(SIM_DEVICES_LINE).split(", ")
    return []


async def _healthy(child: Child, url: str) -> None:
    async with httpx.AsyncClient(timeout=2.0) as http:

        async def answers() -> bool:
            try:
                return (await http.get(url)).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(
            f"waiting for {child.name} at {url}", answers, READY_TIMEOUT_S, child=child
        )
