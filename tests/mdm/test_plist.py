"""plist helpers: one clear PlistError for bad input, JSON-safe values for everything else."""

from __future__ import annotations

import datetime as dt
import plistlib

import pytest

from mdmflow.mdm.plist import PlistError, dump_xml, load_dict, to_json_safe


def test_load_dict_reads_xml_and_binary() -> None:
    body = {"MessageType": "Authenticate", "Challenge": b"\x00\x01", "UDID": "U"}
    assert load_dict(plistlib.dumps(body)) == body
    assert load_dict(plistlib.dumps(body, fmt=plistlib.FMT_BINARY)) == body


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty plist"),
        (b"garbage", "not a valid plist"),
        (b"<plist><dict><key>A</key></plist>", "not a valid plist"),
        (b"bplist00\x00\x01", "not a valid plist"),
        (b"<plist><dict><key>T</key><data>AAA</data></dict></plist>", "not a valid plist"),
        (plistlib.dumps([1, 2]), "top level is list, expected a dictionary"),
        (plistlib.dumps(True), "top level is bool, expected a dictionary"),
    ],
    ids=["empty", "garbage", "broken-xml", "short-binary", "bad-data", "array", "bool"],
)
def test_load_dict_errors(raw: bytes, message: str) -> None:
    with pytest.raises(PlistError, match=message) as info:
        load_dict(raw)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_to_json_safe_nested() -> None:
    value = {
        "Token": b"\xff\x00abc",
        "When": dt.datetime(2024, 5, 6, 7, 8, 9),
        "Aware": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
        "List": [1, 2.5, True, None, "s", [b"\x01"], {"Inner": dt.datetime(2000, 1, 1)}],
        "Tuple": (1, "two"),
        "Empty": {},
        "UID": plistlib.UID(7),
    }
    assert to_json_safe(value) == {
        "Token": "/wBhYmM=",
        "When": "2024-05-06T07:08:09+00:00",
        "Aware": "2024-05-06T07:08:09-07:00",
        "List": [1, 2.5, True, None, "s", ["AQ=="], {"Inner": "2000-01-01T00:00:00+00:00"}],
        "Tuple": [1, "two"],
        "Empty": {},
        "UID": 7,
    }


def test_to_json_safe_rejects_unknown_types() -> None:
    with pytest.raises(PlistError, match="value of type set has no JSON form"):
        to_json_safe({"Bad": {1, 2}})


def test_dump_xml_keeps_key_order() -> None:
    raw = dump_xml({"Command": {"RequestType": "ProfileList"}, "CommandUUID": "u"})
    assert raw.startswith(b"<?xml")
    assert raw.index(b"<key>Command</key>") < raw.index(b"<key>CommandUUID</key>")
    assert plistlib.loads(raw) == {"Command": {"RequestType": "ProfileList"}, "CommandUUID": "u"}
