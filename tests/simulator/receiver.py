"""A webhook receiver for simulator tests: records every POST and wakes waiters, no polling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mdmflow.mdm.reports import ParsedReport
from mdmflow.mdm.webhook import AcknowledgeEvent, WebhookEvent

WAIT_SECONDS = 60  # a safety net against hangs only; waits end as soon as reports arrive


@dataclass(frozen=True)
class Delivery:
    """One webhook POST as received: parsed event, exact body and headers."""

    event: WebhookEvent
    body: bytes
    headers: Headers

    @property
    def ack(self) -> AcknowledgeEvent:
        assert self.event.acknowledge_event is not None
        return self.event.acknowledge_event

    @property
    def report(self) -> ParsedReport:
        return ParsedReport.from_plist(self.ack.raw_payload)


class WebhookReceiver:
    """Answers 200 (or 503 while ``failing``) and keeps what it accepted."""

    def __init__(self) -> None:
        self.url = ""
        self.failing = False
        self.deliveries: list[Delivery] = []
        self.reports: list[Delivery] = []
        """Command reports (everything but Idle), in arrival order."""
        self.idles: list[Delivery] = []
        self.checkins: list[Delivery] = []
        """Check-in events (Authenticate, TokenUpdate, CheckOut), in arrival order."""
        self._arrived = asyncio.Condition()
        self.app = Starlette(routes=[Route("/webhook", self._post, methods=["POST"])])

    def reset(self) -> None:
        """Forget everything: one server is shared by all tests (saves a start/stop each)."""
        self.failing = False
        self.deliveries, self.reports, self.idles, self.checkins = [], [], [], []

    async def _post(self, request: Request) -> Response:
        if self.failing:
            return Response(status_code=503)
        body = await request.body()
        event = WebhookEvent.model_validate(json.loads(body))
        delivery = Delivery(event, body, request.headers)
        async with self._arrived:
            self.deliveries.append(delivery)
            if event.checkin_event is not None:
                self.checkins.append(delivery)
            elif delivery.ack.status == "Idle":
                self.idles.append(delivery)
            else:
                self.reports.append(delivery)
            self._arrived.notify_all()
        return Response(status_code=200)

    async def wait_reports(self, count: int) -> list[Delivery]:
        """Block until ``count`` command reports arrived; returns all of them."""
        await self._wait(lambda: len(self.reports) >= count)
        return self.reports

    async def wait_idles(self, count: int) -> list[Delivery]:
        await self._wait(lambda: len(self.idles) >= count)
        return self.idles

    async def wait_checkins(self, count: int) -> list[Delivery]:
        await self._wait(lambda: len(self.checkins) >= count)
        return self.checkins

    async def _wait(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self._arrived:
            await self._arrived.wait_for(predicate)
