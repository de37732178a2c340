"""Property tests of the webhook edge: any bytes, JSON or plist either reads or raises one of
the errors the bridge answers with 400, and whatever reads travels through Temporal intact.

Seeded (``derandomize``) and bounded: about 2,500 examples in all, a few seconds. The seeded
body generator is the one ``python -m tests.fuzz`` posts to a running bridge.
"""

from __future__ import annotations

import base64
import json
import plistlib
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mdmflow.mdm import limits
from mdmflow.mdm.checkin import Authenticate, CheckinError, CheckOut, TokenUpdate, parse_checkin
from mdmflow.mdm.reports import ParsedReport, ReportError
from mdmflow.validation import first_error
from mdmflow.workflows.models import CommandReport, EventType, MDMEvent
from tests.fuzz import bodies, values
from tests.fuzz.edge import read
from tests.support.codec import codec_converter

CI_HUGE = 64 * 1024
CONVERTER = codec_converter().payload_converter


def fuzz(examples: int) -> settings:
    """Seeded and bounded: the same examples on every run, no example database."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def travels(report: ParsedReport) -> None:
    """What the bridge accepted, the worker decodes: strict JSON, and the signal round-trips
    through the payload converter unchanged."""
    json.dumps(report.payload, allow_nan=False)
    assert ParsedReport.model_validate_json(report.model_dump_json()) == report
    signal = CommandReport(
        command_uuid=report.command_uuid,
        enrollment_id=report.udid or "E",
        status=report.status,
        request_type="Fuzz",
        error_chain=report.error_chain,
        payload=report.payload,
    )
    (back,) = CONVERTER.from_payloads(CONVERTER.to_payloads([signal]), [CommandReport])
    assert back == signal


def checkin_travels(message: Authenticate | TokenUpdate | CheckOut) -> None:
    """A check-in reaches a workflow inside an event; it must come back out the same."""
    event = MDMEvent(type=EventType(message.message_type), checkin=message)
    (back,) = CONVERTER.from_payloads(CONVERTER.to_payloads([event]), [MDMEvent])
    assert back == event


def assert_reason(reason: str) -> None:
    """A refusal's reason is one line of text for the sender."""
    assert reason
    assert "\n" not in reason


def check_read(body: bytes) -> None:
    """``body`` reads or raises a documented, one-line error; what reads has IDs within the
    ID rules and travels through Temporal unchanged."""
    try:
        reading = read(body)
    except ValidationError as exc:
        assert_reason(first_error(exc))  # the bridge reports pydantic's first error only
        return
    except (ReportError, CheckinError) as exc:
        assert_reason(str(exc))
        return
    for value in reading.ids():
        assert limits.id_problem(value) is None, value
    if isinstance(reading.content, ParsedReport):
        travels(reading.content)
    elif reading.content is not None:
        checkin_travels(reading.content)


# -- any bytes, any JSON ------------------------------------------------------------------------


@fuzz(300)
@given(st.binary(max_size=4096))
def test_any_bytes(body: bytes) -> None:
    check_read(body)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
ids = st.sampled_from(["E3568F17-92ED-450A-8904-C3BF4CB7E9A5", "", "dev'ice\"x OR"]) | st.text()
raw_payloads = (
    st.binary(max_size=64).map(lambda raw: base64.b64encode(raw).decode())
    | st.sampled_from(
        [
            base64.b64encode(plistlib.dumps(body)).decode()
            for body in (
                {"Status": "Acknowledged", "CommandUUID": "C", "UDID": "U"},
                {"MessageType": "Authenticate", "UDID": "U", "Topic": "T"},
                {"MessageType": "TokenUpdate", "UDID": "U", "Token": b"\x01"},
            )
        ]
    )
    | st.text(max_size=30)
)
inner_events = st.fixed_dictionaries(
    {},
    optional={
        "udid": ids | json_values,
        "enrollment_id": ids | json_values,
        "status": st.sampled_from(values.STATUSES) | json_values,
        "command_uuid": ids | json_values,
        "raw_payload": raw_payloads | json_values,
        "url_params": st.none() | st.dictionaries(st.text(max_size=8), st.text()) | json_values,
        "ids": st.fixed_dictionaries({"id": ids}, optional={"type": ids, "parent_id": ids})
        | json_values,
        "token_update_tally": st.integers() | json_values,
    },
)
topics = st.sampled_from(
    ["mdm.Connect", "mdm.Authenticate", "mdm.TokenUpdate", "mdm.CheckOut", "mdm.UserAuthenticate"]
)
events = st.fixed_dictionaries(
    {"topic": topics | st.text(max_size=20) | json_values},
    optional={
        "event_id": ids | json_values,
        "created_at": st.datetimes().map(lambda d: d.isoformat()) | json_values,
        "acknowledge_event": inner_events | json_values,
        "checkin_event": inner_events | json_values,
    },
)


@fuzz(500)
@given(events | json_values)
def test_any_json(event: Any) -> None:
    check_read(json.dumps(event).encode())


# -- the shared generator: deep nesting, NUL bytes, huge strings, bad base64, bplist tricks ----


@fuzz(1000)
@given(st.sampled_from(bodies.KINDS), st.integers(min_value=0, max_value=2**64 - 1))
def test_generated_bodies(kind: str, seed: int) -> None:
    check_read(bodies.body(random.Random(seed), kind, huge=CI_HUGE))


# -- any plist as a report or a check-in ---------------------------------------------------------


plist_scalars = (
    st.text(max_size=30)
    | st.binary(max_size=40)
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.booleans()
    | st.datetimes()
)
plist_values = st.recursive(
    plist_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
error_chains = st.lists(
    st.fixed_dictionaries(
        {"ErrorCode": st.integers(-(2**63), 2**63 - 1) | plist_values},
        optional={
            "ErrorDomain": st.text(max_size=30) | plist_values,
            "LocalizedDescription": st.text() | plist_values,
            "USEnglishDescription": st.text() | plist_values,
        },
    ),
    max_size=3,
)
reports = st.fixed_dictionaries(
    {"Status": st.sampled_from(values.STATUSES) | plist_scalars},
    optional={
        "CommandUUID": ids | plist_values,
        "UDID": ids | plist_values,
        "EnrollmentID": ids | plist_values,
        "UserID": ids | plist_values,
        "NotOnConsole": plist_values,
        "ErrorChain": error_chains | plist_values,
        "Answer": plist_values,
        "QueryResponses": st.dictionaries(st.text(max_size=12), plist_values, max_size=6),
    },
)
checkins = st.fixed_dictionaries(
    {"MessageType": st.sampled_from(values.CHECKIN_TYPES)},
    optional={
        "UDID": ids | plist_values,
        "Topic": ids | plist_values,
        "EnrollmentID": ids | plist_values,
        "UserID": ids | plist_values,
        "Token": st.binary(max_size=40) | plist_values,
        "Challenge": st.binary(max_size=40) | plist_values,
        "UnlockToken": st.binary(max_size=40) | plist_values,
        "AwaitingConfiguration": plist_values,
        "udid": plist_values,
        "message_type": plist_values,
        "Extra": plist_values,
    },
)


def dump(body: dict[str, Any], xml: bool) -> bytes:
    return values.dump(body, xml=xml)


@fuzz(400)
@given(reports, st.booleans())
def test_any_plist_as_report(body: dict[str, Any], xml: bool) -> None:
    try:
        report = ParsedReport.from_plist(dump(body, xml))
    except ReportError as exc:
        assert_reason(str(exc))
        return
    assert report.status == body["Status"]
    assert report.command_uuid == body.get("CommandUUID", "")
    for value in (report.command_uuid, report.udid, report.enrollment_id, report.user_id):
        assert limits.id_problem(value) is None, value
    travels(report)


@fuzz(300)
@given(checkins, st.booleans(), st.sampled_from(values.CHECKIN_TYPES))
def test_any_plist_as_checkin(body: dict[str, Any], xml: bool, topic_type: str) -> None:
    try:
        message = parse_checkin(dump(body, xml), topic_type)
    except CheckinError as exc:
        assert_reason(str(exc))
        return
    assert message.message_type == topic_type == body["MessageType"]
    for name in ("topic", "udid", "enrollment_id", "enrollment_user_id", "user_id"):
        assert limits.id_problem(getattr(message, name)) is None, name
    checkin_travels(message)
