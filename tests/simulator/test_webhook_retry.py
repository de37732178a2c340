"""The simulator posts webhooks as a careful sender: a post that got no answer (nothing
listening yet, a reused connection dropped without a response) is posted again, shortly and
boundedly, and a post that got any answer is never posted again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest

from mdmflow.httpserver import serve_app
from mdmflow.mdm.commands import ProfileList
from mdmflow.mdm.reports import CommandStatus
from mdmflow.simulator.sender import RetryPolicy, post_webhook
from tests.simulator.conftest import simulated
from tests.simulator.receiver import WebhookReceiver

WAIT_SECONDS = 30  # a safety net against hangs only
FAST = RetryPolicy(max_attempts=5, first_delay_s=0.01, max_delay_s=0.05, budget_s=10)
HEADERS = {"Content-Type": "application/json"}


class RetryLog(logging.Handler):
    """Collects the sender's retry records; ``first()`` resolves on the first one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self._first = asyncio.get_running_loop().create_future()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)  # emitted on the event loop's thread, by the sender
        if not self._first.done():
            self._first.set_result(None)

    async def first(self) -> None:
        await asyncio.wait_for(asyncio.shield(self._first), WAIT_SECONDS)

    def problems(self) -> list[str]:
        return [str(record.__dict__["problem"]) for record in self.records]


@contextlib.contextmanager
def watching_retries() -> Iterator[RetryLog]:
    logger = logging.getLogger("mdmflow.simulator.sender")
    handler = RetryLog()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A port bound but not listening: connections are refused, and nobody else takes it
    before the test's server listens there (SO_REUSEADDR on both, as serve_app sets it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@dataclass
class ScriptedServer:
    """A raw HTTP/1.1 server with keep-alive that treats request N as ``script[N]``:
    ``ok`` (200), ``503``, ``drop`` (read it, close without a byte of answer) or ``cut``
    (200 with a body that breaks off). Requests past the script are ``ok``."""

    script: list[str]
    bodies: list[bytes] = field(default_factory=list)
    connections: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed its connection
                lines = head.decode().lower().split("\r\n")
                length = next(
                    int(h.split(":")[1]) for h in lines if h.startswith("content-length:")
                )
                self.bodies.append(await reader.readexactly(length))
                n = len(self.bodies) - 1
                action = self.script[n] if n < len(self.script) else "ok"
                if action == "drop":
                    return
                if action == "cut":
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\ntoo short")
                    await writer.drain()
                    return
                status = b"503 Service Unavailable" if action == "503" else b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        try:
            yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/webhook"
        finally:
            server.close()
            await server.wait_closed()


async def test_a_report_posted_while_the_bridge_is_down_arrives_once_it_is_up() -> None:
    receiver = WebhookReceiver()
    with reserved_port() as port, watching_retries() as retries:
        receiver.url = f"http://127.0.0.1:{port}/webhook"
        async with simulated(receiver, devices=1) as nano:
            udid = nano.udids[0]
            command_uuid, reply = await nano.enqueue([udid], ProfileList())
            assert reply.status_code == 200
            await retries.first()  # the report's post was refused: the bridge is "restarting"
            async with serve_app(receiver.app, "127.0.0.1", port):
                [report] = await receiver.wait_reports(1)
                await receiver.wait_idles(1)
                await nano.sim.wait_until_quiet()
            assert nano.sim.stats.webhook_failures == 0
            assert nano.sim.queued(udid) == []
    assert report.ack.command_uuid == command_uuid
    assert report.report.status is CommandStatus.ACKNOWLEDGED
    assert len(receiver.deliveries) == 2, "the report arrived once, then Idle"
    assert all(p.startswith("ClientConnectorError") for p in retries.problems())
    assert retries.records[0].__dict__["enrollment_id"] == udid


async def test_a_reused_connection_dropped_without_an_answer_is_posted_again() -> None:
    server = ScriptedServer(["ok", "drop"])
    with watching_retries() as retries:
        async with server.serving() as url, aiohttp.ClientSession() as http:
            first = await post_webhook(http, url, b"first", HEADERS, policy=FAST)
            second = await post_webhook(http, url, b"second", HEADERS, policy=FAST)
    assert (first.status, first.attempts) == (200, 1)
    assert second.accepted
    assert second.attempts == 2
    assert server.bodies == [b"first", b"second", b"second"]
    assert server.connections == 2, "the second post went out on the kept-alive connection"
    [problem] = retries.problems()
    assert problem.startswith(("ServerDisconnectedError", "ClientOSError"))


@pytest.mark.parametrize(("script", "status"), [(["503"], 503), (["cut"], 200)])
async def test_a_post_that_got_an_answer_is_never_posted_again(
    script: list[str], status: int
) -> None:
    server = ScriptedServer(script)
    with watching_retries() as retries:
        async with server.serving() as url, aiohttp.ClientSession() as http:
            outcome = await post_webhook(http, url, b"report", HEADERS, policy=FAST)
    assert (outcome.status, outcome.attempts) == (status, 1)
    assert outcome.accepted == (status < 400)
    assert server.bodies == [b"report"]
    assert retries.records == []


async def test_retries_stop_after_max_attempts() -> None:
    with reserved_port() as port, watching_retries() as retries:
        async with aiohttp.ClientSession() as http:
            outcome = await post_webhook(
                http, f"http://127.0.0.1:{port}/webhook", b"report", HEADERS, policy=FAST
            )
    assert not outcome.accepted
    assert outcome.status is None
    assert outcome.attempts == FAST.max_attempts
    assert "gave up after 5 attempts" in outcome.problem
    assert len(retries.records) == FAST.max_attempts - 1


async def test_retries_stop_within_the_time_budget() -> None:
    policy = RetryPolicy(max_attempts=1000, first_delay_s=0.05, max_delay_s=0.05, budget_s=0.5)
    loop = asyncio.get_running_loop()
    with reserved_port() as port:
        async with aiohttp.ClientSession() as http:
            started = loop.time()
            outcome = await post_webhook(
                http, f"http://127.0.0.1:{port}/webhook", b"report", HEADERS, policy=policy
            )
            took = loop.time() - started
    assert not outcome.accepted
    assert 1 < outcome.attempts < policy.max_attempts
    assert took < policy.budget_s + 1
