"""Deliver one accepted webhook: route a report to its workflow, turn check-ins into events.

Delivery is at least once: the intake retries whatever did not finish, so every step here is
safe to repeat. A report signalled twice changes nothing (the engine ignores a second final
answer), event-handler workflows get IDs derived from the webhook's delivery ID (a second start
is refused), and cancelling an enrollment's workflows again finds nothing left to cancel.

A Temporal outage raises :class:`DeliveryDeferredError` (the intake tries again later); what
can never succeed ends as a :class:`Delivered` with a recorded outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from mdmflow.bridge.events import EventDispatcher
from mdmflow.bridge.outage import is_temporal_outage
from mdmflow.bridge.webhook import Webhook
from mdmflow.mdm.bounded import MAX_CHAIN_ITEMS, bounded_error_chain
from mdmflow.mdm.reports import ParsedReport
from mdmflow.store.intake import IntakeKind, IntakeOutcome
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.routes import RouteRead, RouteStore, forget_route
from mdmflow.workflows.models import COMMAND_REPORT_SIGNAL, CommandReport

log = logging.getLogger(__name__)


class DeliveryDeferredError(RuntimeError):
    """Temporal could not take the delivery now; the intake keeps the webhook and retries."""


@dataclass(frozen=True)
class Delivered:
    """The delivery is over; ``outcome`` is set when that end is worth keeping as a record."""

    outcome: IntakeOutcome | None = None
    detail: str = ""
    also: Callable[[Connection], None] | None = None
    """What the transaction that ends the webhook (marks it delivered, or keeps its outcome)
    does as well: a final report's route, or the route of a report whose workflow is gone, is
    dropped there, so both are one commit, and a bridge that dies before it leaves both to the
    relay's next attempt."""


DONE = Delivered()


class WebhookDelivery:
    def __init__(
        self,
        client: Client,
        routes: RouteStore,
        payloads: PayloadStore,
        events: EventDispatcher,
        inline_limit: int,
    ) -> None:
        self._client = client
        self._events = events
        self._routes = routes
        self._payloads = payloads
        self._inline_limit = inline_limit

    async def wanted(self, webhook: Webhook) -> bool:
        """False only for an Idle that nothing listens to, whose delivery would do nothing;
        when that cannot be told (the database is down), True: the intake decides."""
        if webhook.kind is not IntakeKind.IDLE:
            return True
        try:
            return await self._events.wants_idle()
        except Exception:
            return True

    @staticmethod
    def route_read(webhook: Webhook) -> RouteRead | None:
        """What the intake reads as it accepts ``webhook``: the recorded route of a report
        whose UUID does not carry one."""
        if webhook.report is None or webhook.carried_route is not None:
            return None
        return RouteRead(webhook.enrollment_id, webhook.report.command_uuid)

    async def deliver(
        self,
        webhook: Webhook,
        delivery_id: str,
        received_at: dt.datetime,
        read: RouteRead | None = None,
    ) -> Delivered:
        """``read``: the route as read when the webhook was accepted; without it (the relay's
        later attempts) the route is looked up now."""
        try:
            if webhook.report is not None:
                return await self._route_report(webhook, webhook.report, delivery_id, read)
            if webhook.checkin is not None:
                await self._events.checkin(
                    webhook.enrollment_id,
                    webhook.checkin,
                    webhook.url_params,
                    webhook.token_update_tally,
                    delivery_id,
                )
            else:
                await self._events.idle(
                    webhook.enrollment_id, webhook.url_params, received_at, delivery_id
                )
        except RPCError as exc:
            if is_temporal_outage(exc):
                raise DeliveryDeferredError(f"Temporal is unavailable: {exc.message}") from exc
            return Delivered(IntakeOutcome.REFUSED, f"Temporal refused: {exc.message}")
        return DONE

    async def _route_report(
        self, webhook: Webhook, report: ParsedReport, delivery_id: str, read: RouteRead | None
    ) -> Delivered:
        target = webhook.enrollment_id
        fields = webhook.log_fields
        route = webhook.carried_route
        recorded = route is None
        if route is None:
            if read is not None and read.done:
                route = read.route
            else:
                route = await self._routes.lookup(target, report.command_uuid)
        if route is None:
            log.info("ignoring report for an unknown command", extra=fields)
            return Delivered(IntakeOutcome.UNROUTED)
        signal = await self._signal_payload(route.request_type, target, report, webhook.url_params)
        await self._events.command_response(signal, delivery_id)
        try:
            await self._client.get_workflow_handle(route.workflow_id).signal(
                COMMAND_REPORT_SIGNAL, signal
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            log.info(
                "ignoring report for a finished workflow",
                extra={**fields, "workflow_id": route.workflow_id},
            )
            return Delivered(
                IntakeOutcome.WORKFLOW_GONE,
                route.workflow_id,
                also=partial(forget_route, target, report.command_uuid) if recorded else None,
            )
        log.debug(
            "routed report",
            extra={**fields, "workflow_id": route.workflow_id, "status": report.status.value},
        )
        if report.status.is_final and recorded:
            return Delivered(also=partial(forget_route, target, report.command_uuid))
        return DONE

    async def _signal_payload(
        self, request_type: str, target: str, report: ParsedReport, params: dict[str, str]
    ) -> CommandReport:
        """Big payloads and error chains go to the app database, so a signal stays small
        whatever the device sent; the workflow gets a reference and a bounded chain."""
        payload = report.payload
        ref = chain_ref = None
        if len(json.dumps(payload)) > self._inline_limit:
            ref = PayloadStore.ref_for(target, report.command_uuid)
            await self._payloads.put(ref, payload)
        chain = report.error_chain
        whole_chain = [item.model_dump(mode="json", by_alias=True) for item in chain]
        if len(chain) > MAX_CHAIN_ITEMS or len(json.dumps(whole_chain)) > self._inline_limit:
            chain_ref = PayloadStore.ref_for(target, report.command_uuid) + "/ErrorChain"
            await self._payloads.put(chain_ref, {"ErrorChain": list(whole_chain)})
            chain = bounded_error_chain(chain)
        return CommandReport(
            command_uuid=report.command_uuid,
            enrollment_id=target,
            status=report.status,
            request_type=request_type,
            error_chain=chain,
            error_chain_ref=chain_ref,
            payload=None if ref else payload,
            payload_ref=ref,
            url_params=params,
        )
