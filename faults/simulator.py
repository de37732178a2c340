"""The simulated MDM server as the fault suite runs it: in this process, observed and steerable.

Temporal, workers and bridges are separate processes the suite kills; the MDM server is the
fixed point they talk to, so it runs here, where the suite can see every request it gets and
every webhook its devices post, and can steer it:

- :class:`FaultSimulator` takes devices offline: a push to an offline device is accepted (as
  APNs accepts one) and delivered when the device comes back, so the suite decides when
  reports arrive (after the commands were enqueued, while Temporal is down, at 25/s, …).
- :class:`ApiGate` holds the enqueue or push requests of chosen devices at the server's door,
  so a worker can be killed while its request is in flight, and then serves or drops them.
- :class:`WebhookLog` records every webhook POST attempt and the answer it got. It also gives
  the fleet NanoMDM's queue semantics: a command the device answered is done at the MDM
  server whatever the webhook answered (NanoMDM stores the result before it posts the webhook
  and never offers that command again), so a report the bridge refused is lost, as it is in
  production, unless mdmflow recovers it. (It clears the device's whole queue, which is exact
  for the single-command steps the scenarios run.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mdmflow.httpserver import serve_app
from mdmflow.mdm.reports import CommandStatus
from mdmflow.mdm.webhook import CONNECT_TOPIC, WebhookEvent
from mdmflow.simulator import Simulator, SimulatorConfig, create_app
from mdmflow.simulator.queue import CommandDecodeError, decode_command

ApiKind = Literal["enqueue", "push", "other"]
_FINAL = frozenset(s.value for s in CommandStatus if s.is_final)


class FaultSimulator(Simulator):
    """A :class:`Simulator` whose devices can be offline (pushes wait for them)."""

    def __init__(self, config: SimulatorConfig) -> None:
        super().__init__(config)
        self.offline: set[str] = set()
        self._missed: set[str] = set()
        self.webhooks = WebhookLog(self)

    def push(self, enrollment_id: str) -> str:
        if enrollment_id in self.offline:
            self.device(enrollment_id)  # unknown IDs still fail
            self._missed.add(enrollment_id)
            self.stats.pushes += 1
            return str(uuid.uuid4()).upper()
        return super().push(enrollment_id)

    def go_offline(self, ids: Iterable[str]) -> None:
        self.offline.update(ids)

    def come_online(self, ids: Iterable[str]) -> int:
        """Bring devices back; those pushed meanwhile connect now. Returns how many did."""
        woken = 0
        for enrollment_id in ids:
            self.offline.discard(enrollment_id)
            if enrollment_id in self._missed:
                self._missed.discard(enrollment_id)
                super().push(enrollment_id)
                woken += 1
        return woken

    def pushed_while_offline(self, enrollment_id: str) -> bool:
        return enrollment_id in self._missed

    def enqueued_uuids(self) -> dict[str, list[str]]:
        """Every command UUID the server was asked to enqueue, per enrollment, in order and
        with repeats (a retried enqueue re-sends the same UUID; a re-ask sends a new one)."""
        out: dict[str, list[str]] = {}
        for request in list(self.requests):
            if request.method != "PUT" or not request.path.startswith("/v1/enqueue/"):
                continue
            try:
                command = decode_command(request.body)
            except CommandDecodeError:
                continue
            for enrollment_id in _ids(request.path, "/v1/enqueue/"):
                out.setdefault(enrollment_id, []).append(command.uuid)
        return out


@dataclass
class ApiCall:
    """One request to the MDM server's API, as it arrived at the door."""

    at: float
    kind: ApiKind
    method: str
    ids: tuple[str, ...]
    outcome: str = "served"
    """``served``, ``held`` while waiting at the gate, or ``dropped``."""


class ApiGate:
    """ASGI middleware in front of the simulator's API: records and optionally holds requests.

    ``hold("enqueue", ids)`` makes the next enqueue requests naming any of ``ids`` wait at the
    door until :meth:`release`; the worker that sent one is then mid-request, which is the
    moment a kill is most likely to leave the server and the workflow disagreeing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: list[ApiCall] = []
        self._rules: dict[ApiKind, set[str]] = {"enqueue": set(), "push": set(), "other": set()}
        self._held: list[tuple[ApiCall, asyncio.Future[bool]]] = []

    def hold(self, kind: ApiKind, ids: Iterable[str]) -> None:
        self._rules[kind].update(ids)

    def waiting(self, kind: ApiKind) -> set[str]:
        """IDs named by requests of ``kind`` now held at the gate."""
        return {i for call, _ in self._held if call.kind == kind for i in call.ids}

    def release(self, *, drop: bool = False) -> int:
        """Stop holding; held requests are served (or dropped unanswered-by-the-server: a 503
        nobody reads, for a sender that is gone). Returns how many were held."""
        for rule in self._rules.values():
            rule.clear()
        held, self._held = self._held, []
        for _, waiter in held:
            if not waiter.done():
                waiter.set_result(drop)
        return len(held)

    def calls_for(self, kind: ApiKind, enrollment_id: str, since: float = 0.0) -> list[ApiCall]:
        return [
            c for c in self.calls if c.kind == kind and enrollment_id in c.ids and c.at >= since
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        kind: ApiKind = "other"
        ids: tuple[str, ...] = ()
        for prefix, what in (("/v1/enqueue/", "enqueue"), ("/v1/push/", "push")):
            if path.startswith(prefix):
                kind, ids = what, tuple(_ids(path, prefix))  # type: ignore[assignment]
        call = ApiCall(time.time(), kind, str(scope["method"]), ids)
        self.calls.append(call)
        if not self._rules[kind].intersection(ids):
            await self.app(scope, receive, send)
            return
        # The server has the whole request before it stalls, so serving it after the sender
        # died is what a slow MDM server does: the command is queued, the answer goes nowhere.
        body = await _read_body(receive)
        call.outcome = "held"
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._held.append((call, waiter))
        if await waiter:
            call.outcome = "dropped"
            await _plain(send, 503, b"dropped by the fault suite\n")
            return
        call.outcome = "served"
        await self.app(scope, _replay(body, receive), send)


@dataclass
class WebhookPost:
    """One webhook POST attempt by a device (a retried POST is a second attempt)."""

    at: float
    kind: str
    """``report`` (a command status), ``idle`` or ``checkin``."""
    enrollment_id: str
    command_uuid: str
    status: str
    body: bytes = field(repr=False)
    code: int | None = None
    """The HTTP status of the answer; None while pending or when it failed with no answer."""
    answered_at: float | None = None

    def answered(self, code: int) -> None:
        self.code = code
        self.answered_at = time.time()


@dataclass(frozen=True)
class WebhookTally:
    """What became of webhook POSTs: answered 2xx, answered otherwise, or never answered."""

    attempts: int
    ok: int
    refused: int
    """Answered with a non-2xx status."""
    unanswered: int
    """Failed before any answer (connection refused or reset) or still pending."""
    codes: dict[int, int]

    def line(self) -> str:
        codes = ", ".join(f"{code} x{n}" for code, n in sorted(self.codes.items()))
        return (
            f"{self.ok}/{self.attempts} answered 2xx, {self.refused} non-2xx, "
            f"{self.unanswered} no answer" + (f" ({codes})" if self.refused else "")
        )


class WebhookLog:
    """Every webhook POST the simulated devices make, seen as the simulator's observer.

    The suite watches the simulator's own posts rather than wrapping its delivery code, so
    retries and whatever else the simulator does on the way stay its own.
    """

    def __init__(self, sim: Simulator) -> None:
        self.posts: list[WebhookPost] = []
        self._sim = sim
        sim.webhook_observer = self

    def sending(self, body: bytes) -> Callable[[int], None]:
        post = _describe(body)
        self.posts.append(post)
        if post.kind == "report" and post.status in _FINAL:
            # NanoMDM: the answer is stored before the webhook is posted; the command is done.
            with contextlib.suppress(LookupError):
                self._sim.clear_queue(post.enrollment_id)
        return post.answered

    def reports(self, since: float = 0.0) -> list[WebhookPost]:
        """Command-status reports (not Idle, not check-ins) posted at or after ``since``."""
        return [p for p in self.posts if p.kind == "report" and p.at >= since]

    def tally(self, posts: Iterable[WebhookPost]) -> WebhookTally:
        chosen = list(posts)
        codes = Counter(p.code for p in chosen if p.code is not None)
        ok = sum(n for code, n in codes.items() if 200 <= code < 300)
        answered = sum(codes.values())
        return WebhookTally(
            attempts=len(chosen),
            ok=ok,
            refused=answered - ok,
            unanswered=len(chosen) - answered,
            codes={code: n for code, n in codes.items() if not 200 <= code < 300},
        )

    def delivered(self, enrollment_id: str, command_uuid: str) -> bool:
        """Whether some POST of this command's final report was answered 2xx."""
        return any(
            p.enrollment_id == enrollment_id
            and p.command_uuid == command_uuid
            and p.status in _FINAL
            and p.code is not None
            and 200 <= p.code < 300
            for p in self.posts
        )

    def first_report(self, enrollment_id: str) -> WebhookPost | None:
        for post in self.posts:
            if post.kind == "report" and post.enrollment_id == enrollment_id:
                return post
        return None


def _describe(body: bytes) -> WebhookPost:
    now = time.time()
    try:
        event = WebhookEvent.model_validate_json(body)
    except ValidationError:
        return WebhookPost(now, "other", "", "", "", body)
    if event.topic != CONNECT_TOPIC or event.acknowledge_event is None:
        target = event.checkin_event.target_id if event.checkin_event is not None else ""
        return WebhookPost(now, "checkin", target, "", event.topic, body)
    ack = event.acknowledge_event
    kind = "idle" if ack.status == CommandStatus.IDLE else "report"
    return WebhookPost(now, kind, ack.target_id, ack.command_uuid, str(ack.status), body)


def _ids(path: str, prefix: str) -> list[str]:
    raw = unquote(path[len(prefix) :])
    return [one for one in raw.split(",") if one]


async def _read_body(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the buffered body, then the connection's own events."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class RunningSimulator:
    sim: FaultSimulator
    gate: ApiGate
    url: str

    @property
    def enqueue_url(self) -> str:
        return self.sim.enqueue_url(self.url)

    @property
    def push_url(self) -> str:
        return self.sim.push_url(self.url)


@contextlib.asynccontextmanager
async def running_simulator(config: SimulatorConfig) -> AsyncIterator[RunningSimulator]:
    """Serve a :class:`FaultSimulator` behind an :class:`ApiGate` on a free loopback port."""
    async with FaultSimulator(config) as sim:
        gate = ApiGate(create_app(sim))
        async with serve_app(gate, "127.0.0.1", 0) as url:
            try:
                yield RunningSimulator(sim, gate, url)
            finally:
                gate.release(drop=True)
