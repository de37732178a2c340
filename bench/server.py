"""The one Temporal dev server every scenario shares, set up like ``mdmflow dev``'s.

The ``temporal`` binary next to the interpreter, a SQLite file with WAL in the run's temp dir,
our search attributes, no Web UI. Its output goes to a log file there, not to our stdout
(``--json`` must stay parseable); it is up once it prints its banner, so nothing polls.

It yields a bare client (default converter, no interceptors) for the baseline; mdmflow's side
builds its own with ``connect``, so what mdmflow adds on the client (converter, codec,
tracing) counts as ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client

from mdmflow.starter.dev import temporal_binary
from mdmflow.workflows import search

BANNER = b"Temporal Server:"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class DevServerError(RuntimeError):
    """The dev server exited or stayed silent before it was up; its log says why."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
        str(data_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--log-level",
        "error",
    ]
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args


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


@contextlib.asynccontextmanager
async def dev_server(data_dir: Path) -> AsyncIterator[Client]:
    """Serve Temporal on a free loopback port for the block; yields a bare client to it."""
    port = _free_port()
    log = data_dir / "temporal.log"
    with log.open("ab") as errors:
        proc = await asyncio.create_subprocess_exec(
            *_args(data_dir, port), stdout=asyncio.subprocess.PIPE, stderr=errors
        )
    drain: asyncio.Task[bytes] | None = None
    try:
        await _banner(proc, log)
        assert proc.stdout is not None
        drain = asyncio.create_task(proc.stdout.read())
        yield await Client.connect(f"127.0.0.1:{port}")
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
