"""Seeded webhook bodies, by kind, as a hostile or broken sender would post them.

:func:`body` makes one body of a kind from a :class:`random.Random`; :func:`bodies` makes a
seeded series that cycles through every kind. The property tests draw (kind, seed) pairs and
``python -m tests.fuzz`` posts 10,000+ of them to a bridge, so both meet the same bodies.
``huge`` bounds the "huge" strings: the tests keep it small, the runner passes the bridge's
body limit and beyond.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from tests.fuzz import bplist, values

Json = Any
DEFAULT_HUGE = 256 * 1024


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def event(
    rng: random.Random, raw: bytes, *, topic: str = "mdm.Connect", eid: str | None = None
) -> dict[str, Json]:
    """A webhook event around ``raw``, in NanoMDM's shape or MicroMDM's."""
    device = values.udid(rng)
    inner: dict[str, Json] = {"udid": device, "raw_payload": b64(raw)}
    if rng.random() < 0.5:  # NanoMDM: ids names the channel
        channel = eid or device
        inner["ids"] = {"id": channel, "type": "Device" if channel == device else "User"}
    else:  # MicroMDM: url_params null, no ids
        inner["url_params"] = None
        if eid is not None:
            inner["udid"] = eid
    if rng.random() < 0.3:
        inner["url_params"] = {"site": rng.choice(["hq", "lab 2", "Zürich", "a&b=c"])}
    body: dict[str, Json] = {"topic": topic, "event_id": values.command_uuid(rng)}
    if rng.random() < 0.7:
        body["created_at"] = "2025-01-02T03:04:05.123456789Z"
    if topic == "mdm.Connect":
        inner["status"] = rng.choice(values.STATUSES)
        body["acknowledge_event"] = inner
    else:
        if topic == "mdm.TokenUpdate" and rng.random() < 0.5:
            inner["token_update_tally"] = rng.choice([1, 2, 7])
        body["checkin_event"] = inner
    return body


def report_event(
    rng: random.Random, report: dict[str, Json] | None = None, *, xml: bool | None = None
) -> dict[str, Json]:
    """A webhook event around ``report`` (a random one if None) as an XML or binary plist."""
    xml = rng.random() < 0.5 if xml is None else xml
    report = report or values.report(rng, xml=xml)
    raw = values.dump(report, xml=xml)
    body = event(rng, raw, eid=values.enrollment_id(rng) if rng.random() < 0.3 else None)
    ack = body["acknowledge_event"]
    ack["status"] = report["Status"]
    if "CommandUUID" in report and rng.random() < 0.7:
        ack["command_uuid"] = report["CommandUUID"]
    return body


def checkin_event(rng: random.Random, message_type: str | None = None) -> dict[str, Json]:
    kind = message_type or rng.choice(values.CHECKIN_TYPES + values.OTHER_CHECKIN_TYPES)
    eid = values.enrollment_id(rng)
    message = values.checkin(rng, kind, device=eid.split(":")[0])
    raw = values.dump(message, xml=rng.random() < 0.5)
    return event(rng, raw, topic=f"mdm.{kind}", eid=eid)


def valid_event(rng: random.Random) -> dict[str, Json]:
    return report_event(rng) if rng.random() < 0.6 else checkin_event(rng)


def encode(body: Json) -> bytes:
    return json.dumps(body).encode()


def random_json(rng: random.Random, depth: int = 0) -> Json:
    roll = rng.randrange(8 if depth < 3 else 6)
    choices: list[Callable[[], Json]] = [
        lambda: None,
        lambda: rng.random() < 0.5,
        lambda: rng.choice([0, -1, 2**70, 1.5, 1e308]),
        lambda: values.text(rng),
        lambda: "",
        lambda: b64(rng.randbytes(8)),
        lambda: [random_json(rng, depth + 1) for _ in range(rng.randrange(3))],
        lambda: {values.text(rng): random_json(rng, depth + 1) for _ in range(rng.randrange(3))},
    ]
    return choices[roll]()


def _paths(body: dict[str, Json]) -> list[tuple[dict[str, Json], str]]:
    """Every (dictionary, key) of a webhook event, nested ones included."""
    found: list[tuple[dict[str, Json], str]] = []
    stack = [body]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            found.append((node, key))
            if isinstance(value, dict):
                stack.append(value)
    return found


def _random_bytes(rng: random.Random, huge: int) -> bytes:
    raw = rng.randbytes(rng.choice([0, 1, 2, 16, 256, 4096]))
    prefix = rng.choice([b"", b"{", b'{"topic": "mdm.Connect", ', b"\xef\xbb\xbf{"])
    return prefix + raw


def _truncated_json(rng: random.Random, huge: int) -> bytes:
    raw = encode(valid_event(rng))
    return raw[: rng.randrange(len(raw))]


def _wrong_types(rng: random.Random, huge: int) -> bytes:
    if rng.random() < 0.1:
        return encode(random_json(rng))
    body = valid_event(rng)
    for _ in range(rng.randrange(1, 3)):
        node, key = rng.choice(_paths(body))
        node[key] = random_json(rng)
    return encode(body)


BAD_BASE64 = (
    "not base64!",
    "QUJ",
    "QUJDRA=",
    "====",
    "QUJD\nRA==",
    "QUJD RA==",
    "ÄÖÜ",
    "-_-_",
    "QUJDRA==QUJDRA==",
    "\u0000",
)


def _bad_base64(rng: random.Random, huge: int) -> bytes:
    body = valid_event(rng)
    inner = body.get("acknowledge_event") or body["checkin_event"]
    inner["raw_payload"] = rng.choice(BAD_BASE64) * rng.choice([1, 1, 3, 1000])
    return encode(body)


DEPTHS = (5, 31, 32, 33, 100, 199, 200, 201, 1000, 5000)


PLACEHOLDER = "__DEEP__"


def _deep_json(rng: random.Random, huge: int) -> bytes:
    depth = rng.choice(DEPTHS)
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    deep = (opener * depth + "1" + closer * depth).encode()
    where = rng.randrange(5)
    if where == 0:
        return deep
    body = valid_event(rng)
    inner = body.get("acknowledge_event") or body["checkin_event"]
    if where == 1:
        body["extra"] = PLACEHOLDER
    elif where == 2:
        inner["extra"] = PLACEHOLDER
    elif where == 3:
        inner["url_params"] = PLACEHOLDER
    else:
        inner["ids"] = {"id": PLACEHOLDER, "type": "Device"}
    return encode(body).replace(json.dumps(PLACEHOLDER).encode(), deep)


def _deep_plist(rng: random.Random, huge: int) -> bytes:
    depth = rng.choice((30, 31, 32, 33, 34, 100, 300, 900, 3000))
    top: dict[str, Json]
    if rng.random() < 0.6:
        top = {"Status": "Acknowledged", "UDID": values.udid(rng)}
        top["CommandUUID"] = values.command_uuid(rng)
        topic = "mdm.Connect"
    else:
        kind = rng.choice(values.CHECKIN_TYPES)
        top = values.checkin(rng, kind)
        topic = f"mdm.{kind}"
        if kind == "TokenUpdate":
            top["Token"] = b"\x01"
    if rng.random() < 0.5:
        raw = bplist.nested(depth, top_keys=top)
    else:
        raw = values.xml_nested(depth, top)
    return encode(event(rng, raw, topic=topic))


WEBHOOK_ID_KEYS = ("topic", "event_id", "udid", "enrollment_id", "command_uuid", "status")
PLIST_ID_KEYS = ("UDID", "CommandUUID", "EnrollmentID", "UserID")
CHECKIN_ID_KEYS = ("UDID", "Topic", "EnrollmentID", "EnrollmentUserID", "UserID")


def _with_control(rng: random.Random, value: str) -> str:
    char = rng.choice(values.CONTROL_CHARACTERS)
    at = rng.randrange(len(value) + 1)
    return value[:at] + char + value[at:]


def _control_chars(rng: random.Random, huge: int) -> bytes:
    where = rng.randrange(5)
    if where == 0:  # an ID of the webhook itself
        body = valid_event(rng)
        inner = body.get("acknowledge_event") or body["checkin_event"]
        key = rng.choice(WEBHOOK_ID_KEYS)
        holder = body if key in ("topic", "event_id") else inner
        holder[key] = _with_control(rng, str(holder.get(key) or "mdm.Connect"))
        return encode(body)
    if where == 1:  # ids.id / url_params
        body = valid_event(rng)
        inner = body.get("acknowledge_event") or body["checkin_event"]
        if rng.random() < 0.5:
            inner["ids"] = {"id": _with_control(rng, values.udid(rng)), "type": "Device"}
        else:
            inner["url_params"] = {_with_control(rng, "site"): _with_control(rng, "hq")}
        return encode(body)
    if where == 2:  # an ID inside a report
        report = values.report(rng, xml=False)
        key = rng.choice(PLIST_ID_KEYS)
        report[key] = _with_control(rng, str(report.get(key, "")))
        return encode(report_event(rng, report))
    if where == 3:  # an ID inside a check-in
        kind = rng.choice(values.CHECKIN_TYPES)
        message = values.checkin(rng, kind)
        key = rng.choice(CHECKIN_ID_KEYS)
        message[key] = _with_control(rng, str(message.get(key, "")))
        return encode(event(rng, values.dump(message, xml=False), topic=f"mdm.{kind}"))
    raw = encode(valid_event(rng))  # a raw, unescaped control byte inside the JSON text
    at = rng.randrange(len(raw))
    return raw[:at] + bytes([rng.choice([0, 1, 10, 31])]) + raw[at:]


def _huge_strings(rng: random.Random, huge: int) -> bytes:
    size = rng.choice([huge // 4, huge // 2, huge, huge + 1, rng.randrange(1, huge + 1)])
    big = values.text(rng, size)
    where = rng.randrange(6)
    if where == 0:  # an ErrorChain entry, as the fuzz run that lost a 2.5 MiB chain
        report = values.report(rng, xml=True)
        report["Status"] = "Error"
        report["ErrorChain"] = values.error_chain(rng)
        report["ErrorChain"][0]["LocalizedDescription"] = big
        return encode(report_event(rng, report))
    if where == 1:  # a payload value, text or data
        report = values.report(rng, xml=True)
        report["Answer"] = big if rng.random() < 0.5 else big.encode()[:size]
        return encode(report_event(rng, report))
    if where == 2:  # an ID inside the report
        report = values.report(rng, xml=True)
        report[rng.choice(PLIST_ID_KEYS)] = big
        return encode(report_event(rng, report))
    body = valid_event(rng)
    inner = body.get("acknowledge_event") or body["checkin_event"]
    if where == 3:
        inner[rng.choice(("udid", "enrollment_id", "command_uuid"))] = big
    elif where == 4:
        inner["url_params"] = {"site": big}
    else:
        body["unknown"] = big
    return encode(body)


def _plist_values(rng: random.Random, huge: int) -> bytes:
    xml = rng.random() < 0.5
    report = values.report(rng, xml=xml)
    report["Odd"] = [values.scalar(rng, xml=xml, edgy=True) for _ in range(rng.randrange(1, 6))]
    return encode(report_event(rng, report, xml=xml))


def _bplist_tricks(rng: random.Random, huge: int) -> bytes:
    top: dict[str, bplist.Obj] = {"Status": "Acknowledged", "CommandUUID": values.command_uuid(rng)}
    trick = rng.randrange(5)
    if trick == 0:
        raw = bplist.shared(rng.randrange(8, 31), rng.randrange(2, 5), top_keys=top)
    elif trick == 1:
        raw = bplist.cyclic(top_keys=top)
    elif trick == 2:
        raw = bplist.nested(rng.choice((33, 2000)), top_keys=top)
    elif trick == 3:  # a key that is not a string (an integer)
        raw = bplist.write([bplist.Dict([(1, 2), (3, 4)]), "Status", "Acknowledged", 7, "x"])
    else:  # references past the object table
        raw = bplist.write([bplist.Dict([(1, 9)]), "Status"])
    return encode(event(rng, raw))


def mutate(rng: random.Random, raw: bytes) -> bytes:
    """``raw`` with a few random byte flips, insertions, deletions or duplications."""
    data = bytearray(raw)
    for _ in range(rng.randrange(1, 6)):
        if not data:
            break
        at = rng.randrange(len(data))
        op = rng.randrange(4)
        if op == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[at:at] = rng.randbytes(rng.randrange(1, 4))
        elif op == 2:
            del data[at : at + rng.randrange(1, 8)]
        else:
            data[at:at] = data[at : at + rng.randrange(1, 32)]
    return bytes(data)


def _mutated_body(rng: random.Random, huge: int) -> bytes:
    return mutate(rng, encode(valid_event(rng)))


def _mutated_plist(rng: random.Random, huge: int) -> bytes:
    xml = rng.random() < 0.5
    if rng.random() < 0.6:
        raw = values.dump(values.report(rng, xml=xml), xml=xml)
        return encode(event(rng, mutate(rng, raw)))
    kind = rng.choice(values.CHECKIN_TYPES)
    raw = values.dump(values.checkin(rng, kind), xml=xml)
    return encode(event(rng, mutate(rng, raw), topic=f"mdm.{kind}"))


def _valid_report(rng: random.Random, huge: int) -> bytes:
    return encode(report_event(rng))


def _valid_checkin(rng: random.Random, huge: int) -> bytes:
    return encode(checkin_event(rng))


MAKERS: dict[str, Callable[[random.Random, int], bytes]] = {
    "random_bytes": _random_bytes,
    "truncated_json": _truncated_json,
    "wrong_types": _wrong_types,
    "bad_base64": _bad_base64,
    "deep_json": _deep_json,
    "deep_plist": _deep_plist,
    "control_chars": _control_chars,
    "huge_strings": _huge_strings,
    "plist_values": _plist_values,
    "bplist_tricks": _bplist_tricks,
    "mutated_body": _mutated_body,
    "mutated_plist": _mutated_plist,
    "valid_report": _valid_report,
    "valid_checkin": _valid_checkin,
}
KINDS = tuple(MAKERS)


def body(rng: random.Random, kind: str, huge: int = DEFAULT_HUGE) -> bytes:
    """One body of ``kind``; ``huge`` is the size of the largest "huge" string."""
    return MAKERS[kind](rng, huge)


def bodies(seed: int, count: int, huge: int = DEFAULT_HUGE) -> Iterator[tuple[str, bytes]]:
    """``count`` (kind, body) pairs from ``seed``, cycling through every kind."""
    rng = random.Random(seed)
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        yield kind, body(random.Random(rng.getrandbits(64)), kind, huge)
