"""Turn check-ins, Idle reports and command responses into workflow starts (NanoCMD §a.6, §a.7).

Subscriptions start their workflow for the enrollment; event-handler workflows receive the
events they declared. A start refused because the workflow already runs is normal, not an
error. Where NanoCMD's code and documentation disagree, the documentation wins: Idle
subscriptions do fire, and Authenticate/CheckOut really cancel everything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Iterable, Sequence

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from mdmflow.activities.models import EngineSettings
from mdmflow.bridge.cancel import cancel_enrollment
from mdmflow.bridge.outage import is_temporal_outage
from mdmflow.mdm.checkin import Authenticate, CheckOut, TokenUpdate
from mdmflow.requirements import RequirementChecker
from mdmflow.starter.start import (
    AllAlreadyRunningError,
    SecretSealer,
    StartError,
    start_workflows,
)
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.store.subscriptions import NamedSubscription, SubscriptionStore
from mdmflow.workflows.event_handlers import EventDelivery, MDMEventHandler
from mdmflow.workflows.models import CommandReport, EventType, MDMEvent
from mdmflow.workflows.registry import UnknownWorkflowError
from mdmflow.workflows.workflow_config import WORKFLOW_TASK_TIMEOUT

log = logging.getLogger(__name__)


class EventDispatcher:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        subscriptions: SubscriptionStore,
        starts: WorkflowStartStore,
        handlers: Sequence[type[MDMEventHandler]],
        *,
        checker: RequirementChecker | None = None,
        sealer: SecretSealer | None = None,
        engine: EngineSettings | None = None,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._subscriptions = subscriptions
        self._starts = starts
        self._handlers = handlers
        self._checker = checker
        self._sealer = sealer
        self._engine = engine
        self._handlers_take_idle = any(h.wants(MDMEvent(type=EventType.IDLE)) for h in handlers)

    async def wants_idle(self) -> bool:
        """Whether an Idle would start anything: a handler that takes Idle, or an Idle or
        IdleNotStartedSince subscription (the same cached lookups its delivery makes)."""
        if self._handlers_take_idle:
            return True
        for event in (EventType.IDLE, EventType.IDLE_NOT_STARTED_SINCE):
            if await self._subscriptions.for_event(event):
                return True
        return False

    async def checkin(
        self,
        eid: str,
        message: Authenticate | TokenUpdate | CheckOut,
        params: dict[str, str],
        tally: int | None,
        delivery_id: str,
    ) -> None:
        if isinstance(message, Authenticate | CheckOut):
            reason = f"mdm.{message.message_type} from {eid}: its earlier workflows are void"
            await cancel_enrollment(self._client, self._starts, eid, reason)
            await self._starts.clear(eid)
        events = [
            MDMEvent(
                type=EventType(message.message_type), checkin=message, token_update_tally=tally
            )
        ]
        if isinstance(message, TokenUpdate) and (tally is None or tally == 1):
            events.append(
                MDMEvent(type=EventType.ENROLLMENT, checkin=message, token_update_tally=tally)
            )
        for event in events:
            await self.dispatch(eid, event, params, delivery_id)

    async def idle(
        self, eid: str, params: dict[str, str], received_at: dt.datetime, delivery_id: str
    ) -> None:
        """Idle, then IdleNotStartedSince measured from when the Idle arrived (not delivered)."""
        await self.dispatch(eid, MDMEvent(type=EventType.IDLE), params, delivery_id)
        subs = await self._subscriptions.for_event(EventType.IDLE_NOT_STARTED_SINCE)
        await _all(self._idle_not_started_since(eid, sub, params, received_at) for sub in subs)

    async def command_response(self, report: CommandReport, delivery_id: str) -> None:
        """AllCommandResponse: every tracked report, NotNow included, before the step sees it."""
        event = MDMEvent(type=EventType.ALL_COMMAND_RESPONSE, command_report=report)
        await self._deliver(report.enrollment_id, event, report.url_params, delivery_id)

    async def dispatch(
        self, eid: str, event: MDMEvent, params: dict[str, str], delivery_id: str
    ) -> None:
        subs = await self._subscriptions.for_event(event.type)
        await _all(
            [self._start(eid, sub, event, params) for sub in subs]
            + [self._deliver(eid, event, params, delivery_id)]
        )

    async def _idle_not_started_since(
        self, eid: str, sub: NamedSubscription, params: dict[str, str], now: dt.datetime
    ) -> None:
        try:
            seconds = int(sub.event_context)
        except ValueError:
            seconds = 0
        if seconds < 1:
            log.warning(
                "skipping IdleNotStartedSince subscription: event_context must be an integer >= 1",
                extra={"subscription": sub.name},
            )
            return
        started = await self._starts.last_started(eid, sub.workflow)
        if not not_started_since(now, started, seconds):
            return
        event = MDMEvent(type=EventType.IDLE_NOT_STARTED_SINCE)
        await self._start(eid, sub, event, params)

    async def _start(
        self, eid: str, sub: NamedSubscription, event: MDMEvent, params: dict[str, str]
    ) -> None:
        fields = {"enrollment_id": eid, "subscription": sub.name, "event": event.type.value}
        try:
            outcome = await start_workflows(
                self._client,
                self._task_queue,
                sub.workflow,
                [eid],
                sub.context,
                params,
                event,
                checker=self._checker,
                sealer=self._sealer,
                engine=self._engine,
            )
        except AllAlreadyRunningError:
            log.info("subscription's workflow already running", extra=fields)
            return
        except (UnknownWorkflowError, StartError) as exc:
            log.warning("subscription could not start", extra={**fields, "reason": str(exc)})
            return
        log.info(
            "subscription started workflow", extra={**fields, "instance_id": outcome.instance_id}
        )

    async def _deliver(
        self, eid: str, event: MDMEvent, params: dict[str, str], delivery_id: str
    ) -> None:
        """Start each interested event handler; its ID is derived from the webhook's delivery
        ID, so a delivery retried by the intake is refused as a duplicate, not run twice."""
        delivery = EventDelivery(enrollment_id=eid, event=event, url_params=params)
        event_key = uuid.uuid5(uuid.UUID(delivery_id), event.type.value)
        await _all(
            self._start_handler(
                handler.config.name, f"{handler.config.name}/{eid}/{event_key}", delivery
            )
            for handler in self._handlers
            if handler.wants(event)
        )

    async def _start_handler(self, name: str, workflow_id: str, delivery: EventDelivery) -> None:
        try:
            await self._client.start_workflow(
                name,
                delivery,
                id=workflow_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                task_timeout=WORKFLOW_TASK_TIMEOUT,
                static_summary=f"{delivery.event.type.value} event for {delivery.enrollment_id}",
            )
        except WorkflowAlreadyStartedError:
            log.info(
                "event already delivered",
                extra={"enrollment_id": delivery.enrollment_id, "workflow_id": workflow_id},
            )


def not_started_since(now: dt.datetime, started: dt.datetime | None, seconds: int) -> bool:
    """IdleNotStartedSince fires only strictly after ``started + seconds`` (or if never started)."""
    return started is None or now > started + dt.timedelta(seconds=seconds)


async def _all(calls: Iterable[Awaitable[object]]) -> None:
    """Run concurrently; a Temporal outage propagates (the intake retries the whole webhook,
    and every part of it is idempotent); any other failure is logged and not retried."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and (
            is_temporal_outage(result) or not isinstance(result, Exception)
        ):
            raise result
    for result in results:
        if isinstance(result, BaseException):
            log.error("event delivery failed", exc_info=result)
