"""WebhookEvent on the NanoMDM and MicroMDM webhook shapes."""

from __future__ import annotations

import base64
import json
import plistlib
from typing import Any

import pytest
from pydantic import ValidationError

from mdmflow.mdm.plist import load_dict
from mdmflow.mdm.reports import ParsedReport
from mdmflow.mdm.webhook import CONNECT_TOPIC, WebhookEvent

UDID = "E3568F17-92ED-450A-8904-C3BF4CB7E9A5"
USER_ID = "A522C2FB-D0BA-487E-BBC6-BE0DB2DC7883"
COMMAND_UUID = "76eda240-5488-4989-8339-f2ae160113c4"

REPORT = plistlib.dumps(
    {
        "CommandUUID": COMMAND_UUID,
        "QueryResponses": {"HostName": "fruit.example.com"},
        "Status": "Acknowledged",
        "UDID": UDID,
        "UserID": USER_ID,
    }
)
TOKEN_UPDATE = plistlib.dumps(
    {
        "MessageType": "TokenUpdate",
        "Topic": "com.apple.mgmt.External.e0bd1eac",
        "UDID": UDID,
        "Token": b"\x01\x02\x03",
        "PushMagic": "B81B1FEC-09C6-4EC2-871C-E521EC971B38",
    }
)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def nanomdm_connect(**ack_overrides: Any) -> dict[str, Any]:
    """NanoMDM's layout (service/webhook): omitempty fields, ``ids`` naming the channel."""
    ack: dict[str, Any] = {
        "udid": UDID,
        "status": "Acknowledged",
        "command_uuid": COMMAND_UUID,
        "raw_payload": b64(REPORT),
        "ids": {"id": f"{UDID}:{USER_ID}", "type": "User", "parent_id": UDID},
    }
    ack.update(ack_overrides)
    return {
        "topic": "mdm.Connect",
        "event_id": "trace-1",
        "created_at": "2024-01-01T00:00:00.123456789Z",
        "acknowledge_event": ack,
    }


def micromdm_token_update(**checkin_overrides: Any) -> dict[str, Any]:
    """MicroMDM's layout: no ``ids``, ``url_params`` present and null."""
    checkin: dict[str, Any] = {
        "udid": UDID,
        "url_params": None,
        "raw_payload": b64(TOKEN_UPDATE),
    }
    checkin.update(checkin_overrides)
    return {
        "topic": "mdm.TokenUpdate",
        "event_id": "99eb840c-3e1f-48a7-a4f9-1ef092445129",
        "created_at": "2018-08-13T14:30:16.529223669Z",
        "checkin_event": checkin,
    }


def parse(body: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent.model_validate_json(json.dumps(body))


def test_nanomdm_user_channel_connect() -> None:
    event = parse(nanomdm_connect())
    assert event.topic == CONNECT_TOPIC
    assert event.event_id == "trace-1"
    assert event.created_at is not None
    assert event.created_at.year == 2024
    assert event.created_at.utcoffset() is not None
    ack = event.acknowledge_event
    assert ack is not None
    assert event.checkin_event is None
    assert ack.status == "Acknowledged"
    assert ack.command_uuid == COMMAND_UUID
    assert ack.udid == UDID
    assert ack.ids is not None
    assert ack.ids.type == "User"
    assert ack.ids.parent_id == UDID
    assert ack.target_id == f"{UDID}:{USER_ID}"
    assert ack.raw_payload == REPORT
    assert ack.url_params == {}
    assert ParsedReport.from_plist(ack.raw_payload).command_uuid == ack.command_uuid


def test_nanomdm_idle_has_no_command_uuid() -> None:
    idle = plistlib.dumps({"Status": "Idle", "UDID": UDID})
    body = nanomdm_connect(status="Idle", raw_payload=b64(idle))
    del body["acknowledge_event"]["command_uuid"]
    ack = parse(body).acknowledge_event
    assert ack is not None
    assert ack.command_uuid == ""


def test_micromdm_checkin_with_null_url_params() -> None:
    event = parse(micromdm_token_update())
    checkin = event.checkin_event
    assert checkin is not None
    assert event.acknowledge_event is None
    assert checkin.url_params == {}
    assert checkin.ids is None
    assert checkin.token_update_tally is None
    assert checkin.target_id == UDID
    assert load_dict(checkin.raw_payload)["MessageType"] == "TokenUpdate"


def test_nanomdm_tally_and_url_params() -> None:
    event = parse(micromdm_token_update(url_params={"tenant": "acme"}, token_update_tally=1))
    checkin = event.checkin_event
    assert checkin is not None
    assert checkin.url_params == {"tenant": "acme"}
    assert checkin.token_update_tally == 1


def test_user_enrollment_has_only_enrollment_id() -> None:
    report = plistlib.dumps({"CommandUUID": "c1", "Status": "Acknowledged", "EnrollmentID": "E1"})
    body = {
        "topic": "mdm.Connect",
        "acknowledge_event": {
            "enrollment_id": "E1",
            "status": "Acknowledged",
            "command_uuid": "c1",
            "raw_payload": b64(report),
        },
    }
    event = parse(body)
    ack = event.acknowledge_event
    assert ack is not None
    assert ack.udid == ""
    assert ack.target_id == "E1"
    assert event.created_at is None
    assert event.event_id == ""


def test_device_ids_without_id_fall_back_to_udid() -> None:
    ack = parse(nanomdm_connect(ids={"id": "", "type": "Device"})).acknowledge_event
    assert ack is not None
    assert ack.target_id == UDID


@pytest.mark.parametrize("bad", ["not base64!!", "QUJD!", "QQ", 123])
def test_bad_base64_raw_payload(bad: object) -> None:
    with pytest.raises(ValidationError, match="raw_payload") as info:
        parse(nanomdm_connect(raw_payload=bad))
    assert "raw_payload" in str(info.value)


def test_missing_raw_payload() -> None:
    body = nanomdm_connect()
    del body["acknowledge_event"]["raw_payload"]
    with pytest.raises(ValidationError, match="raw_payload"):
        parse(body)


@pytest.mark.parametrize("params", [{"a": 1}, {"a": None}, {"a": ["x"]}, ["a"], "a=b"])
def test_url_params_must_be_string_map(params: object) -> None:
    with pytest.raises(ValidationError, match="url_params"):
        parse(micromdm_token_update(url_params=params))


@pytest.mark.parametrize("topic", ["Connect", "connect", "MDM.Connect", "", "mdm"])
def test_topic_must_start_with_mdm(topic: str) -> None:
    body = nanomdm_connect()
    body["topic"] = topic
    with pytest.raises(ValidationError, match="topic"):
        parse(body)


def test_missing_topic() -> None:
    body = nanomdm_connect()
    del body["topic"]
    with pytest.raises(ValidationError, match="topic"):
        parse(body)


def test_unknown_fields_are_ignored() -> None:
    body = nanomdm_connect(future_field={"x": 1})
    body["schema_version"] = 9
    body["acknowledge_event"]["ids"]["extra"] = "y"
    event = parse(body)
    assert event.acknowledge_event is not None
    assert not hasattr(event, "schema_version")
    assert event == parse(nanomdm_connect())


@pytest.mark.parametrize("created_at", ["yesterday", "", "2024-13-01T00:00:00Z", 1.5e30, [1]])
def test_bad_created_at(created_at: object) -> None:
    body = nanomdm_connect()
    body["created_at"] = created_at
    with pytest.raises(ValidationError, match="created_at"):
        parse(body)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"topic": "mdm.Connect"'])
def test_body_that_is_not_an_event_object(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        WebhookEvent.model_validate_json(raw)
