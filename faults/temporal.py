"""The Temporal dev server as a process the suite can kill and restart on the same file.

It keeps its SQLite file (WAL, as ``mdmflow dev`` runs it) and its ports across restarts, so
workers and bridges reconnect to the same address, as they would to a production frontend
coming back. Ready means its HTTP API answers for the ``default`` namespace, which it serves
only once the namespace (and our search attributes) are registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx

from faults.procs import Child, HarnessError, free_port, poll_until
from mdmflow.cli.dev import search_attribute_args, temporal_binary

START_TIMEOUT_S = 60.0


class TemporalServer:
    """``temporal server start-dev`` on ``data_dir/temporal.db``, headless, on 127.0.0.1."""

    def __init__(self, data_dir: Path, logs: Path, env: Mapping[str, str]) -> None:
        self.db_file = data_dir / "temporal.db"
        self.port = free_port()
        self.http_port = free_port()
        self.metrics_port = free_port()
        argv = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            str(self.http_port),
            "--metrics-port",
            str(self.metrics_port),
            "--headless",
            "--db-filename",
            str(self.db_file),
            "--sqlite-pragma",
            "journal_mode=wal",
            "--log-level",
            "warn",
        ]
        argv += search_attribute_args()
        self.child = Child("temporal", argv, env, logs)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.child.alive

    async def start(self) -> float:
        """Start (or restart) on the same file and ports; returns seconds until ready."""
        self.child.start()
        return await self.wait_ready()

    async def wait_ready(self) -> float:
        url = f"http://127.0.0.1:{self.http_port}/api/v1/namespaces/default"
        async with httpx.AsyncClient(timeout=2.0) as http:

            async def up() -> bool:
                try:
                    return (await http.get(url)).status_code == 200
                except httpx.HTTPError:
                    return False

            try:
                return await poll_until(
                    "waiting for the Temporal dev server", up, START_TIMEOUT_S, child=self.child
                )
            except HarnessError:
                await self.child.kill9()
                raise

    async def kill9(self) -> None:
        await self.child.kill9()

    async def stop(self) -> None:
        await self.child.stop()
