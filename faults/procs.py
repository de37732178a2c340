"""Child processes of the fault suite: started with stderr in a file, signalled by their pid.

Every process the suite starts is a real OS process, so a ``kill -9`` is the real thing: no
``finally`` runs, no socket is closed politely, no Temporal poll is cancelled. Each start
writes its stderr to its own file in the run's log directory, which is what one reads when a
scenario goes wrong. Signals go to the one pid the suite started, never to a name.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

POLL_INTERVAL_S = 0.02
_PR_SET_PDEATHSIG = 1
EXIT_TIMEOUT_S = 15.0


class HarnessError(RuntimeError):
    """A process did not start, did not become ready in time, or exited when it should not."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def poll_until(
    what: str,
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    timeout: float,
    *,
    interval: float = POLL_INTERVAL_S,
    child: Child | None = None,
) -> float:
    """Poll ``check`` until it holds; returns the seconds it took.

    Raises :class:`HarnessError` when ``timeout`` passes or ``child`` exits first, naming its
    stderr file, so a stuck scenario ends by itself with the reason.
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - started
        if child is not None and not child.alive:
            raise HarnessError(f"{child.name} exited ({child.returncode}) {what}{child.tail()}")
        if time.monotonic() >= deadline:
            tail = child.tail() if child is not None else ""
            raise HarnessError(f"timed out after {timeout:.0f} s {what}{tail}")
        await asyncio.sleep(interval)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the suite dies, even by SIGKILL, so no
    Temporal server or worker outlives a run that was killed itself."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Child:
    """One OS process: ``start`` it, then ``kill9``, ``stop``, ``pause`` or ``resume`` it.

    It runs in its own session, so a Ctrl-C in the terminal reaches only the suite, which then
    stops its children itself. Restarting makes a new process (a new pid, a new stderr file).
    """

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], logs: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.logs = logs
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: Path | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise HarnessError(f"{self.name} was never started")
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    @property
    def stderr_path(self) -> Path | None:
        return self._stderr

    def start(self) -> None:
        if self.alive:
            raise HarnessError(f"{self.name} is already running (pid {self.pid})")
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        self._stderr = self.logs / f"{self.name}.{self.starts}.stderr"
        with self._stderr.open("wb") as err:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )

    async def kill9(self) -> None:
        """SIGKILL: the process gets no chance to clean up; returns once it is reaped."""
        await self._signal_and_reap(signal.SIGKILL, EXIT_TIMEOUT_S)

    async def stop(self, timeout: float = EXIT_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds."""
        try:
            await self._signal_and_reap(signal.SIGTERM, timeout)
        except HarnessError:
            await self.kill9()

    def pause(self) -> None:
        """SIGSTOP: the process holds its sockets but does nothing until :meth:`resume`."""
        self._send(signal.SIGSTOP)

    def resume(self) -> None:
        self._send(signal.SIGCONT)

    def tail(self, chars: int = 1500) -> str:
        """The end of this start's stderr, for error messages."""
        if self._stderr is None:
            return ""
        try:
            text = self._stderr.read_text(errors="replace")
        except OSError:
            return ""
        text = text.strip()
        if not text:
            return f" (stderr {self._stderr} is empty)"
        return f"; stderr {self._stderr}:\n{text[-chars:]}"

    def _send(self, sig: signal.Signals) -> None:
        if self.alive:
            os.kill(self.pid, sig)

    async def _signal_and_reap(self, sig: signal.Signals, timeout: float) -> None:
        if self._proc is None or not self.alive:
            return
        if sig != signal.SIGKILL:
            self._send(signal.SIGCONT)  # a paused process would never see SIGTERM
        self._send(sig)
        await poll_until(f"after signal {sig.name} to {self.name}", lambda: not self.alive, timeout)
