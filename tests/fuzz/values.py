"""Seeded random pieces of webhook bodies: IDs, plist values, reports and check-in messages.

Everything takes a :class:`random.Random`, so one seed always gives the same bytes. The IDs
include the awkward but allowed characters (quotes, ``OR``, ``%``, backslashes, non-ASCII)
that a visibility query or a database key must carry exactly.
"""

from __future__ import annotations

import datetime as dt
import math
import plistlib
import random
import re
import uuid
from typing import Any

STATUSES = ("Acknowledged", "Error", "CommandFormatError", "NotNow", "Idle")
CHECKIN_TYPES = ("Authenticate", "TokenUpdate", "CheckOut")
OTHER_CHECKIN_TYPES = ("UserAuthenticate", "DeclarativeManagement", "SetBootstrapToken")
AWKWARD_IDS = (
    "dev'ice",
    'dev"ice',
    "x' OR MdmEnrollmentId = 'y",
    "a%b_c",
    "back\\slash",
    "'quoted'",
    "Gerät-ü-日本",
    "with space",
)
CONTROL_CHARACTERS = ("\x00", "\x01", "\x09", "\x0a", "\x1f", "\x7f", "\x85", "\x9f")
BIG_INT = "__integer__"
_BIG_INT = re.compile(rb"<string>" + BIG_INT.encode() + rb"(-?[0-9]+)</string>")
TEXTS = ("", "a", "Ünïcødé ✓", "tab\there", "line\nbreak", "{braces}", "%s %d", "'\"\\")


def udid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128))).upper()


def enrollment_id(rng: random.Random) -> str:
    """Mostly device UDIDs, sometimes a user channel, sometimes an awkward allowed ID."""
    roll = rng.random()
    if roll < 0.6:
        return udid(rng)
    if roll < 0.8:
        return f"{udid(rng)}:{udid(rng)}"
    return f"{rng.choice(AWKWARD_IDS)}-{rng.getrandbits(32):08x}"


def command_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def text(rng: random.Random, size: int | None = None) -> str:
    if size is not None:
        return rng.choice("xyz€") * size
    if rng.random() < 0.5:
        return rng.choice(TEXTS)
    alphabet = "abcXYZ019 -_.:/'\"\\é日\u2028"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))


def scalar(rng: random.Random, *, xml: bool, edgy: bool = False) -> Any:
    """A plist scalar a device could send; with ``edgy`` also the values no device sends
    (non-finite reals, integers beyond 64 bits)."""
    kind = rng.randrange(9)
    if kind == 0:
        return text(rng).replace("\u2028", "") if xml else text(rng)
    if kind == 1:
        return rng.choice([0, 1, -1, 2**31, 2**63 - 1, -(2**63), rng.getrandbits(40)])
    if kind == 2:
        odd = [math.nan, math.inf, -math.inf] if edgy else []
        return rng.choice([0.0, -0.0, 1.5, 1e308, 2.5e-308, *odd])
    if kind == 3:
        return rng.random() < 0.5
    if kind == 4:
        return rng.randbytes(rng.randrange(48))
    if kind == 5:
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=rng.randrange(2**32))
    if kind == 6 and not xml:
        return plistlib.UID(rng.randrange(2**32))
    if kind == 7 and edgy:  # plistlib writes no integer beyond 64 bits: see dump()
        return f"{BIG_INT}{rng.choice([2**64, -(2**63) - 1, 10**30])}" if xml else 2**64 - 1
    return text(rng)


def plist_value(rng: random.Random, depth: int = 0, *, xml: bool, edgy: bool = False) -> Any:
    """A random plist value nesting at most 6 levels below ``depth`` (as real answers do)."""
    if depth >= 6 or rng.random() < 0.5:
        return scalar(rng, xml=xml, edgy=edgy)
    if rng.random() < 0.5:
        return [plist_value(rng, depth + 1, xml=xml, edgy=edgy) for _ in range(rng.randrange(5))]
    return {
        f"Key{i}{text(rng)[:8]}": plist_value(rng, depth + 1, xml=xml, edgy=edgy)
        for i in range(rng.randrange(5))
    }


def error_chain(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "ErrorCode": rng.randrange(-5, 20000),
            "ErrorDomain": rng.choice(["MCProfileErrorDomain", "MDMErrorDomain"]),
            "LocalizedDescription": text(rng),
            "USEnglishDescription": text(rng),
        }
        for _ in range(rng.randrange(1, 4))
    ]


def report(rng: random.Random, *, xml: bool, device: str | None = None) -> dict[str, Any]:
    """A report as a device sends it: envelope plus a few command-specific keys."""
    status = rng.choice(STATUSES)
    body: dict[str, Any] = {"Status": status, "UDID": device or udid(rng)}
    if status != "Idle":
        body["CommandUUID"] = command_uuid(rng)
    if status == "Error":
        body["ErrorChain"] = error_chain(rng)
    for i in range(rng.randrange(4)):
        body[f"Answer{i}"] = plist_value(rng, 1, xml=xml)
    if rng.random() < 0.2:
        body["UserID"] = udid(rng)
    return body


def checkin(rng: random.Random, message_type: str, device: str | None = None) -> dict[str, Any]:
    """A check-in message of ``message_type`` with the keys Apple documents for it."""
    body: dict[str, Any] = {
        "MessageType": message_type,
        "Topic": f"com.apple.mgmt.External.{command_uuid(rng)}",
        "UDID": device or udid(rng),
    }
    if message_type == "Authenticate":
        body.update(BuildVersion="22A380", SerialNumber="C02XYZ", Model="Mac14,2")
    if message_type == "TokenUpdate":
        body.update(Token=rng.randbytes(32), PushMagic=command_uuid(rng))
        if rng.random() < 0.3:
            body["AwaitingConfiguration"] = True
    return body


def dump(value: dict[str, Any], *, xml: bool) -> bytes:
    """The plist bytes of ``value``; XML when asked and possible, else binary. In XML a
    ``BIG_INT`` string becomes the ``<integer>`` it names."""
    if xml:
        try:
            raw = plistlib.dumps(value, fmt=plistlib.FMT_XML)
            return _BIG_INT.sub(rb"<integer>\1</integer>", raw)
        except (ValueError, TypeError, OverflowError):
            pass  # control characters or UIDs: only a binary plist carries them
    return plistlib.dumps(value, fmt=plistlib.FMT_BINARY)


def xml_nested(depth: int, top: dict[str, Any]) -> bytes:
    """An XML plist of ``top`` plus ``Deep``: ``depth`` nested arrays, written as text because
    plistlib's writer recurses."""
    head = plistlib.dumps(top, fmt=plistlib.FMT_XML)
    deep = b"<key>Deep</key>" + b"<array>" * depth + b"<string>x</string>" + b"</array>" * depth
    end = b"</dict>\n</plist>"
    if not head.endswith(end + b"\n"):
        raise ValueError("xml_nested needs a non-empty dictionary")
    return head.replace(end, deep + end)
