"""Turn one webhook body into a signal to the workflow that enqueued the command.

Everything a caller can get wrong is a :class:`WebhookRejectedError` with the reason (HTTP 400).
Reports for commands no workflow waits for (foreign, late, finished) are ignored: the MDM
server must not retry them, and NanoCMD answers them 200 too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from enum import StrEnum

from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from mdmflow.bridge.events import EventDispatcher
from mdmflow.mdm.checkin import CHECKIN_TYPES, CheckinError, parse_checkin
from mdmflow.mdm.reports import CommandStatus, ParsedReport, ReportError
from mdmflow.mdm.webhook import CONNECT_TOPIC, AcknowledgeEvent, CheckinEvent, WebhookEvent
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.routes import RouteStore
from mdmflow.validation import first_error
from mdmflow.workflows.models import COMMAND_REPORT_SIGNAL, CommandReport

log = logging.getLogger(__name__)


class WebhookRejectedError(ValueError):
    """The body is not a usable webhook; the message is returned to the sender."""


class TemporalUnavailableError(RuntimeError):
    """The report was valid but Temporal did not take the signal; the sender should retry."""


class WebhookOutcome(StrEnum):
    SIGNALLED = "signalled"
    UNROUTED = "unrouted"
    WORKFLOW_GONE = "workflow_gone"
    IDLE = "idle"
    CHECKIN = "checkin"
    IGNORED = "ignored"


class WebhookHandler:
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

    async def handle(self, body: bytes) -> WebhookOutcome:
        event = parse_event(body)
        try:
            if event.topic != CONNECT_TOPIC:
                return await self._checkin(event)
            ack = event.acknowledge_event
            if ack is None:
                raise WebhookRejectedError("mdm.Connect webhook has no acknowledge_event")
            if ack.status == CommandStatus.IDLE:
                await self._events.idle(_target(ack), ack.url_params, dt.datetime.now(dt.UTC))
                return WebhookOutcome.IDLE
            return await self._route_report(ack)
        except RPCError as exc:
            raise TemporalUnavailableError(f"Temporal is unavailable: {exc.message}") from exc

    async def _checkin(self, event: WebhookEvent) -> WebhookOutcome:
        checkin = event.checkin_event
        if checkin is None:
            raise WebhookRejectedError(f"{event.topic} webhook has no checkin_event")
        message_type = event.topic.removeprefix("mdm.")
        if message_type not in CHECKIN_TYPES:
            return WebhookOutcome.IGNORED
        try:
            message = parse_checkin(checkin.raw_payload, message_type)
        except CheckinError as exc:
            raise WebhookRejectedError(f"raw_payload: {exc}") from None
        await self._events.checkin(
            _target(checkin), message, checkin.url_params, checkin.token_update_tally
        )
        return WebhookOutcome.CHECKIN

    async def _route_report(self, ack: AcknowledgeEvent) -> WebhookOutcome:
        try:
            report = ParsedReport.from_plist(ack.raw_payload)
        except ReportError as exc:
            raise WebhookRejectedError(f"raw_payload: {exc}") from None
        if not report.command_uuid:
            raise WebhookRejectedError("raw_payload: report has no CommandUUID")
        if ack.command_uuid and ack.command_uuid != report.command_uuid:
            raise WebhookRejectedError(
                f"command_uuid {ack.command_uuid!r} differs from the report's "
                f"CommandUUID {report.command_uuid!r}"
            )
        target = _target(ack)
        route = await self._routes.lookup(target, report.command_uuid)
        fields = {"enrollment_id": target, "command_uuid": report.command_uuid}
        if route is None:
            log.info("ignoring report for an unknown command", extra=fields)
            return WebhookOutcome.UNROUTED
        signal = await self._signal_payload(route.request_type, target, report, ack.url_params)
        await self._events.command_response(signal)
        try:
            await self._client.get_workflow_handle(route.workflow_id).signal(
                COMMAND_REPORT_SIGNAL, signal
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                log.info(
                    "ignoring report for a finished workflow",
                    extra={**fields, "workflow_id": route.workflow_id},
                )
                await self._routes.forget(target, report.command_uuid)
                return WebhookOutcome.WORKFLOW_GONE
            raise TemporalUnavailableError(
                f"Temporal did not accept the signal: {exc.message}"
            ) from exc
        if report.status.is_final:
            await self._routes.forget(target, report.command_uuid)
        log.info(
            "routed report",
            extra={**fields, "workflow_id": route.workflow_id, "status": report.status.value},
        )
        return WebhookOutcome.SIGNALLED

    async def _signal_payload(
        self, request_type: str, target: str, report: ParsedReport, params: dict[str, str]
    ) -> CommandReport:
        """Big payloads go to the app database so workflow histories stay small."""
        payload = report.payload
        ref = None
        if len(json.dumps(payload)) > self._inline_limit:
            ref = PayloadStore.ref_for(target, report.command_uuid)
            await self._payloads.put(ref, payload)
            payload = {}
        return CommandReport(
            command_uuid=report.command_uuid,
            enrollment_id=target,
            status=report.status,
            request_type=request_type,
            error_chain=report.error_chain,
            payload=None if ref else payload,
            payload_ref=ref,
            url_params=params,
        )


def _target(event: AcknowledgeEvent | CheckinEvent) -> str:
    target = event.target_id
    if not target:
        raise WebhookRejectedError("event has no udid, enrollment_id or ids.id")
    return target


def parse_event(body: bytes) -> WebhookEvent:
    if not body.strip():
        raise WebhookRejectedError("empty body; expected a webhook JSON object")
    try:
        return WebhookEvent.model_validate_json(body)
    except ValidationError as exc:
        raise WebhookRejectedError(first_error(exc)) from None
