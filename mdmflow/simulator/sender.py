"""Post a webhook body as a careful sender: retry only what surely got no answer.

A bridge that restarts refuses connections for a second or two, and a keep-alive connection
the bridge closed while idle fails the next POST on it with a reset or "disconnected without a
response". In both cases no HTTP answer arrived, so the report was not taken and posting it
again (shortly, a bounded number of times within a bounded time) is what keeps it from being
lost. A POST that got an answer, whatever its status, is never sent again: the receiver has
decided, and repeating it would only duplicate a delivery the receiver may have acted on.

Posts go through aiohttp: NanoMDM posts from Go at little cost, and httpx spent 1.6 ms of CPU
per post here (aiohttp 0.1 ms), which in the bench's shared process was charged to whatever
else ran in it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from mdmflow.telemetry import client_span

log = logging.getLogger(__name__)

NO_ANSWER_ERRORS: tuple[type[Exception], ...] = (
    aiohttp.ClientOSError,  # refused (nothing listens yet), or reset while sending or waiting
    aiohttp.ConnectionTimeoutError,
    aiohttp.ServerDisconnectedError,  # closed without a response (a closed keep-alive one)
)
"""Failures that happen before an answer; a read timeout is not one of them (the receiver may
still be working on the report, and a second copy would only add to its load)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff doubling from ``first_delay_s`` up to ``max_delay_s``; at most ``max_attempts``
    posts, and no retry that would start after ``budget_s`` from the first attempt."""

    max_attempts: int = 20
    first_delay_s: float = 0.1
    max_delay_s: float = 2.0
    budget_s: float = 30.0

    def delay(self, failed_attempts: int) -> float:
        return min(self.first_delay_s * 2.0 ** (failed_attempts - 1), self.max_delay_s)


WEBHOOK_RETRY = RetryPolicy()
"""Bridges a bridge restart (1 to 2 s) with room to spare, and gives up within about 30 s."""


class PostObserver(Protocol):
    """Sees every POST attempt and the status it was answered with (the fault suite's log)."""

    def sending(self, body: bytes) -> Callable[[int], None]:
        """An attempt is about to go out; the returned callable is given its answer's status
        (not called when none came)."""
        ...


@dataclass(frozen=True, slots=True)
class PostOutcome:
    status: int | None
    """The HTTP status of the answer; None when no answer ever arrived."""
    problem: str
    """Why the post was not accepted ("" when it was)."""
    attempts: int

    @property
    def accepted(self) -> bool:
        return self.status is not None and self.status < 400


async def post_webhook(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    policy: RetryPolicy = WEBHOOK_RETRY,
    context: Mapping[str, object] | None = None,
    observer: PostObserver | None = None,
) -> PostOutcome:
    """POST ``body`` until an answer arrives or the policy gives up; each retry is logged
    (with ``context``, e.g. the enrollment ID), and each attempt shown to ``observer``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.budget_s
    attempt = 0
    while True:
        attempt += 1
        status: int | None = None
        answered = observer.sending(body) if observer is not None else None
        try:
            with client_span("POST", url) as call:
                async with http.post(url, data=body, headers={**headers, **call.headers}) as reply:
                    status = reply.status
                    call.answered(status)
                    if answered is not None:
                        answered(status)
                    await reply.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            if status is not None:
                # Answered, then the body broke off: the status stands, no second copy.
                return _answered(status, attempt)
            problem = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, NO_ANSWER_ERRORS):
                return PostOutcome(None, problem, attempt)
            delay = policy.delay(attempt)
            if attempt >= policy.max_attempts or loop.time() + delay > deadline:
                return PostOutcome(None, f"{problem} (gave up after {attempt} attempts)", attempt)
            log.warning(
                "webhook post got no answer; retrying",
                extra={
                    **(context or {}),
                    "problem": problem,
                    "attempt": attempt,
                    "retry_in_s": delay,
                },
            )
            await asyncio.sleep(delay)
            continue
        return _answered(status, attempt)


def _answered(status: int, attempts: int) -> PostOutcome:
    return PostOutcome(status, "" if status < 400 else f"HTTP {status}", attempts)
