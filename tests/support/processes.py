"""mdmflow and its parts run as real processes in tests: the installed command, a free port,
the ``mdmflow dev`` banner, a command's exit code and output, and /proc views of a process
tree (no extra dependency)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

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


def temporal_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (from /proc: no extra dependency)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
