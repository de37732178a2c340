"""Accept webhooks durably and deliver them: inline when Temporal is up, from the intake when not.

``receive`` commits the webhook (one short transaction; the only thing the 200 waits for that
can fail) and then tries to deliver it at once, bounded in time, so latency stays low while
Temporal is up. The report of a command whose UUID carries its route, every step of a run
started by this version, goes the other way round: signalled first, committed only if that
did not succeed, so a step's report costs the bridge no transaction while Temporal is up.
What is not delivered stays in the intake: the relay, running in every bridge replica, claims
due rows and retries them with backoff. While Temporal is down the relay probes
with one webhook at a time and inline delivery is skipped, so senders are answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass

from mdmflow.bridge.delivery import Delivered, DeliveryDeferredError, WebhookDelivery
from mdmflow.bridge.webhook import Webhook, WebhookRejectedError, read_webhook
from mdmflow.store.intake import Backlog, IntakeEntry, IntakeOutcome, IntakeStore
from mdmflow.store.routes import RouteRead

log = logging.getLogger(__name__)


class IntakeUnavailableError(RuntimeError):
    """The app database did not take the webhook; the sender must be told to retry (503)."""


@dataclass(frozen=True)
class IntakeTiming:
    """How patient delivery is; the defaults suit production, tests shorten the waits."""

    inline_timeout: dt.timedelta = dt.timedelta(seconds=2)
    """Longest an HTTP answer waits for inline delivery (the webhook is safe either way); a
    delivery takes milliseconds while Temporal is up, and the sender should not wait long
    when it is not."""
    inline_lease: dt.timedelta = dt.timedelta(seconds=3)
    """How long other relays leave a freshly accepted webhook to its own bridge: just over the
    inline timeout, so the webhooks of a bridge killed mid-delivery are taken up at once."""
    attempt_timeout: dt.timedelta = dt.timedelta(seconds=40)
    """One relay attempt; a check-in's cancels may wait for workflows to end (up to 30 s)."""
    relay_lease: dt.timedelta = dt.timedelta(seconds=60)
    poll_interval: dt.timedelta = dt.timedelta(seconds=1)
    max_backoff: dt.timedelta = dt.timedelta(seconds=30)
    batch: int = 50
    max_attempts_on_error: int = 10
    """Attempts for failures that are neither an outage nor a permanent refusal (bugs)."""
    retention: dt.timedelta = dt.timedelta(days=7)
    """How long recorded outcomes (unrouted, workflow gone, refused) are kept."""
    report_every: dt.timedelta = dt.timedelta(seconds=60)


class Intake:
    def __init__(
        self, store: IntakeStore, delivery: WebhookDelivery, timing: IntakeTiming | None = None
    ) -> None:
        self._store = store
        self._delivery = delivery
        self._timing = timing or IntakeTiming()
        self._temporal_down = False
        self._wake = asyncio.Event()

    async def receive(self, webhook: Webhook, body: bytes) -> None:
        """Commit ``webhook``, then deliver it if that can be done now; never raises once
        committed (the answer is 200 from then on, whatever delivery does). An Idle that
        nothing listens to, half of all webhooks, has nothing to deliver and is not kept; a
        report whose UUID carries its route is delivered first and kept only if that fails
        (:meth:`_deliver_first`)."""
        if not await self._delivery.wanted(webhook):
            return
        if webhook.carried_route is not None and not self._temporal_down:
            await self._deliver_first(webhook, body)
            return
        read = self._delivery.route_read(webhook)
        entry = await self._accept(webhook, body, read)
        try:
            if self._temporal_down or (
                webhook.kind.ordered and await self._store.has_earlier_pending(entry)
            ):
                await self._store.retry_later(entry, dt.timedelta(0), "left to the relay")
                self._wake.set()
                return
            await self._attempt(entry, webhook, self._timing.inline_timeout, read)
        except Exception:
            log.exception("inline delivery failed; the relay retries", extra=webhook.log_fields)

    async def _accept(
        self,
        webhook: Webhook,
        body: bytes,
        read: RouteRead | None = None,
        delivery_id: str | None = None,
    ) -> IntakeEntry:
        try:
            return await self._store.accept(
                webhook.kind,
                webhook.enrollment_id,
                webhook.command_uuid,
                body,
                self._timing.inline_lease,
                also=read,
                delivery_id=delivery_id,
            )
        except Exception as exc:
            log.error(
                "webhook not accepted: app database unavailable",
                extra={**webhook.log_fields, "reason": str(exc)},
            )
            raise IntakeUnavailableError(f"app database unavailable: {exc}") from exc

    async def _deliver_first(self, webhook: Webhook, body: bytes) -> None:
        """A report whose UUID carries its route is signalled before anything is stored: once
        Temporal took the signal the report is as safe as a committed row, and the step
        needs no transaction at all. Only what did not end well inline is committed (under
        the same delivery ID, so a retry is seen as the same delivery): an outcome worth
        keeping, or the report itself for the relay. The answer waits for that commit, so a
        report answered 200 is always in Temporal or in the intake; a bridge that dies
        before either never answered, as when it dies before the commit of the other path
        (the step asks a query again, or marks a command's answer as possibly lost)."""
        delivery_id = str(uuid.uuid4())
        try:
            async with asyncio.timeout(self._timing.inline_timeout.total_seconds()):
                result = await self._delivery.deliver(webhook, delivery_id, dt.datetime.now(dt.UTC))
        except Exception as exc:
            reason = str(exc) or "delivery took over the inline timeout"
            self._temporal_down = isinstance(exc, DeliveryDeferredError)
            entry = await self._accept(webhook, body, delivery_id=delivery_id)
            log.warning(
                "report kept in the intake; delivery retried later",
                extra={**webhook.log_fields, "delivery_id": delivery_id, "reason": reason},
            )
            with contextlib.suppress(Exception):  # else it is due when its lease ends
                await self._store.retry_later(entry, dt.timedelta(0), reason)
            self._wake.set()
            return
        self._temporal_down = False
        if result.outcome is not None:
            entry = await self._accept(webhook, body, delivery_id=delivery_id)
            fields = {**webhook.log_fields, "delivery_id": delivery_id}
            with contextlib.suppress(Exception):  # else the relay delivers it again
                await self._finish(entry, result, fields)

    async def backlog(self) -> Backlog:
        return await self._store.backlog()

    async def run_relay(self) -> None:
        """Deliver due webhooks until cancelled; one runs in every bridge replica."""
        next_report = next_prune = time.monotonic()
        while True:
            try:
                delivered_any = await self._relay_once()
            except Exception:
                log.exception("intake relay round failed")
                delivered_any = False
            now = time.monotonic()
            if now >= next_report:
                next_report = now + self._timing.report_every.total_seconds()
                await self._report_backlog()
            if now >= next_prune:
                next_prune = now + 3600
                with contextlib.suppress(Exception):
                    await self._store.prune(self._timing.retention)
            if not delivered_any:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._timing.poll_interval.total_seconds()):
                        await self._wake.wait()

    async def _relay_once(self) -> bool:
        """One round; True when a full batch was claimed (more may be due at once)."""
        entries = await self._store.claim_due(self._timing.batch, self._timing.relay_lease)
        claimed = len(entries)
        if not entries:
            return False
        if self._temporal_down:
            # Probe with the oldest; release the rest unless Temporal answered.
            first, rest = entries[0], entries[1:]
            if not await self._attempt_stored(first):
                delay = self._backoff(first.attempts)
                for entry in rest:
                    await self._store.retry_later(entry, delay, "Temporal is unavailable")
                await asyncio.sleep(min(delay.total_seconds(), 5.0))
                return False
            entries = rest
        await asyncio.gather(*(self._attempt_stored(e) for e in entries))
        return claimed == self._timing.batch

    async def _attempt_stored(self, entry: IntakeEntry) -> bool:
        """Deliver a row read back from the intake; False when Temporal is still down."""
        try:
            webhook = read_webhook(entry.body)
        except WebhookRejectedError as exc:  # accepted by an older bridge with other rules
            await self._store.record(entry, IntakeOutcome.REFUSED, str(exc))
            return True
        if webhook is None:
            await self._store.delivered(entry)
            return True
        return await self._attempt(entry, webhook, self._timing.attempt_timeout)

    async def _attempt(
        self,
        entry: IntakeEntry,
        webhook: Webhook,
        timeout: dt.timedelta,
        read: RouteRead | None = None,
    ) -> bool:
        fields = {**webhook.log_fields, "delivery_id": entry.delivery_id}
        try:
            async with asyncio.timeout(timeout.total_seconds()):
                result = await self._delivery.deliver(
                    webhook, entry.delivery_id, entry.received_at, read
                )
        except (DeliveryDeferredError, TimeoutError) as exc:
            reason = str(exc) or f"delivery took over {timeout.total_seconds():.0f} s"
            # Only an answer that says so means Temporal is down; a slow delivery under load
            # is retried on its own and does not send every later webhook to the relay.
            self._temporal_down = isinstance(exc, DeliveryDeferredError)
            delay = self._backoff(entry.attempts)
            log.warning(
                "webhook kept in the intake; delivery retried later",
                extra={**fields, "reason": reason, "attempts": entry.attempts},
            )
            await self._store.retry_later(entry, delay, reason)
            return False
        except Exception as exc:
            if entry.attempts >= self._timing.max_attempts_on_error:
                log.exception("webhook delivery failed for good", extra=fields)
                await self._store.record(entry, IntakeOutcome.REFUSED, f"delivery failed: {exc}")
            else:
                log.exception("webhook delivery failed; retried later", extra=fields)
                await self._store.retry_later(entry, self._backoff(entry.attempts), str(exc))
            return True
        self._temporal_down = False
        await self._finish(entry, result, fields)
        return True

    async def _finish(self, entry: IntakeEntry, result: Delivered, fields: dict[str, str]) -> None:
        if result.outcome is None:
            await self._store.delivered(entry, result.also)
            return
        if result.outcome is IntakeOutcome.REFUSED:
            log.error("webhook refused by Temporal", extra={**fields, "reason": result.detail})
        await self._store.record(entry, result.outcome, result.detail, result.also)

    def _backoff(self, attempts: int) -> dt.timedelta:
        seconds = min(2.0 ** max(attempts - 1, 0), self._timing.max_backoff.total_seconds())
        return dt.timedelta(seconds=seconds)

    async def _report_backlog(self) -> None:
        with contextlib.suppress(Exception):
            backlog = await self._store.backlog()
            if backlog.pending:
                log.warning(
                    "webhooks waiting in the intake",
                    extra={
                        "pending": backlog.pending,
                        "oldest_pending_age_s": round(backlog.oldest_pending_age_s or 0, 1),
                    },
                )
