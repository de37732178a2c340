"""The inventory workflow's decisions as pure functions: what a DeviceInformation or SecurityInfo
answer stores, under NanoCMD's keys, and which events the handler takes. No Temporal here."""

from __future__ import annotations

import datetime as dt

import pytest

from mdmflow.mdm.plist import JsonValue
from mdmflow.mdm.reports import CommandStatus, ParsedReport
from mdmflow.mdm.responses import (
    DeviceInformationResponse,
    SecurityInfoDetails,
    SecurityInfoResponse,
)
from mdmflow.workflows.inventory import InventoryEventsWorkflow, InventoryWorkflow
from mdmflow.workflows.inventory_values import (
    DEVICE_INFORMATION_KEYS,
    INVENTORY,
    INVENTORY_EVENTS,
    QUERIES,
    device_inventory,
    inventory_values,
    security_inventory,
    security_values,
)
from mdmflow.workflows.models import CommandReport, EventType, MDMEvent, StepError
from mdmflow.workflows.registry import EVENT_HANDLERS, WORKFLOWS
from tests.conformance.corpus import FIXTURES

NOW = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)

MAC: dict[str, JsonValue] = {
    "UDID": "0000FE00-1A2B3C4D5E6F7A8B",
    "SerialNumber": "C02XK1ZZJGH5",
    "Model": "Mac14,2",
    "ModelName": "MacBook Air",
    "ProductName": "Mac14,2",
    "DeviceName": "Zo\u00eb\u2019s MacBook Air",
    "BuildVersion": "24B83",
    "OSVersion": "15.1",
    "EthernetMAC": "a0:ce:c8:01:02:03",
    "IsSupervised": True,
    "IsAppleSilicon": True,
    "HasBattery": True,
    "IsMultiUser": False,
    "SupportsLOMDevice": False,
}


def test_every_documented_value_is_stored_under_nanocmds_key() -> None:
    assert inventory_values(MAC) == {
        "serial_number": "C02XK1ZZJGH5",
        "model": "Mac14,2",
        "model_name": "MacBook Air",
        "device_name": "Zo\u00eb\u2019s MacBook Air",
        "build_version": "24B83",
        "os_version": "15.1",
        "ethernet_mac": "a0:ce:c8:01:02:03",
        "supervised": True,
        "apple_silicon": True,
        "has_battery": True,
        "supports_lom": False,
        "is_multiuser": False,
    }


def test_absent_and_null_values_are_not_stored() -> None:
    iphone: dict[str, JsonValue] = {"SerialNumber": "F2LXK1ZZ", "Model": "MTLW3", "UDID": "x"}
    assert inventory_values({**iphone, "EthernetMAC": None}) == {
        "serial_number": "F2LXK1ZZ",
        "model": "MTLW3",
    }
    assert inventory_values({}) == {}
    assert inventory_values({"UDID": "x", "WiFiMAC": "aa:bb"}) == {}


def test_false_is_a_value_not_an_absence() -> None:
    assert inventory_values({"IsSupervised": False}) == {"supervised": False}


def test_queries_are_nanocmds_without_the_duplicate_and_with_is_supervised() -> None:
    assert len(QUERIES) == len(set(QUERIES))
    assert QUERIES.count("Model") == 1
    assert "IsSupervised" in QUERIES
    assert set(QUERIES) == set(DEVICE_INFORMATION_KEYS)


def test_device_inventory_stamps_source_and_time() -> None:
    stored = device_inventory(MAC, NOW)
    assert stored is not None
    assert stored.serial_number == "C02XK1ZZJGH5"
    assert stored.supervised is True
    assert stored.stored() == {
        **inventory_values(MAC),
        "last_source": "DeviceInformation",
        "modified": "2025-03-04T05:06:07Z",
    }


def test_device_inventory_of_nothing_is_none() -> None:
    assert device_inventory({"UDID": "x"}, NOW) is None


def test_a_value_of_the_wrong_type_is_a_step_error() -> None:
    with pytest.raises(StepError, match="DeviceInformation values do not fit the inventory"):
        device_inventory({"SerialNumber": 42}, NOW)
    with pytest.raises(StepError, match="apple_silicon"):
        device_inventory({"IsAppleSilicon": ["yes"]}, NOW)


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        (
            {"SystemIntegrityProtectionEnabled": True, "FDE_Enabled": False},
            {"sip_enabled": True, "fde_enabled": False},
        ),
        ({"FDE_Enabled": True, "FDE_HasPersonalRecoveryKey": True}, {"fde_enabled": True}),
        ({"SystemIntegrityProtectionEnabled": False}, {"sip_enabled": False}),
        ({"PasscodePresent": True, "HardwareEncryptionCaps": 3}, {}),
    ],
    ids=["both", "fde-only", "sip-only", "ios"],
)
def test_security_values(details: dict[str, JsonValue], expected: dict[str, JsonValue]) -> None:
    info = SecurityInfoDetails.model_validate(details)
    assert security_values(info) == expected
    stored = security_inventory(info, NOW)
    if not expected:
        assert stored is None
        return
    assert stored is not None
    assert stored.stored() == {
        **expected,
        "last_source": "SecurityInfo",
        "modified": "2025-03-04T05:06:07Z",
    }


def _report(request_type: str, status: CommandStatus = CommandStatus.ACKNOWLEDGED) -> MDMEvent:
    report = CommandReport(
        command_uuid="u-1", enrollment_id="e-1", status=status, request_type=request_type
    )
    return MDMEvent(type=EventType.ALL_COMMAND_RESPONSE, command_report=report)


def test_the_handler_wants_every_security_info_report_and_nothing_else() -> None:
    assert InventoryEventsWorkflow.config.name == INVENTORY_EVENTS == f"{INVENTORY}.events"
    assert InventoryEventsWorkflow.wants(_report("SecurityInfo"))
    assert InventoryEventsWorkflow.wants(_report("SecurityInfo", CommandStatus.NOT_NOW))
    assert not InventoryEventsWorkflow.wants(_report("DeviceInformation"))
    assert not InventoryEventsWorkflow.wants(MDMEvent(type=EventType.IDLE))
    assert not InventoryEventsWorkflow.wants(MDMEvent(type=EventType.ALL_COMMAND_RESPONSE))


def test_registered_as_a_workflow_and_an_event_handler() -> None:
    assert WORKFLOWS[INVENTORY] is InventoryWorkflow
    assert InventoryEventsWorkflow in EVENT_HANDLERS
    assert INVENTORY_EVENTS not in WORKFLOWS


def test_nanocmds_own_test_reports_store_what_nanocmd_stores() -> None:
    """NanoCMD's workflow test feeds these two reports and expects these values."""
    results = FIXTURES / "results"
    if not results.is_dir():
        pytest.skip(f"real-device fixture corpus not found at {FIXTURES}")
    devinfo = ParsedReport.from_plist(
        (results / "DeviceInformation" / "nanocmd--inventory-devinfo.plist").read_bytes()
    )
    secinfo = ParsedReport.from_plist(
        (results / "SecurityInfo" / "nanocmd--inventory-secinfo-macOS.plist").read_bytes()
    )
    queries = DeviceInformationResponse.model_validate(devinfo.payload).query_responses
    assert inventory_values(queries) == {"model": "MacBookPro11,3"}
    details = SecurityInfoResponse.model_validate(secinfo.payload).security_info
    assert security_values(details) == {"sip_enabled": True, "fde_enabled": False}
