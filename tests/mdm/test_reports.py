"""ParsedReport.from_plist on reports written from Apple's documented response keys."""

from __future__ import annotations

import base64
import datetime as dt
import plistlib
from typing import Any

import pytest

from mdmflow.mdm.reports import (
    ENVELOPE_KEYS,
    FINAL_STATUSES,
    CommandStatus,
    ErrorChainItem,
    ParsedReport,
    ReportError,
)

UDID = "00008020-000915083C80012E"
PUSH_TOKEN = b"\x8a\x01\x00\xfftoken"

DEVICE_INFORMATION_ACK = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>CommandUUID</key>
    <string>0001_DeviceInformation</string>
    <key>QueryResponses</key>
    <dict>
        <key>DeviceName</key>
        <string>Zoë\u2019s iPhone</string>
        <key>OSVersion</key>
        <string>17.4</string>
        <key>BatteryLevel</key>
        <real>0.85</real>
        <key>DeviceCapacity</key>
        <real>64</real>
        <key>IsSupervised</key>
        <true/>
        <key>PushToken</key>
        <data>{base64.b64encode(PUSH_TOKEN).decode()}</data>
        <key>OSUpdateSettings</key>
        <dict>
            <key>PreviousScanDate</key>
            <date>2024-03-01T09:30:00Z</date>
            <key>AutomaticCheckEnabled</key>
            <true/>
        </dict>
        <key>ServiceSubscriptions</key>
        <array>
            <dict>
                <key>Slot</key>
                <string>CTSubscriptionSlotOne</string>
            </dict>
        </array>
    </dict>
    <key>Status</key>
    <string>Acknowledged</string>
    <key>UDID</key>
    <string>{UDID}</string>
</dict>
</plist>
""".encode()

TWO_ITEM_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
    <key>CommandUUID</key>
    <string>0001_AvailableOSUpdates</string>
    <key>ErrorChain</key>
    <array>
        <dict>
            <key>ErrorCode</key>
            <integer>2213</integer>
            <key>ErrorDomain</key>
            <string>DeviceManagement.error</string>
            <key>LocalizedDescription</key>
            <string>No update available.</string>
            <key>USEnglishDescription</key>
            <string>No update available.</string>
        </dict>
        <dict>
            <key>ErrorCode</key>
            <integer>3</integer>
            <key>ErrorDomain</key>
            <string>com.apple.softwareupdateservices.errors</string>
            <key>LocalizedDescription</key>
            <string>The operation couldn\xe2\x80\x99t be completed.</string>
        </dict>
    </array>
    <key>Status</key>
    <string>Error</string>
    <key>UDID</key>
    <string>00008020-000915083C80012E</string>
</dict>
</plist>
"""


def report_bytes(body: dict[str, Any], fmt: plistlib.PlistFormat = plistlib.FMT_XML) -> bytes:
    return plistlib.dumps(body, fmt=fmt)


def status_report(status: str, **extra: Any) -> bytes:
    return report_bytes({"CommandUUID": "0001_X", "Status": status, "UDID": UDID, **extra})


def test_acknowledged_device_information() -> None:
    report = ParsedReport.from_plist(DEVICE_INFORMATION_ACK)
    assert report.status is CommandStatus.ACKNOWLEDGED
    assert report.status.is_final
    assert report.command_uuid == "0001_DeviceInformation"
    assert report.udid == UDID
    assert report.enrollment_id == ""
    assert report.error_chain == []
    assert report.payload == {
        "QueryResponses": {
            "DeviceName": "Zoë\u2019s iPhone",
            "OSVersion": "17.4",
            "BatteryLevel": 0.85,
            "DeviceCapacity": 64.0,
            "IsSupervised": True,
            "PushToken": base64.b64encode(PUSH_TOKEN).decode("ascii"),
            "OSUpdateSettings": {
                "PreviousScanDate": "2024-03-01T09:30:00+00:00",
                "AutomaticCheckEnabled": True,
            },
            "ServiceSubscriptions": [{"Slot": "CTSubscriptionSlotOne"}],
        }
    }


def test_error_with_two_item_error_chain() -> None:
    report = ParsedReport.from_plist(TWO_ITEM_ERROR)
    assert report.status is CommandStatus.ERROR
    assert report.status.is_final
    assert report.error_chain == [
        ErrorChainItem(
            error_code=2213,
            error_domain="DeviceManagement.error",
            localized_description="No update available.",
            us_english_description="No update available.",
        ),
        ErrorChainItem(
            error_code=3,
            error_domain="com.apple.softwareupdateservices.errors",
            localized_description="The operation couldn\u2019t be completed.",
        ),
    ]
    assert report.error_chain[1].us_english_description is None
    assert report.payload == {}


def test_not_now_is_not_final() -> None:
    report = ParsedReport.from_plist(status_report("NotNow"))
    assert report.status is CommandStatus.NOT_NOW
    assert not report.status.is_final
    assert report.command_uuid == "0001_X"


def test_command_format_error_is_final_without_chain() -> None:
    report = ParsedReport.from_plist(status_report("CommandFormatError"))
    assert report.status is CommandStatus.COMMAND_FORMAT_ERROR
    assert report.status.is_final
    assert report.error_chain == []


def test_idle_has_no_command_uuid() -> None:
    report = ParsedReport.from_plist(report_bytes({"Status": "Idle", "UDID": UDID}))
    assert report.status is CommandStatus.IDLE
    assert report.command_uuid == ""
    assert report.payload == {}


@pytest.mark.parametrize(
    ("status", "final"),
    [
        (CommandStatus.ACKNOWLEDGED, True),
        (CommandStatus.ERROR, True),
        (CommandStatus.COMMAND_FORMAT_ERROR, True),
        (CommandStatus.NOT_NOW, False),
        (CommandStatus.IDLE, False),
    ],
)
def test_is_final(status: CommandStatus, final: bool) -> None:
    assert status.is_final is final
    assert (status in FINAL_STATUSES) is final


def test_every_status_is_covered() -> None:
    assert {s.value for s in CommandStatus} == {
        "Acknowledged",
        "Error",
        "CommandFormatError",
        "NotNow",
        "Idle",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"CommandUUID": "0001_X", "UDID": UDID},
        {"CommandUUID": "0001_X", "UDID": UDID, "Status": ""},
        {"CommandUUID": "0001_X", "UDID": UDID, "Status": 1},
    ],
    ids=["missing", "empty", "integer"],
)
def test_missing_status_is_an_error(body: dict[str, Any]) -> None:
    with pytest.raises(ReportError, match="report has no Status"):
        ParsedReport.from_plist(report_bytes(body))


def test_unknown_status_is_an_error() -> None:
    with pytest.raises(ReportError, match="unknown Status 'Pending'"):
        ParsedReport.from_plist(status_report("Pending"))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty plist"),
        (b"this is not a plist", "not a valid plist"),
        (b'{"Status": "Acknowledged"}', "not a valid plist"),
        (b"<?xml version='1.0'?><plist><dict><key>Status</key>", "not a valid plist"),
        (b"<plist><dict><key>P</key><data>Base64=</data></dict></plist>", "Incorrect padding"),
        (
            plistlib.dumps([{"Status": "Acknowledged"}]),
            "plist top level is list, expected a dictionary",
        ),
        (plistlib.dumps("Acknowledged"), "plist top level is str, expected a dictionary"),
    ],
    ids=["empty", "text", "json", "truncated-xml", "bad-base64-data", "array", "string"],
)
def test_unusable_bytes_raise_report_error(raw: bytes, message: str) -> None:
    with pytest.raises(ReportError, match=message) as info:
        ParsedReport.from_plist(raw)
    assert "\n" not in str(info.value)


def test_binary_plist_reads_like_xml() -> None:
    body = plistlib.loads(DEVICE_INFORMATION_ACK)
    binary = report_bytes(body, fmt=plistlib.FMT_BINARY)
    assert binary.startswith(b"bplist00")
    assert ParsedReport.from_plist(binary) == ParsedReport.from_plist(DEVICE_INFORMATION_ACK)


def test_naive_date_becomes_utc_iso_text() -> None:
    raw = status_report(
        "Acknowledged", OSUpdateSettings={"PreviousScanDate": dt.datetime(2024, 1, 2, 3, 4, 5)}
    )
    payload = ParsedReport.from_plist(raw).payload
    assert payload == {"OSUpdateSettings": {"PreviousScanDate": "2024-01-02T03:04:05+00:00"}}


def test_envelope_keys_stay_out_of_payload() -> None:
    body: dict[str, Any] = {
        "CommandUUID": "0001_ProfileList",
        "Status": "Acknowledged",
        "UDID": UDID,
        "UserID": "A522C2FB-D0BA-487E-BBC6-BE0DB2DC7883",
        "UserShortName": "cjoe",
        "UserLongName": "Commando Joe",
        "EnrollmentUserID": "user-enrollment-user",
        "NotOnConsole": True,
        "RequestType": "ProfileList",
        "ErrorChain": [],
        "ProfileList": [],
    }
    report = ParsedReport.from_plist(report_bytes(body))
    assert set(body) - {"ProfileList"} <= ENVELOPE_KEYS
    assert report.payload == {"ProfileList": []}
    assert report.user_id == "A522C2FB-D0BA-487E-BBC6-BE0DB2DC7883"
    assert report.not_on_console is True


def test_user_enrollment_report_has_enrollment_id() -> None:
    raw = report_bytes({"CommandUUID": "c1", "Status": "Acknowledged", "EnrollmentID": "E-1"})
    report = ParsedReport.from_plist(raw)
    assert report.udid == ""
    assert report.enrollment_id == "E-1"


def test_error_chain_not_an_array() -> None:
    with pytest.raises(ReportError, match="ErrorChain is not an array"):
        ParsedReport.from_plist(status_report("Error", ErrorChain={"ErrorCode": 1}))


def test_error_chain_item_without_required_keys() -> None:
    with pytest.raises(ReportError, match="ErrorChain is malformed"):
        ParsedReport.from_plist(status_report("Error", ErrorChain=[{"ErrorDomain": "X"}]))


def test_non_string_command_uuid() -> None:
    raw = report_bytes({"CommandUUID": 7, "Status": "Acknowledged", "UDID": UDID})
    with pytest.raises(ReportError, match="CommandUUID is not a string"):
        ParsedReport.from_plist(raw)


def test_report_round_trips_through_json() -> None:
    report = ParsedReport.from_plist(DEVICE_INFORMATION_ACK)
    assert ParsedReport.model_validate_json(report.model_dump_json()) == report
    error = ParsedReport.from_plist(TWO_ITEM_ERROR)
    assert ParsedReport.model_validate_json(error.model_dump_json()) == error
