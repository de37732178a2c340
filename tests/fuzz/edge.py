"""The webhook edge as pure code: what the bridge parses before anything touches Temporal.

:func:`read` runs a body through the three parsers in the bridge's order (an Idle's report is
not parsed: the bridge acts on its status alone). Any body must either read or raise one of
:data:`DOCUMENTED`, the errors the bridge answers with 400.
"""

from __future__ import annotations

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
from mdmflow.mdm.webhook import CONNECT_TOPIC, WebhookEvent

DOCUMENTED = (ValidationError, ReportError, CheckinError)


@dataclass(frozen=True)
class Reading:
    """The event, and the report or check-in its ``raw_payload`` holds (None for a topic
    nobody parses)."""

    event: WebhookEvent
    content: ParsedReport | Authenticate | TokenUpdate | CheckOut | None

    def ids(self) -> list[str]:
        """Every ID the bridge may use as a key, a workflow ID or in a query."""
        found = [self.event.topic, self.event.event_id]
        for inner in (self.event.acknowledge_event, self.event.checkin_event):
            if inner is None:
                continue
            found += [inner.udid, inner.enrollment_id, *inner.url_params]
            if inner.ids is not None:
                found += [inner.ids.id, inner.ids.type, inner.ids.parent_id or ""]
        if self.event.acknowledge_event is not None:
            found.append(self.event.acknowledge_event.command_uuid)
        content = self.content
        if isinstance(content, ParsedReport):
            found += [content.command_uuid, content.udid, content.enrollment_id, content.user_id]
        elif content is not None:
            found += [content.topic, content.udid, content.enrollment_id, content.user_id]
            found.append(content.enrollment_user_id)
        return found


def read(body: bytes) -> Reading:
    """Parse ``body`` as the bridge does; raises one of :data:`DOCUMENTED` when it cannot."""
    event = WebhookEvent.model_validate_json(body)
    ack = event.acknowledge_event
    if event.topic == CONNECT_TOPIC and ack is not None and ack.status != CommandStatus.IDLE:
        return Reading(event, ParsedReport.from_plist(ack.raw_payload))
    message_type = event.topic.removeprefix("mdm.")
    if event.checkin_event is not None and message_type in CHECKIN_TYPES:
        return Reading(event, parse_checkin(event.checkin_event.raw_payload, message_type))
    return Reading(event, None)
