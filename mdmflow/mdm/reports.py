"""Command reports: what a device answers to a command, parsed and typed.

A report is *final* when its Status is Acknowledged, Error or CommandFormatError; NotNow (and a
report without Status) never completes a command (NanoCMD ``engine/convert.go``).

Parsing raises :class:`ReportError` and nothing else, whatever the bytes: the bridge answers it
with 400, so a sender learns what is wrong and a report it accepted is one the worker can read
(every value within :mod:`mdmflow.mdm.limits`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mdmflow.mdm import limits
from mdmflow.mdm.plist import JsonValue, PlistError, dict_to_json_safe, load_dict
from mdmflow.validation import first_error

ENVELOPE_KEYS = frozenset(
    {
        "Status",
        "CommandUUID",
        "UDID",
        "EnrollmentID",
        "UserID",
        "UserShortName",
        "UserLongName",
        "EnrollmentUserID",
        "NotOnConsole",
        "ErrorChain",
        "RequestType",
    }
)


class CommandStatus(StrEnum):
    ACKNOWLEDGED = "Acknowledged"
    ERROR = "Error"
    COMMAND_FORMAT_ERROR = "CommandFormatError"
    NOT_NOW = "NotNow"
    IDLE = "Idle"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {CommandStatus.ACKNOWLEDGED, CommandStatus.ERROR, CommandStatus.COMMAND_FORMAT_ERROR}
)


class ErrorChainItem(BaseModel):
    """One entry of a report's ErrorChain; the first is the top-level error."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)
    error_code: int = Field(alias="ErrorCode")
    error_domain: str = Field(alias="ErrorDomain")
    localized_description: str = Field(default="", alias="LocalizedDescription")
    us_english_description: str | None = Field(default=None, alias="USEnglishDescription")


class ReportError(ValueError):
    """A report plist is unusable; the message says why."""


class ParsedReport(BaseModel):
    """The envelope of a device report plus its command-specific keys as JSON values."""

    model_config = ConfigDict(frozen=True)
    status: CommandStatus
    command_uuid: str = ""
    udid: str = ""
    enrollment_id: str = ""
    user_id: str = ""
    not_on_console: bool = False
    error_chain: list[ErrorChainItem] = Field(default_factory=list)
    payload: dict[str, JsonValue] = Field(default_factory=dict)

    @classmethod
    def from_plist(cls, raw: bytes) -> Self:
        """Parse the exact bytes the device sent; raise :class:`ReportError` on bad input."""
        try:
            body = load_dict(raw)
        except PlistError as exc:
            raise ReportError(str(exc)) from None
        return cls.from_dict(body)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Self:
        """Read a parsed plist; the whole body is checked against the edge limits first."""
        try:
            mapped = dict_to_json_safe(body)
        except PlistError as exc:
            raise ReportError(str(exc)) from None
        status = body.get("Status")
        if not isinstance(status, str) or not status:
            raise ReportError("report has no Status")
        try:
            parsed_status = CommandStatus(status)
        except ValueError:
            raise ReportError(f"report has unknown Status {limits.excerpt(status)}") from None
        chain_raw = body.get("ErrorChain") or []
        if not isinstance(chain_raw, list):
            raise ReportError("report ErrorChain is not an array")
        try:
            chain = [ErrorChainItem.model_validate(item) for item in chain_raw]
        except ValidationError as exc:
            raise ReportError(f"report ErrorChain is malformed: {exc.errors()[0]['msg']}") from None
        try:
            return cls(
                status=parsed_status,
                command_uuid=_id(body, "CommandUUID"),
                udid=_id(body, "UDID"),
                enrollment_id=_id(body, "EnrollmentID"),
                user_id=_id(body, "UserID"),
                not_on_console=bool(body.get("NotOnConsole", False)),
                error_chain=chain,
                payload={k: v for k, v in mapped.items() if k not in ENVELOPE_KEYS},
            )
        except ValidationError as exc:
            raise ReportError(f"report is malformed: {first_error(exc)}") from None


def _id(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise ReportError(f"report {key} is not a string")
    problem = limits.id_problem(value)
    if problem is not None:
        raise ReportError(f"{key}: {problem}")
    return value
