"""Child processes of the bench and what the kernel says they cost (CPU time, RSS).

The per-process scenarios run the Temporal server, workers, the bridge and the simulator as
separate OS processes, because only then does ``/proc/<pid>/stat`` say whose CPU time a round
cost and ``/proc/<pid>/status`` whose memory a parked workflow holds. Each child writes its
output to files in the run's directory (stdout stays the report), gets SIGTERM and then SIGKILL
at the end, and is signalled by the one pid the bench started, never by name. A bench killed
outright (SIGKILL, the OOM killer) runs no ``finally``: every child asks the kernel to kill it
when the bench dies (:func:`dies_with_bench`), so no server or worker outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

STOP_TIMEOUT_S = 15.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_WINDOW_S = 0.5
SETTLE_CPU_SHARE = 0.1
"""Quiet: the watched processes together used under a tenth of a core over a window."""
SETTLE_TIMEOUT_S = 60.0
LIMIT_S = 120.0
LIMIT_PER_ROUND_S = 0.5
T = TypeVar("T")
_LIBC = ctypes.CDLL(None, use_errno=True)
"""Loaded before any fork, so a child only calls into it between fork and exec."""
PR_SET_PDEATHSIG = 1


class BenchError(RuntimeError):
    """A child did not come up, exited early, or a wait ran out of time; says which."""


def dies_with_bench() -> Callable[[], None]:
    """A ``preexec_fn`` for a child of this process: Linux's parent-death signal kills the
    child (SIGKILL) when the bench exits by any means; a child whose bench is already gone
    by the time it asks kills itself."""
    return functools.partial(_die_with_parent, os.getpid())


def _die_with_parent(parent: int) -> None:
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of one process now (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


async def settle(pids: Sequence[int]) -> bool:
    """Wait until the processes are quiet (trailing reports, timers, GC done), so a reading
    taken next is not caught mid-work; False if they were still busy after the timeout."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    before = sum(cpu_seconds(p) for p in pids)
    while time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_WINDOW_S)
        after = sum(cpu_seconds(p) for p in pids)
        if after - before < SETTLE_WINDOW_S * SETTLE_CPU_SHARE:
            return True
        before = after
    return False


def time_limit(rounds: int) -> float:
    """How long ``rounds`` step rounds may take before a scenario counts as stuck: 120 s plus
    half a second a round, ten times what the slowest measured run needed."""
    return LIMIT_S + LIMIT_PER_ROUND_S * rounds


async def bounded(what: str, seconds: float, work: Awaitable[T]) -> T:
    """``await work``, or :class:`BenchError` after ``seconds``: every wait ends by itself."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        raise BenchError(f"timed out after {seconds:.0f} s {what}") from None


async def wait_until(
    what: str,
    check: Callable[[], Awaitable[bool]],
    timeout: float,
    *,
    interval: float = 0.05,
    child: Child | None = None,
) -> None:
    """Poll ``check`` until it holds; :class:`BenchError` on timeout or when ``child`` exits."""
    deadline = time.monotonic() + timeout
    while not await check():
        if child is not None and not child.alive:
            raise BenchError(f"{child.name} exited while {what}{child.tail()}")
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout:.0f} s {what}")
        await asyncio.sleep(interval)


@dataclass
class Child:
    """One running OS process of the bench."""

    name: str
    proc: asyncio.subprocess.Process
    stderr: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def tail(self, chars: int = 1500) -> str:
        """The end of its stderr, for error messages."""
        try:
            text = self.stderr.read_text(errors="replace").strip()
        except OSError:
            return ""
        return f"; stderr {self.stderr}:\n{text[-chars:]}" if text else f" ({self.stderr} empty)"

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still there after ``STOP_TIMEOUT_S``."""
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


def _log_files(logs: Path, name: str) -> tuple[Path, Path]:
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{name}.stdout", logs / f"{name}.stderr"


@contextlib.asynccontextmanager
async def child_process(
    name: str, argv: Sequence[str], env: Mapping[str, str], logs: Path
) -> AsyncIterator[Child]:
    """Run ``argv`` for the block with stdout and stderr in ``logs``; stopped on exit."""
    stdout, stderr = _log_files(logs, name)
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # a Ctrl-C reaches only the bench, which stops its children
            preexec_fn=dies_with_bench(),
        )
    child = Child(name, proc, stderr)
    try:
        yield child
    finally:
        await child.stop()
