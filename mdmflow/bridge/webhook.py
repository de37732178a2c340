"""Read one webhook body: validate it fully before it is accepted into the intake.

Everything a sender can get wrong is a :class:`WebhookRejectedError` with the reason (HTTP 400),
decided here, before the body is committed: a webhook the bridge answered 200 must be
deliverable later from its stored bytes alone. Topics nobody acts on are read as ``None``
(answered 200 and dropped, as NanoCMD does).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pydantic import ValidationError

from mdmflow.mdm.checkin import (
    CHECKIN_TYPES,
    Authenticate,
    CheckinError,
    CheckOut,
    TokenUpdate,
    parse_checkin,
)
from mdmflow.mdm.reports import CommandStatus, ParsedReport, ReportError
from mdmflow.mdm.webhook import CONNECT_TOPIC, AcknowledgeEvent, CheckinEvent, WebhookEvent
from mdmflow.store.intake import IntakeKind
from mdmflow.store.routes import Route
from mdmflow.validation import first_error
from mdmflow.workflows.carried_route import carried_route


class WebhookRejectedError(ValueError):
    """The body is not a usable webhook; the message is returned to the sender."""


@dataclass(frozen=True)
class Webhook:
    """A validated webhook: what the intake stores about it and what delivery needs."""

    kind: IntakeKind
    enrollment_id: str
    url_params: dict[str, str]
    report: ParsedReport | None = None
    checkin: Authenticate | TokenUpdate | CheckOut | None = None
    token_update_tally: int | None = None

    @property
    def command_uuid(self) -> str:
        return self.report.command_uuid if self.report else ""

    @functools.cached_property
    def carried_route(self) -> Route | None:
        """The route a report's UUID carries (``workflows.carried_route``), rebuilt with this
        webhook's enrollment ID, or None (not a report, or a bare UUID): read once, as both
        the intake and delivery ask."""
        if self.report is None:
            return None
        uuid = self.report.command_uuid
        carried = carried_route(uuid)
        if carried is None:
            return None
        return Route(
            enrollment_id=self.enrollment_id,
            command_uuid=uuid,
            workflow_id=carried.workflow_id(self.enrollment_id),
            workflow_name=carried.workflow_name,
            request_type=carried.request_type,
            step="",
        )

    @property
    def log_fields(self) -> dict[str, str]:
        """What every log line about this webhook names."""
        return {"enrollment_id": self.enrollment_id, "command_uuid": self.command_uuid}


def read_webhook(body: bytes) -> Webhook | None:
    """The webhook in ``body``, or ``None`` for a topic mdmflow does not act on."""
    event = _parse_event(body)
    if event.topic != CONNECT_TOPIC:
        return _read_checkin(event)
    ack = event.acknowledge_event
    if ack is None:
        raise WebhookRejectedError("mdm.Connect webhook has no acknowledge_event")
    if ack.status == CommandStatus.IDLE:
        return Webhook(kind=IntakeKind.IDLE, enrollment_id=_target(ack), url_params=ack.url_params)
    return _read_report(ack)


def _read_checkin(event: WebhookEvent) -> Webhook | None:
    checkin = event.checkin_event
    if checkin is None:
        raise WebhookRejectedError(f"{event.topic} webhook has no checkin_event")
    message_type = event.topic.removeprefix("mdm.")
    if message_type not in CHECKIN_TYPES:
        return None
    try:
        message = parse_checkin(checkin.raw_payload, message_type)
    except CheckinError as exc:
        raise WebhookRejectedError(f"raw_payload: {exc}") from None
    return Webhook(
        kind=IntakeKind.CHECKIN,
        enrollment_id=_target(checkin),
        url_params=checkin.url_params,
        checkin=message,
        token_update_tally=checkin.token_update_tally,
    )


def _read_report(ack: AcknowledgeEvent) -> Webhook:
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
    return Webhook(
        kind=IntakeKind.REPORT, enrollment_id=_target(ack), url_params=ack.url_params, report=report
    )


def _target(event: AcknowledgeEvent | CheckinEvent) -> str:
    target = event.target_id
    if not target:
        raise WebhookRejectedError("event has no udid, enrollment_id or ids.id")
    return target


def _parse_event(body: bytes) -> WebhookEvent:
    if not body.strip():
        raise WebhookRejectedError("empty body; expected a webhook JSON object")
    try:
        return WebhookEvent.model_validate_json(body)
    except ValidationError as exc:
        raise WebhookRejectedError(first_error(exc)) from None
