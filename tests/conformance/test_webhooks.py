"""Every webhook body in the corpus validates, and its raw_payload agrees with its JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdmflow.mdm.plist import load_dict
from mdmflow.mdm.reports import CommandStatus, ParsedReport
from mdmflow.mdm.webhook import CONNECT_TOPIC, WebhookEvent
from tests.conformance.corpus import WEBHOOK_SCHEMA_FILE, files, rel, require_corpus

CORPUS = require_corpus()

EVENTS = [
    p for p in files("webhook/*.json", "synthetic/webhook/*.json") if p.name != WEBHOOK_SCHEMA_FILE
]


def load(path: Path) -> WebhookEvent:
    return WebhookEvent.model_validate_json(path.read_bytes())


def test_corpus_has_webhooks() -> None:
    assert len(EVENTS) >= 15
    assert (CORPUS / "webhook" / WEBHOOK_SCHEMA_FILE).is_file()


@pytest.mark.parametrize("path", EVENTS, ids=rel)
def test_webhook_validates(path: Path) -> None:
    event = load(path)
    assert event.topic.startswith("mdm.")
    if event.topic == CONNECT_TOPIC:
        assert event.acknowledge_event is not None
        assert event.checkin_event is None
        assert event.acknowledge_event.target_id
        assert event.acknowledge_event.raw_payload
    else:
        assert event.checkin_event is not None
        assert event.acknowledge_event is None
        assert event.checkin_event.target_id
        # The check-in plist's MessageType is the topic without its "mdm." prefix.
        checkin = load_dict(event.checkin_event.raw_payload)
        assert checkin["MessageType"] == event.topic.removeprefix("mdm.")


@pytest.mark.parametrize("path", [p for p in EVENTS if load(p).topic == CONNECT_TOPIC], ids=rel)
def test_connect_raw_payload_is_the_report(path: Path) -> None:
    ack = load(path).acknowledge_event
    assert ack is not None
    report = ParsedReport.from_plist(ack.raw_payload)
    assert report.status.value == ack.status
    if report.command_uuid and ack.command_uuid:
        assert report.command_uuid == ack.command_uuid
    if report.status is CommandStatus.IDLE:
        assert ack.command_uuid == ""
    if ack.udid:
        assert report.udid == ack.udid


def test_nanomdm_user_channel_targets_udid_colon_userid() -> None:
    event = load(CORPUS / "synthetic/webhook/nanomdm-shape--mdm.TokenUpdate-userchannel.json")
    checkin = event.checkin_event
    assert checkin is not None
    assert checkin.ids is not None
    assert checkin.ids.type == "User"
    assert checkin.ids.parent_id == checkin.udid
    plist = load_dict(checkin.raw_payload)
    assert checkin.target_id == f"{plist['UDID']}:{plist['UserID']}"
    assert checkin.token_update_tally == 1


def test_micromdm_null_url_params_become_empty() -> None:
    event = load(CORPUS / "webhook/micromdm-docs--mdm.Authenticate.json")
    assert event.checkin_event is not None
    assert event.checkin_event.url_params == {}
    assert event.checkin_event.ids is None
    assert event.checkin_event.target_id == event.checkin_event.udid


def test_nanocmd_tally_and_empty_event_id() -> None:
    event = load(CORPUS / "webhook/nanocmd--mdm.TokenUpdate-tally1.json")
    assert event.event_id == ""
    assert event.checkin_event is not None
    assert event.checkin_event.token_update_tally == 1
