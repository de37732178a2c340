"""Fleet generation: deterministic, realistic, and every device answers like real hardware."""

from __future__ import annotations

import re

from mdmflow.simulator import generate_fleet

MODEL = re.compile(r"^(MacBookPro|MacBookAir|Macmini|iMac|Mac)\d+,\d+$")
UDID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    assert generate_fleet(50, seed=3) == generate_fleet(50, seed=3)
    assert [d.udid for d in generate_fleet(5, seed=3)] != [d.udid for d in generate_fleet(5, 4)]
    assert generate_fleet(0, seed=1) == []


def test_macs_look_like_real_macs() -> None:
    fleet = generate_fleet(200, seed=11)
    assert len({d.udid for d in fleet}) == 200
    assert len({d.serial_number for d in fleet}) == 200
    for device in fleet:
        assert UDID.match(device.udid)
        assert len(device.serial_number) == 12
        assert device.serial_number.isalnum()
        assert device.serial_number.isupper()
        assert MODEL.match(device.model)
        assert device.product_name == device.model
        assert MAC.match(device.ethernet_mac)
        major = device.os_version.split(".")[0]
        assert (major, device.build_version[:2]) in {("14", "23"), ("15", "24")}
        assert device.user is not None
        assert device.user_enrollment_id == f"{device.udid}:{device.user.user_id}"
        assert device.local_host_name.replace("-", "").isalnum()
        assert device.enrolled
        assert [c.is_identity for c in device.certificates] == [False, True]
        assert device.certificates[1].der[0] == 0x30  # DER SEQUENCE
    assert {d.is_apple_silicon for d in fleet} == {True, False}
    assert {d.has_battery for d in fleet} == {True, False}


def test_ios_ratio_mixes_in_iphones_and_ipads() -> None:
    fleet = generate_fleet(100, seed=5, ios_ratio=0.5)
    ios = [d for d in fleet if d.platform == "iOS"]
    assert 20 < len(ios) < 80
    for device in ios:
        assert device.product_name.startswith(("iPhone", "iPad"))
        assert device.user is None
        assert device.ethernet_mac == ""
        assert device.os_version.split(".")[0] in {"17", "18"}
