"""Check-in messages (Authenticate, TokenUpdate, CheckOut) as typed models.

Every key Apple documents is a field; any other key a device sends is kept (``extra="allow"``)
so an event hands the workflow everything the device said. ``<data>`` values arrive as base64
text (see :func:`mdmflow.mdm.plist.to_json_safe`) and are declared ``Base64Bytes``.

:func:`parse_checkin` raises :class:`CheckinError` and nothing else, whatever the bytes: the
bridge answers it with 400. Every value is held to :mod:`mdmflow.mdm.limits`, and the IDs
(Topic, UDID, EnrollmentID, EnrollmentUserID, UserID) to the ID rules, because the bridge
cancels and starts workflows by them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from mdmflow.mdm import limits
from mdmflow.mdm.plist import PlistError, dict_to_json_safe, load_dict
from mdmflow.validation import first_error


class CheckinError(ValueError):
    """A check-in plist is unusable; the message says why."""


class _Checkin(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)
    topic: str = Field(default="", alias="Topic")
    udid: str = Field(default="", alias="UDID")
    enrollment_id: str = Field(default="", alias="EnrollmentID")
    enrollment_user_id: str = Field(default="", alias="EnrollmentUserID")
    user_id: str = Field(default="", alias="UserID")
    user_short_name: str = Field(default="", alias="UserShortName")
    user_long_name: str = Field(default="", alias="UserLongName")


class Authenticate(_Checkin):
    message_type: Literal["Authenticate"] = Field(alias="MessageType")
    build_version: str = Field(default="", alias="BuildVersion")
    device_name: str = Field(default="", alias="DeviceName")
    imei: str = Field(default="", alias="IMEI")
    meid: str = Field(default="", alias="MEID")
    model: str = Field(default="", alias="Model")
    model_name: str = Field(default="", alias="ModelName")
    os_version: str = Field(default="", alias="OSVersion")
    product_name: str = Field(default="", alias="ProductName")
    serial_number: str = Field(default="", alias="SerialNumber")
    challenge: Base64Bytes | None = Field(default=None, alias="Challenge")


class TokenUpdate(_Checkin):
    message_type: Literal["TokenUpdate"] = Field(alias="MessageType")
    token: Base64Bytes | None = Field(default=None, alias="Token")
    push_magic: str = Field(default="", alias="PushMagic")
    unlock_token: Base64Bytes | None = Field(default=None, alias="UnlockToken")
    awaiting_configuration: bool = Field(default=False, alias="AwaitingConfiguration")
    not_on_console: bool = Field(default=False, alias="NotOnConsole")


class CheckOut(_Checkin):
    message_type: Literal["CheckOut"] = Field(alias="MessageType")


Checkin = Annotated[Authenticate | TokenUpdate | CheckOut, Field(discriminator="message_type")]
CHECKIN_TYPES = frozenset({"Authenticate", "TokenUpdate", "CheckOut"})
_ADAPTER: TypeAdapter[Authenticate | TokenUpdate | CheckOut] = TypeAdapter(Checkin)
ID_FIELDS = ("topic", "udid", "enrollment_id", "enrollment_user_id", "user_id")


def parse_checkin(raw: bytes, message_type: str) -> Authenticate | TokenUpdate | CheckOut:
    """Parse a check-in plist whose MessageType must be ``message_type`` (from the topic)."""
    try:
        body = dict_to_json_safe(load_dict(raw))
    except PlistError as exc:
        raise CheckinError(str(exc)) from None
    found = body.get("MessageType")
    if found != message_type:
        raise CheckinError(
            f"MessageType is {limits.excerpt(found)}, expected {limits.excerpt(message_type)}"
        )
    try:
        message = _ADAPTER.validate_python(body)
    except ValidationError as exc:
        raise CheckinError(f"{message_type} check-in is malformed: {first_error(exc)}") from None
    if message.message_type != message_type:  # a "message_type" key can steer the union
        raise CheckinError(f"message_type is {message.message_type!r}, expected {message_type!r}")
    for name in ID_FIELDS:
        problem = limits.id_problem(getattr(message, name))
        if problem is not None:
            alias = type(message).model_fields[name].alias or name
            raise CheckinError(f"{alias}: {problem}")
    return message
