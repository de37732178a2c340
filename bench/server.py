"""The one Temporal dev server every scenario shares, set up like ``mdmflow dev``'s.

The ``temporal`` binary next to the interpreter, a SQLite file with WAL in the run's temp dir,
our search attributes, no Web UI. Its output goes to a log file there, not to our stdout
(``--json`` must stay parseable); it is up once it prints its banner, so nothing polls.

It yields a bare client (default converter, no interceptors) for the baseline; mdmflow's side
builds its own with ``connect``, so what mdmflow adds on the client (converter, codec,
tracing) counts as ours. It also yields the server's pid and database file, which the
per-process scenarios read for its CPU time, its RSS and what a parked workflow costs on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from bench.procs import dies_with_bench, free_port
from mdmflow.cli.dev import search_attribute_args, temporal_binary

BANNER = b"Temporal Server:"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
DB_FILE = "temporal.db"


class DevServerError(RuntimeError):
    """The dev server exited or stayed silent before it was up; its log says why."""


@dataclass(frozen=True)
class DevServer:
    client: Client
    """Bare: default converter, no interceptors."""
    pid: int
    db_path: Path

    @property
    def address(self) -> str:
        return self.client.service_client.config.target_host

    def db_bytes(self) -> int:
        """The database on disk: the file plus its write-ahead log (WAL keeps recent pages)."""
        return sum(
            path.stat().st_size
            for path in (self.db_path, self.db_path.with_name(self.db_path.name + "-wal"))
            if path.exists()
        )


def _args(data_dir: Path, port: int) -> list[str]:
    args = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--headless",
        "--db-filename",
        str(data_dir / DB_FILE),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--log-level",
        "error",
    ]
    return args + search_attribute_args()


async def _banner(proc: asyncio.subprocess.Process, log: Path) -> None:
    """Read the server's stdout until its banner; then keep draining it in the background."""
    assert proc.stdout is not None
    stdout = proc.stdout
    with log.open("ab") as out:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not (line := await stdout.readline()).startswith(BANNER):
                if not line:
                    raise DevServerError(f"temporal dev server exited at start; see {log}")
                out.write(line)


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


@contextlib.asynccontextmanager
async def dev_server(data_dir: Path) -> AsyncIterator[DevServer]:
    """Serve Temporal on a free loopback port for the block, its files in ``data_dir``."""
    _make_dir(data_dir)
    port = free_port()
    log = data_dir / "temporal.log"
    with log.open("ab") as errors:
        proc = await asyncio.create_subprocess_exec(
            *_args(data_dir, port),
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
            preexec_fn=dies_with_bench(),
        )
    drain: asyncio.Task[bytes] | None = None
    try:
        await _banner(proc, log)
        assert proc.stdout is not None
        drain = asyncio.create_task(proc.stdout.read())
        client = await Client.connect(f"127.0.0.1:{port}")
        yield DevServer(client=client, pid=proc.pid, db_path=data_dir / DB_FILE)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if drain is not None:
            drain.cancel()
