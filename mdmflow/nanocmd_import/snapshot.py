"""What was read from a NanoCMD deployment, in one shape whatever the storage it came from.

The readers (:mod:`.files`, :mod:`.mysql`, :mod:`.exports`) only translate NanoCMD's storage
into these records; nothing here is checked against mdmflow's rules yet. Deciding what can be
imported, and how, is :mod:`.plan`'s job, so both storages are judged by the same code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import JsonValue


@dataclass(frozen=True)
class NanoProfile:
    """A stored profile: its bytes as NanoCMD kept them, and the identity it recorded."""

    name: str
    raw: bytes
    identifier: str
    uuid: str


@dataclass(frozen=True)
class NanoCmdPlan:
    """A command plan as NanoCMD stored it (its JSON)."""

    name: str
    raw_json: bytes


@dataclass(frozen=True)
class NanoSubscription:
    """An event subscription; ``event`` is NanoCMD's event name (or why it has none)."""

    name: str
    event: str
    workflow: str
    context: str = ""
    event_context: str = ""


@dataclass(frozen=True)
class NanoInventory:
    """One enrollment's inventory record, secrets (``prk``, the lock PIN) included."""

    enrollment_id: str
    values: dict[str, JsonValue]


@dataclass(frozen=True)
class NanoKeyPair:
    """NanoCMD's FileVault escrow identity: the certificate devices encrypt recovery keys to."""

    certificate_der: bytes
    private_key_der: bytes
    """PKCS#1 DER, as NanoCMD writes it."""

    def __repr__(self) -> str:  # the key never reaches a log or a traceback
        return f"NanoKeyPair(certificate={len(self.certificate_der)} bytes DER)"


@dataclass(frozen=True)
class NanoStart:
    """When NanoCMD last started a workflow for an enrollment (IdleNotStartedSince reads it)."""

    enrollment_id: str
    workflow: str
    started_at: dt.datetime


@dataclass(frozen=True)
class NanoStep:
    """A step NanoCMD still waits on: commands sent (or due) with no final answer yet."""

    workflow: str
    step: str
    instance_id: str
    enrollment_ids: tuple[str, ...]
    """The enrollments with at least one command of the step not yet answered."""
    not_until: dt.datetime | None = None
    """Set when the step's commands were not sent yet (NanoCMD's NotUntil)."""


@dataclass(frozen=True)
class Unreadable:
    """Something in NanoCMD's storage that could not be read, and why."""

    kind: str
    name: str
    reason: str


@dataclass
class NanoCMDSnapshot:
    """Everything read from one NanoCMD deployment."""

    source: str
    """Where it came from, for the report (no password)."""
    profiles: list[NanoProfile] = field(default_factory=list)
    cmdplans: list[NanoCmdPlan] = field(default_factory=list)
    subscriptions: list[NanoSubscription] = field(default_factory=list)
    inventory: list[NanoInventory] = field(default_factory=list)
    key_pair: NanoKeyPair | None = None
    starts: list[NanoStart] = field(default_factory=list)
    steps: list[NanoStep] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the reader wants the admin to know (e.g. data this storage never kept)."""


EVENT_NAMES: dict[int, str] = {
    1: "AllCommandResponse",
    2: "Authenticate",
    4: "TokenUpdate",
    8: "Enrollment",
    16: "CheckOut",
    32: "Idle",
    64: "IdleNotStartedSince",
}
"""NanoCMD's persisted event flags (``workflow/event.go``) and their API names."""


def event_name(flag: int) -> str:
    """The API name of a stored event flag; NanoCMD's own text for one it does not know."""
    return EVENT_NAMES.get(flag, f"unknown event type: {flag}")


def parse_go_time(text: str) -> dt.datetime | None:
    """A Go ``time.Time`` in its text form (RFC 3339, up to nanoseconds); None for Go's zero
    time, which NanoCMD reads as "never started"."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    head, dot, rest = value.partition(".")
    if dot:  # Python reads at most microseconds: drop the nanosecond digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed.year == 1:
        return None
    return parsed
