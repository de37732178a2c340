"""The edge limits: each one accepts its boundary, refuses one past it, and says which limit.

Reports, check-ins and the webhook event each meet the same limits (mdmflow.mdm.limits); the
refusal is the parser's documented error, never a RecursionError or an escaping pydantic error.
"""

from __future__ import annotations

import base64
import json
import math
import plistlib
import random
from typing import Any

import pytest
from pydantic import ValidationError

from mdmflow.mdm import limits
from mdmflow.mdm.checkin import CheckinError, parse_checkin
from mdmflow.mdm.reports import ParsedReport, ReportError
from mdmflow.mdm.webhook import WebhookEvent
from mdmflow.validation import first_error
from tests.fuzz import bplist, values

UDID = "E3568F17-92ED-450A-8904-C3BF4CB7E9A5"
COMMAND = "76eda240-5488-4989-8339-f2ae160113c4"
ACK: dict[str, Any] = {"Status": "Acknowledged", "UDID": UDID, "CommandUUID": COMMAND}
XML, BINARY = plistlib.FMT_XML, plistlib.FMT_BINARY


def report(body: dict[str, Any], fmt: plistlib.PlistFormat = BINARY) -> ParsedReport:
    return ParsedReport.from_plist(plistlib.dumps(body, fmt=fmt))


def refusal(body: bytes) -> str:
    """Why ``body`` is refused as a report (fails the test if it is accepted)."""
    with pytest.raises(ReportError) as info:
        ParsedReport.from_plist(body)
    reason = str(info.value)
    assert "\n" not in reason
    assert len(reason) < 400, "a refusal quotes input, never all of it"
    return reason


def nested_list(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


# -- nesting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [XML, BINARY], ids=["xml", "binary"])
def test_nesting_up_to_the_limit_is_accepted(fmt: plistlib.PlistFormat) -> None:
    # The report dictionary is level 1, so its value may nest MAX_DEPTH - 1 more containers.
    parsed = report({**ACK, "Deep": nested_list(limits.MAX_DEPTH - 1)}, fmt)
    assert parsed.payload["Deep"] == nested_list(limits.MAX_DEPTH - 1)


@pytest.mark.parametrize("fmt", [XML, BINARY], ids=["xml", "binary"])
def test_one_level_deeper_is_refused_naming_the_limit_and_the_place(
    fmt: plistlib.PlistFormat,
) -> None:
    reason = refusal(plistlib.dumps({**ACK, "Deep": nested_list(limits.MAX_DEPTH)}, fmt=fmt))
    assert reason.startswith("nesting deeper than 32 levels at Deep.0.0")


@pytest.mark.parametrize(
    "raw",
    [
        bplist.nested(3000, top_keys=ACK),
        values.xml_nested(3000, ACK),
        values.xml_nested(900, ACK),  # the fuzz run's pydantic ValidationError (≈ 300-900)
    ],
    ids=["binary-3000", "xml-3000", "xml-900"],
)
def test_thousands_deep_is_a_report_error_not_a_crash(raw: bytes) -> None:
    assert refusal(raw).startswith("nesting deeper than 32 levels")


def test_a_plist_that_contains_itself_is_refused() -> None:
    assert refusal(bplist.cyclic(top_keys=ACK)).startswith("nesting deeper than 32 levels")


def test_checkin_nesting_is_refused_the_same_way() -> None:
    top = values.checkin(random.Random(9), "Authenticate", device=UDID)
    with pytest.raises(CheckinError, match=r"^nesting deeper than 32 levels at Deep\.0"):
        parse_checkin(bplist.nested(40, top_keys=top), "Authenticate")
    with pytest.raises(CheckinError, match=r"^nesting deeper than 32 levels$"):
        parse_checkin(bplist.nested(3000, top_keys=top), "Authenticate")


# -- sizes and counts --------------------------------------------------------------------------


def test_shared_references_cannot_expand_past_the_value_count() -> None:
    # 24 levels of two references each: 1 KiB of bplist that would expand to 2**24 leaves.
    raw = bplist.shared(24, 2, top_keys=ACK)
    assert len(raw) < 1024
    assert refusal(raw).startswith(f"more than {limits.MAX_ITEMS:,} values at Bomb.")


def test_entries_per_container() -> None:
    apps = report({**ACK, "Apps": [1] * limits.MAX_ENTRIES}).payload["Apps"]
    assert isinstance(apps, list)
    assert len(apps) == 50_000
    reason = refusal(plistlib.dumps({**ACK, "Apps": [1] * (limits.MAX_ENTRIES + 1)}))
    assert reason == "more than 50,000 entries in one container at Apps"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("x" * (limits.MAX_STRING_LENGTH + 1), "string longer than 4,194,304 characters at Big"),
        (b"x" * (limits.MAX_STRING_LENGTH + 1), "data longer than 4,194,304 bytes at Big"),
    ],
    ids=["string", "data"],
)
def test_string_and_data_length(value: str | bytes, reason: str) -> None:
    accepted = report({**ACK, "Big": value[: limits.MAX_STRING_LENGTH]}).payload["Big"]
    assert isinstance(accepted, str)
    assert len(accepted) >= limits.MAX_STRING_LENGTH
    assert refusal(plistlib.dumps({**ACK, "Big": value})) == reason


@pytest.mark.parametrize("number", [limits.MIN_INT, limits.MAX_INT, 0, -1])
def test_64_bit_integers_are_accepted(number: int) -> None:
    assert report({**ACK, "N": number}).payload["N"] == number


@pytest.mark.parametrize("number", [limits.MIN_INT - 1, limits.MAX_INT + 1, 10**40])
def test_integers_beyond_64_bits_are_refused(number: int) -> None:
    # plistlib writes none of these; XML carries any number of digits.
    raw = plistlib.dumps({**ACK, "N": 0}).replace(b"<integer>0<", f"<integer>{number}<".encode())
    assert refusal(raw) == "integer outside the 64-bit range at N"


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_reals_are_refused(number: float) -> None:
    # Temporal's converter would deliver them as null.
    assert refusal(plistlib.dumps({**ACK, "R": [1.5, number]})).endswith("(not finite) at R.1")


def test_error_chain_is_held_to_the_same_limits() -> None:
    chain = [{"ErrorCode": 1, "ErrorDomain": "D", "LocalizedDescription": nested_list(40)}]
    reason = refusal(plistlib.dumps({**ACK, "Status": "Error", "ErrorChain": chain}))
    assert reason.startswith("nesting deeper than 32 levels at ErrorChain.0.LocalizedDescription")


# -- IDs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("A\x00B", "control character U+0000 not allowed"),
        ("tab\there", "control character U+0009 not allowed"),
        ("del\x7f", "control character U+007F not allowed"),
        ("next-line\x85", "control character U+0085 not allowed"),
        ("x" * 256, "longer than 255 bytes"),
        ("日" * 86, "longer than 255 bytes (UTF-8)"),
    ],
    ids=["nul", "tab", "del", "c1", "long", "long-utf8"],
)
@pytest.mark.parametrize("key", ["CommandUUID", "UDID", "EnrollmentID", "UserID"])
def test_report_ids(key: str, value: str, problem: str) -> None:
    assert refusal(plistlib.dumps({**ACK, key: value}, fmt=BINARY)) == f"{key}: {problem}"


@pytest.mark.parametrize(
    "value", ["dev'ice\"x OR MdmEnrollmentId = 'y", "Gerät-日本", "x" * 255, "日" * 85]
)
def test_awkward_but_allowed_ids_are_kept_exactly(value: str) -> None:
    assert report({**ACK, "UDID": value, "CommandUUID": value}).udid == value


@pytest.mark.parametrize("key", ["UDID", "Topic", "EnrollmentID", "EnrollmentUserID", "UserID"])
def test_checkin_ids(key: str) -> None:
    body = {"MessageType": "TokenUpdate", "Token": b"\x01", key: "A\x00B"}
    with pytest.raises(CheckinError) as info:
        parse_checkin(plistlib.dumps(body, fmt=BINARY), "TokenUpdate")
    assert str(info.value) == f"{key}: control character U+0000 not allowed"


def test_checkin_ids_by_field_name_are_checked_too() -> None:
    # populate_by_name lets "udid" fill the UDID field; it must not bypass the ID rules.
    body = {"MessageType": "CheckOut", "udid": "A\x00B"}
    with pytest.raises(CheckinError, match=r"^UDID: control character U\+0000"):
        parse_checkin(plistlib.dumps(body, fmt=BINARY), "CheckOut")


def connect(**ack: Any) -> bytes:
    raw = base64.b64encode(plistlib.dumps(ACK)).decode()
    event = {"udid": UDID, "status": "Acknowledged", "raw_payload": raw, **ack}
    return json.dumps({"topic": "mdm.Connect", "acknowledge_event": event}).encode()


def event_refusal(body: bytes) -> str:
    with pytest.raises(ValidationError) as info:
        WebhookEvent.model_validate_json(body)
    return first_error(info.value)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"udid": "A\x00B"}, "acknowledge_event.udid: control character U+0000 not allowed"),
        ({"enrollment_id": "x" * 300}, "acknowledge_event.enrollment_id: longer than 255 bytes"),
        ({"command_uuid": "\x1f"}, "acknowledge_event.command_uuid: control character U+001F"),
        ({"status": "Ack\nnowledged"}, "acknowledge_event.status: control character U+000A"),
        ({"ids": {"id": "A\x00B"}}, "acknowledge_event.ids.id: control character U+0000"),
        ({"ids": {"id": "A", "parent_id": "\x85"}}, "acknowledge_event.ids.parent_id: control"),
        ({"url_params": {"k\x00": "v"}}, "acknowledge_event.url_params: key 'k\\x00': control"),
        ({"url_params": {"k": "v\x00"}}, "acknowledge_event.url_params: 'k': control"),
        ({"url_params": {"k": "v" * 2049}}, "url_params: 'k': longer than 2048 characters"),
        ({"url_params": {str(i): "" for i in range(65)}}, "url_params: more than 64 entries"),
    ],
    ids=[
        "udid",
        "enrollment-id",
        "command-uuid",
        "status",
        "ids-id",
        "parent-id",
        "param-key",
        "param-value",
        "param-long",
        "params-many",
    ],
)
def test_webhook_ids_and_params(fields: dict[str, Any], reason: str) -> None:
    assert reason in event_refusal(connect(**fields))


def test_webhook_topic_and_event_id() -> None:
    body = json.loads(connect())
    assert event_refusal(json.dumps({**body, "topic": "mdm.\x00"}).encode()) == (
        "topic: control character U+0000 not allowed"
    )
    assert event_refusal(json.dumps({**body, "event_id": "e" * 256}).encode()) == (
        "event_id: longer than 255 bytes"
    )


def test_a_lone_surrogate_is_refused() -> None:
    problem = limits.id_problem("a\ud800b")
    assert problem == "lone surrogate U+D800 not allowed"
    # JSON cannot deliver one (pydantic refuses the escape); a refusal it stays.
    assert "Invalid JSON" in event_refusal(connect(udid="a\ud800b"))


def test_limits_within_the_webhook_are_refused_by_their_documented_errors() -> None:
    body = connect(udid=UDID, url_params={"site": "hq"})
    assert WebhookEvent.model_validate_json(body).acknowledge_event is not None
    too_deep = body.replace(b'"hq"', b"[" * 300 + b"]" * 300)
    assert "recursion limit exceeded" in event_refusal(too_deep)


# -- refusals quote little ---------------------------------------------------------------------


def test_an_unknown_status_is_quoted_in_part() -> None:
    reason = refusal(plistlib.dumps({**ACK, "Status": "P" * 1_000_000}))
    assert reason.startswith("report has unknown Status 'PPP")
    assert reason.endswith("...")


def test_a_wrong_message_type_is_quoted_in_part() -> None:
    with pytest.raises(CheckinError) as info:
        parse_checkin(plistlib.dumps({"MessageType": "M" * 100_000}), "Authenticate")
    assert len(str(info.value)) < 200


def test_a_malformed_checkin_names_its_first_problem_without_the_input() -> None:
    body = {"MessageType": "TokenUpdate", "AwaitingConfiguration": "secret-value"}
    with pytest.raises(CheckinError) as info:
        parse_checkin(plistlib.dumps(body), "TokenUpdate")
    assert str(info.value).startswith("TokenUpdate check-in is malformed: TokenUpdate.")
    assert "secret-value" not in str(info.value)
