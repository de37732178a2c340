"""The simulated MDM server's core: enrollments, queues, pushes and device sessions.

Idle devices cost nothing: a push puts the device in line for a session (take queued commands
in order, answer each, post each report to the webhook, then post Idle). At most
``max_sessions`` sessions run at once, each on a worker task that then takes the next device in
line, and all reports share one pooled HTTP session with that many connections, so a
push to thousands of devices costs a deque entry per device, not a task or a socket.
"""

from __future__ import annotations

import asyncio
import logging
import plistlib
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

import aiohttp
from opentelemetry import context as otel_context

from mdmflow.mdm.reports import CommandStatus
from mdmflow.simulator import checkins, responses, webhook
from mdmflow.simulator.config import SimulatorConfig
from mdmflow.simulator.devices import SimulatedDevice, SimulatedUser, generate_fleet
from mdmflow.simulator.queue import CommandQueue, PendingCommand
from mdmflow.simulator.responses import Answer, RotateHook
from mdmflow.simulator.sender import WEBHOOK_RETRY, PostObserver, post_webhook

log = logging.getLogger(__name__)

PUSH_MISSING = "push data missing for id"


class UnknownEnrollmentError(LookupError):
    """No enrollment has this ID."""

    def __init__(self, enrollment_id: str) -> None:
        super().__init__(f"unknown enrollment id: {enrollment_id}")


class PushError(RuntimeError):
    """The enrollment cannot be pushed (unknown, or no push token yet: not enrolled)."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One API request as the server received it (tests assert on nopush, chunking, pushes)."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes


@dataclass(slots=True)
class SimulatorStats:
    commands_enqueued: int = 0
    pushes: int = 0
    sessions: int = 0
    reports: Counter[str] = field(default_factory=Counter)
    """Reports the webhook accepted, by Status (Idle included)."""
    webhook_failures: int = 0
    reports_lost: int = 0
    """Reports dropped on purpose by ``reports_to_lose``."""


@dataclass(slots=True)
class _Channel:
    """One enrollment: the device channel (id = UDID) or a user channel (``UDID:UserID``)."""

    id: str
    device: SimulatedDevice
    user: SimulatedUser | None
    queue: CommandQueue = field(default_factory=CommandQueue)
    busy: bool = False
    again: bool = False
    trace: otel_context.Context | None = None


class SessionHold(Protocol):
    """Something that must hold while simulated devices talk, e.g. the time-skipping test
    server's clock: it must not jump a day while a device's answer is in flight on loopback."""

    async def acquire(self) -> None: ...

    async def release(self) -> None: ...


class Simulator:
    """A fake NanoMDM/MicroMDM server with its fleet; serve it with ``run_simulator``."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.not_now_rate = config.not_now_rate
        self.error_rate = config.error_rate
        self.latency_ms = config.latency_ms
        self.rotate_hook: RotateHook | None = None
        self.outage = False
        """While True the API answers 503, like an MDM server that is down."""
        self.webhook_retry = WEBHOOK_RETRY
        """How a webhook post that got no answer (bridge restarting, idle connection closed
        under it) is retried; one that got any answer is never posted again."""
        self.webhook_observer: PostObserver | None = None
        """Sees every webhook POST attempt and its answer (the fault suite's log)."""
        self.hold: SessionHold | None = None
        """Held from the push that wakes the first device until the last session ends."""
        self._hold_wanted = False
        self._held = False
        self._hold_tasks: set[asyncio.Task[None]] = set()
        self.reports_to_lose = 0
        """The next N command reports are lost in transit (the webhook post never reaches a
        bridge), as when NanoMDM posts while no bridge listens and never retries."""
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.fleet = generate_fleet(config.devices, config.seed, ios_ratio=config.ios_ratio)
        for device in self.fleet:
            device.enrolled = config.enrolled
        self.requests: list[RecordedRequest] = []
        self.stats = SimulatorStats()
        self._rng = random.Random(config.seed)
        self._channels: dict[str, _Channel] = {}
        for device in self.fleet:
            self._channels[device.udid] = _Channel(device.udid, device, None)
            if device.user_enrollment_id is not None:
                self._channels[device.user_enrollment_id] = _Channel(
                    device.user_enrollment_id, device, device.user
                )
        self._waiting: deque[_Channel] = deque()
        self._workers: set[asyncio.Task[None]] = set()
        self._worker_count = 0  # kept in step synchronously; the set only serves close()
        self._busy = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop running sessions (their reports are lost, like devices going offline)."""
        while self._waiting:
            self._release(self._waiting.popleft())
        for task in list(self._workers):
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await asyncio.gather(*self._hold_tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def _webhook_http(self) -> aiohttp.ClientSession:
        """The pooled session for webhook posts, made on first use (inside the event loop).
        At most ``max_sessions`` reports are in flight, so a connection is always free."""
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=self.config.max_sessions)
            self._http = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=30.0)
            )
        return self._http

    def enqueue_url(self, base_url: str) -> str:
        """The enqueue base a client appends IDs to (NanoCMD's ``-enqueue-url``)."""
        path = "/v1/enqueue/" if self.config.mode == "nanomdm" else "/v1/commands/"
        return base_url.rstrip("/") + path

    def push_url(self, base_url: str) -> str:
        """The push base a client appends IDs to; MicroMDM's is the GET-able ``/push/``."""
        path = "/v1/push/" if self.config.mode == "nanomdm" else "/push/"
        return base_url.rstrip("/") + path

    # -- fleet -------------------------------------------------------------------------------

    def enrollment_ids(self) -> list[str]:
        """Device-channel IDs (UDIDs) in fleet order; see ``user_enrollment_id`` for users."""
        return [device.udid for device in self.fleet]

    def device(self, enrollment_id: str) -> SimulatedDevice:
        """The device behind a device- or user-channel enrollment ID."""
        return self._channel(enrollment_id).device

    def queued(self, enrollment_id: str) -> list[PendingCommand]:
        return list(self._channel(enrollment_id).queue)

    def clear_queue(self, enrollment_id: str) -> None:
        self._channel(enrollment_id).queue.clear()

    def _channel(self, enrollment_id: str) -> _Channel:
        channel = self._channels.get(enrollment_id)
        if channel is None:
            raise UnknownEnrollmentError(enrollment_id)
        return channel

    # -- server side ---------------------------------------------------------------------------

    def record(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        """Keep the request (the oldest half dropped once ``kept_requests`` are held, so
        keeping stays cheap per request) and wake the waiters it may satisfy."""
        if len(self.requests) >= self.config.kept_requests:
            del self.requests[: max(1, len(self.requests) // 2)]
        self.requests.append(RecordedRequest(method, path, query, body))
        self._notify()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Resolve once ``predicate()`` holds; it is re-checked after every API request and
        every report the webhook accepted (tests synchronise on this, never on sleeps)."""
        if predicate():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, waiter))
        await waiter

    def _notify(self) -> None:
        pending = []
        for predicate, waiter in self._waiters:
            if waiter.done():
                continue
            if predicate():
                waiter.set_result(None)
            else:
                pending.append((predicate, waiter))
        self._waiters = pending

    def reset_log(self) -> None:
        self.requests.clear()

    def enqueue(self, enrollment_id: str, command: PendingCommand) -> None:
        """Queue a command; raises UnknownEnrollmentError or DuplicateCommandError."""
        self._channel(enrollment_id).queue.add(command)
        self.stats.commands_enqueued += 1

    def push(self, enrollment_id: str) -> str:
        """Wake the enrollment's device like an APNs push; returns the push's apns-id."""
        channel = self._channels.get(enrollment_id)
        if channel is None or not channel.device.enrolled:
            raise PushError(PUSH_MISSING)
        self.stats.pushes += 1
        self._wake(channel)
        return self._new_uuid()

    async def wait_until_quiet(self) -> None:
        """Resolve once no session runs and none is pending (a push during a session)."""
        await self._quiet.wait()

    # -- device sessions -----------------------------------------------------------------------

    def _wake(self, channel: _Channel) -> None:
        """Queue the device for a session; at most ``max_sessions`` devices talk at once."""
        channel.trace = otel_context.get_current()  # the push's trace continues in the session
        if channel.busy:
            channel.again = True  # the device connects again after this session
            return
        channel.busy = True
        self._busy += 1
        self._quiet.clear()
        self._hold_wanted = True
        self._waiting.append(channel)
        if self._worker_count < self.config.max_sessions:
            self._worker_count += 1
            worker = asyncio.create_task(self._work(), name="mdm-device-sessions")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        try:
            while self._waiting:
                await self._serve(self._waiting.popleft())
        finally:
            self._worker_count -= 1

    async def _serve(self, channel: _Channel) -> None:
        """Sessions for one device until no push arrived during the last one."""
        try:
            while True:
                channel.again = False
                token = otel_context.attach(channel.trace or otel_context.Context())
                try:
                    await self._session(channel)
                finally:
                    otel_context.detach(token)
                if not channel.again:
                    break
        except Exception:
            log.exception("simulated device session failed", extra={"id": channel.id})
        finally:
            self._release(channel)

    def _release(self, channel: _Channel) -> None:
        channel.busy = channel.again = False
        self._busy -= 1
        if self._busy == 0:
            self._quiet.set()
            self._hold_wanted = False
            if self._held and self.hold is not None:
                self._held = False
                task = asyncio.create_task(self.hold.release())
                self._hold_tasks.add(task)
                task.add_done_callback(self._hold_tasks.discard)

    async def settle(self) -> None:
        """Take the hold if a request just woke devices; awaited before the API answers, so
        whoever pushed (a workflow's activity) is still busy when the hold starts."""
        if self._hold_wanted and not self._held and self.hold is not None:
            self._held = True
            await self.hold.acquire()

    async def _session(self, channel: _Channel) -> None:
        """One device connection: every queued command (NotNow ones once), then Idle."""
        self.stats.sessions += 1
        not_now: set[str] = set()
        while (command := channel.queue.next(not_now)) is not None:
            await self._latency()
            result = self._answer(channel, command)
            if self.reports_to_lose > 0:
                # The server took the answer (the command is done) but its webhook post was lost.
                self.reports_to_lose -= 1
                self.stats.reports_lost += 1
                log.info("report lost in transit", extra={"enrollment_id": channel.id})
            elif not await self._deliver(channel, result.report):
                return  # the report was lost; the command stays queued for a later push
            if result.status == CommandStatus.NOT_NOW:
                not_now.add(command.uuid)
                continue
            channel.queue.finish(command.uuid)
            if result.change is not None:
                result.change(channel.device)
        await self._deliver(
            channel, responses.envelope(channel.device, CommandStatus.IDLE, user=channel.user)
        )

    def _answer(self, channel: _Channel, command: PendingCommand) -> Answer:
        device, user = channel.device, channel.user
        roll = self._rng.random()
        if roll < self.not_now_rate:
            return Answer(responses.envelope(device, CommandStatus.NOT_NOW, command.uuid, user))
        if roll < self.not_now_rate + self.error_rate:
            chain = self._rng.choice(responses.SIMULATED_FAILURES)
            return Answer(responses.error_report(device, command.uuid, chain, user))
        return responses.answer(device, command.plist, user=user, rotate_hook=self.rotate_hook)

    async def _latency(self) -> None:
        low, high = self.latency_ms
        if high > 0:
            await asyncio.sleep(self._rng.uniform(low, high) / 1000)

    async def _deliver(self, channel: _Channel, report: dict[str, Any]) -> bool:
        """POST the report to the webhook; False (and counted) when it did not get through."""
        status = str(report["Status"])
        event = webhook.connect_event(
            mode=self.config.mode,
            event_id=self._new_uuid(),
            udid=channel.device.udid,
            enrollment_id=channel.id,
            status=status,
            command_uuid=str(report.get("CommandUUID", "")),
            raw_report=plistlib.dumps(report),
            url_params=self.config.url_params,
        )
        if not await self._post(channel, event, status):
            return False
        self.stats.reports[status] += 1
        self._notify()
        return True

    async def _post(self, channel: _Channel, event: dict[str, Any], what: str) -> bool:
        body = webhook.encode(event)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.config.webhook_hmac_key:
            headers["X-Hmac-Signature"] = webhook.signature(self.config.webhook_hmac_key, body)
        context = {"enrollment_id": channel.id, "status": what}
        outcome = await post_webhook(
            self._webhook_http(),
            self.config.webhook_url,
            body,
            headers,
            policy=self.webhook_retry,
            context=context,
            observer=self.webhook_observer,
        )
        if outcome.accepted:
            return True
        self.stats.webhook_failures += 1
        log.warning("webhook post failed", extra={**context, "problem": outcome.problem})
        return False

    # -- enrollment ----------------------------------------------------------------------------

    async def enroll(self, enrollment_id: str) -> bool:
        """Enroll (again): Authenticate, then TokenUpdate for the device and its user channel.

        NanoMDM counts TokenUpdates since the Authenticate, so the tally is 1 each time. Returns
        False when the webhook did not accept every message.
        """
        channel = self._channel(enrollment_id)
        device = channel.device
        ok = await self._post_checkin(channel, checkins.authenticate(device))
        device.enrolled = True
        ok &= await self._post_checkin(
            channel, checkins.token_update(device, None, self._rng), tally=1
        )
        if device.user_enrollment_id is not None:
            user_channel = self._channel(device.user_enrollment_id)
            ok &= await self._post_checkin(
                user_channel, checkins.token_update(device, device.user, self._rng), tally=1
            )
        return ok

    async def token_update(self, enrollment_id: str, tally: int) -> bool:
        """A later TokenUpdate (new push token), with NanoMDM's running tally."""
        channel = self._channel(enrollment_id)
        message = checkins.token_update(channel.device, channel.user, self._rng)
        return await self._post_checkin(channel, message, tally=tally)

    async def check_out(self, enrollment_id: str) -> bool:
        """The device leaves management: CheckOut, and no more pushes reach it."""
        channel = self._channel(enrollment_id)
        channel.device.enrolled = False
        return await self._post_checkin(channel, checkins.check_out(channel.device))

    async def idle(self, enrollment_id: str) -> bool:
        """The device checks in with nothing to report (an Idle report, no session)."""
        channel = self._channel(enrollment_id)
        return await self._deliver(
            channel, responses.envelope(channel.device, CommandStatus.IDLE, user=channel.user)
        )

    async def _post_checkin(
        self, channel: _Channel, message: dict[str, Any], tally: int | None = None
    ) -> bool:
        event = webhook.checkin_event(
            mode=self.config.mode,
            udid=channel.device.udid,
            enrollment_id=channel.id,
            message_type=str(message["MessageType"]),
            raw_message=plistlib.dumps(message),
            url_params=self.config.url_params,
            tally=tally,
        )
        return await self._post(channel, event, str(message["MessageType"]))

    def _new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4)).upper()
