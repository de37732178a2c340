"""The MicroMDM-style webhook body NanoMDM and MicroMDM post, as strict pydantic models.

Unknown fields are ignored (NanoCMD does the same). ``raw_payload`` is base64 of the exact body
the device sent; it is decoded strictly so a corrupt body is a 400, never a silent loss.
Every ID (topic, event ID, UDID, enrollment IDs, command UUID) follows the ID rules of
:mod:`mdmflow.mdm.limits`, and ``url_params`` its parameter limits, so validating any bytes
raises pydantic's ``ValidationError`` and nothing else; its first error names the field and the
limit.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from mdmflow.mdm.limits import BoundedID, BoundedURLParams, excerpt

CONNECT_TOPIC = "mdm.Connect"


def _strict_b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("raw_payload must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("raw_payload is not valid base64") from None


def _params(value: object) -> object:
    return {} if value is None else value


RawPayload = Annotated[bytes, BeforeValidator(_strict_b64)]
URLParams = Annotated[BoundedURLParams, BeforeValidator(_params)]


class EnrollmentIDs(BaseModel):
    """NanoMDM's ``ids`` object: the channel-precise enrollment ID (``UDID:UserID`` for users)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: BoundedID
    type: BoundedID = ""
    parent_id: BoundedID | None = None


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    udid: BoundedID = ""
    enrollment_id: BoundedID = ""
    url_params: URLParams = Field(default_factory=dict)
    raw_payload: RawPayload
    ids: EnrollmentIDs | None = None

    @property
    def target_id(self) -> str:
        """The enrollment ID commands were enqueued to: ``ids.id``, else UDID, else EnrollmentID."""
        if self.ids is not None and self.ids.id:
            return self.ids.id
        return self.udid or self.enrollment_id


class AcknowledgeEvent(_EventBase):
    status: BoundedID
    command_uuid: BoundedID = ""


class CheckinEvent(_EventBase):
    token_update_tally: int | None = None


class WebhookEvent(BaseModel):
    """One webhook POST."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    topic: BoundedID = Field(min_length=1)
    event_id: BoundedID = ""
    created_at: datetime | None = None
    acknowledge_event: AcknowledgeEvent | None = None
    checkin_event: CheckinEvent | None = None

    @field_validator("topic")
    @classmethod
    def _mdm_topic(cls, value: str) -> str:
        if not value.startswith("mdm."):
            raise ValueError(f"topic {excerpt(value)} does not start with 'mdm.'")
        return value
