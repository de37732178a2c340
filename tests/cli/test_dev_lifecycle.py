"""``mdmflow dev`` owns its ports and its children: a taken port is refused in one line before
anything starts, SIGTERM stops everything it started (the Temporal server included) as Ctrl-C
does, and a Temporal server that dies takes the launcher down instead of leaving it attached
to whatever answers on that port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import MDMFLOW, alive, children, free_port, read_banner

STOP_SECONDS = 60  # a safety net against hangs only; every wait ends on the process's exit


@dataclass(frozen=True)
class Ports:
    temporal: int
    ui: int
    bridge: int

    def args(self) -> list[str]:
        return ["--temporal-port", str(self.temporal), "--ui-port", str(self.ui)]

    def all(self) -> list[int]:
        return [self.temporal, self.ui, self.bridge]


def env_for(ports: Ports) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDMFLOW_", "TEMPORAL_"))}
    env["MDMFLOW_LISTEN"] = f"127.0.0.1:{ports.bridge}"
    return env


@dataclass
class Dev:
    """An ``mdmflow dev`` process; its stderr (JSON log lines) is drained all along, so a
    chatty run never blocks on a full pipe."""

    proc: asyncio.subprocess.Process
    stderr: asyncio.Task[bytes]
    temporal: int = 0
    """The pid of its Temporal dev server, once the banner is out."""

    async def finished(self) -> tuple[int, str, str]:
        assert self.proc.stdout is not None
        async with asyncio.timeout(STOP_SECONDS):
            out = await self.proc.stdout.read()
            err = await self.stderr
            code = await self.proc.wait()
        return code, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def launched(data_dir: Path, ports: Ports, *, banner: bool) -> AsyncIterator[Dev]:
    """``mdmflow dev`` (up to its banner when ``banner``); whatever it left running when the
    test ends (itself, its Temporal server) is killed, so a failing test leaks nothing."""
    proc = await asyncio.create_subprocess_exec(
        MDMFLOW,
        "dev",
        "--data-dir",
        str(data_dir),
        *ports.args(),
        "--simulate",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_for(ports),
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    run = Dev(proc, asyncio.create_task(proc.stderr.read()))
    try:
        if banner:
            await read_banner(proc.stdout)
            run.temporal = temporal_child(proc.pid)
        yield run
    finally:
        leftovers = set(children(proc.pid)) if proc.returncode is None else set()
        if run.temporal and alive(run.temporal):
            leftovers.add(run.temporal)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        run.stderr.cancel()


def temporal_child(pid: int) -> int:
    [child] = [c for c in children(pid) if b"start-dev" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return child


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def listening(port: int) -> Iterator[socket.socket]:
    """Something else (not Temporal) listens on ``port``."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        sock.setblocking(False)
        yield sock


def refusal(code: int, out: str, err: str, port: int) -> str:
    assert code != 0
    assert "running" not in out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mdmflow: ")
    assert str(port) in lines[0]
    assert "in use" in lines[0]
    return lines[0]


@pytest.mark.parametrize("taken", ["temporal", "ui", "bridge"])
async def test_a_taken_port_is_refused_in_one_line_before_anything_starts(
    tmp_path: Path, taken: str
) -> None:
    ports = Ports(free_port(), free_port(), free_port())
    port = getattr(ports, taken)
    with listening(port) as other:
        async with launched(tmp_path / "data", ports, banner=False) as run:
            code, out, err = await run.finished()
        line = refusal(code, out, err, port)
        with pytest.raises(BlockingIOError):
            other.accept()  # nobody even tried to talk to what listens there
    assert {"temporal": "--temporal-port", "ui": "--ui-port", "bridge": "MDMFLOW_LISTEN"}[
        taken
    ] in line
    assert not (tmp_path / "data" / "temporal.log").exists(), "temporal was launched"


async def test_sigterm_stops_everything_a_second_dev_on_the_same_ports_is_refused(
    tmp_path: Path,
) -> None:
    ports = Ports(free_port(), free_port(), free_port())
    async with launched(tmp_path / "first", ports, banner=True) as first:
        assert alive(first.temporal)

        async with launched(tmp_path / "second", ports, banner=False) as second:
            code, out, err = await second.finished()
        refusal(code, out, err, ports.temporal)
        assert first.proc.returncode is None, "the first stack must keep running"

        first.proc.send_signal(signal.SIGTERM)
        code, _out, _err = await first.finished()
        assert code == 128 + signal.SIGTERM
        assert not alive(first.temporal), "the Temporal dev server was orphaned"
        assert [port for port in ports.all() if not port_free(port)] == []


async def test_a_temporal_server_that_dies_stops_the_stack_with_one_line(tmp_path: Path) -> None:
    ports = Ports(free_port(), free_port(), free_port())
    async with launched(tmp_path / "data", ports, banner=True) as run:
        os.kill(run.temporal, signal.SIGKILL)
        code, _out, err = await run.finished()
    assert code != 0
    not_logs = [line for line in err.splitlines() if not line.startswith("{")]
    assert not_logs == [
        f"mdmflow: temporal dev server exited (-9); see {tmp_path / 'data' / 'temporal.log'}"
    ]
    assert [port for port in ports.all() if not port_free(port)] == []
