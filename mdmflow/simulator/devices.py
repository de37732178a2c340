"""Simulated devices: plain state objects, generated deterministically from a seed.

A device is only data (no task, no timer), so one process holds thousands; a device "runs"
only while the simulator plays one of its sessions. Values follow real hardware (model
identifiers, matching OS versions and builds, disk sizes in GiB as devices report them).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from typing import Literal

from mdmflow.simulator.certificates import Certificate, make_certificate
from mdmflow.simulator.device_filevault import KEY_ALPHABET, FileVault
from mdmflow.simulator.profiles import DeviceProfile, build_profile

Platform = Literal["macOS", "iOS"]

ENROLLMENT_PROFILE_ID = "com.example.mdmflow.enrollment"
CA_NAME = "mdmflow Simulator CA"

# identifier, ModelName, Apple silicon, battery
_MACS: tuple[tuple[str, str, bool, bool], ...] = (
    ("MacBookPro18,3", "MacBook Pro", True, True),
    ("MacBookPro18,1", "MacBook Pro", True, True),
    ("Mac14,2", "MacBook Air", True, True),
    ("Mac15,3", "MacBook Pro", True, True),
    ("MacBookAir10,1", "MacBook Air", True, True),
    ("Mac14,3", "Mac mini", True, False),
    ("Mac13,1", "Mac Studio", True, False),
    ("iMac21,1", "iMac", True, False),
    ("MacBookPro16,1", "MacBook Pro", False, True),
    ("iMac20,1", "iMac", False, False),
)
# ProductName, ModelName, Model (model number)
_IOS_DEVICES: tuple[tuple[str, str, str], ...] = (
    ("iPhone14,5", "iPhone", "MLPF3LL/A"),
    ("iPhone15,2", "iPhone", "MQ0T3LL/A"),
    ("iPhone16,1", "iPhone", "MTLX3LL/A"),
    ("iPad13,18", "iPad", "MPQ03LL/A"),
)
_MACOS_RELEASES = (
    ("14.6.1", "23G93"),
    ("14.7", "23H124"),
    ("14.7.1", "23H222"),
    ("15.0.1", "24A348"),
    ("15.1", "24B83"),
    ("15.1.1", "24B91"),
    ("15.2", "24C101"),
)
_IOS_RELEASES = (("17.6.1", "21G93"), ("17.7", "21H16"), ("18.1", "22B83"), ("18.2", "22C152"))
_DISK_GB = (256, 512, 1024)
_APPLE_OUIS = ("a4:83:e7", "3c:22:fb", "f0:18:98", "8c:85:90", "bc:d0:74", "14:7d:da")
_SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O, like Apple serials
_SERIAL_PREFIXES = ("C02", "C07", "FVF", "H4T", "F9F")
_APOSTROPHE = "\u2019"  # device names use the typographic apostrophe, as macOS does
_FIRST_NAMES = ("Ada", "Grace", "Alan", "Linus", "Joan", "Ken", "Radia", "Dennis", "Barbara")
_LAST_NAMES = ("Appleseed", "Hopper", "Turing", "Lovelace", "Clarke", "Perlman", "Liskov")


@dataclass(frozen=True, slots=True)
class SimulatedUser:
    """The console user of a Mac: its user channel is enrolled as ``UDID:UserID``."""

    user_id: str
    short_name: str
    long_name: str


@dataclass(slots=True)
class SimulatedDevice:
    """One enrolled device; fields are what its MDM client reports, mutated by commands."""

    udid: str
    serial_number: str
    platform: Platform
    model: str
    model_name: str
    product_name: str
    device_name: str
    os_version: str
    build_version: str
    ethernet_mac: str
    wifi_mac: str
    bluetooth_mac: str
    is_apple_silicon: bool
    has_battery: bool
    battery_level: float
    device_capacity: float
    available_capacity: float
    supervised: bool
    sip_enabled: bool
    fde_enabled: bool
    firewall_enabled: bool
    user: SimulatedUser | None = None
    profiles: dict[str, DeviceProfile] = field(default_factory=dict)
    certificates: list[Certificate] = field(default_factory=list)
    enrolled: bool = True
    awaiting_configuration: bool = False
    refused_profiles: set[str] = field(default_factory=set)
    """PayloadIdentifiers this device refuses to install (answering Error), e.g. a payload
    its OS does not support; tests set it to see a failed InstallProfile."""
    filevault: FileVault = field(default_factory=FileVault)
    lock_pin: str | None = None
    """The Find My PIN of the last DeviceLock, as the device would show it."""

    @property
    def is_macos(self) -> bool:
        return self.platform == "macOS"

    @property
    def local_host_name(self) -> str:
        cleaned = "".join(
            c if c.isalnum() else "-" for c in self.device_name.replace(_APOSTROPHE, "")
        )
        return "-".join(part for part in cleaned.split("-") if part)

    @property
    def user_enrollment_id(self) -> str | None:
        """NanoMDM's id for the user channel (``UDID:UserID``), or None without a user."""
        return f"{self.udid}:{self.user.user_id}" if self.user else None


def generate_fleet(n: int, seed: int, *, ios_ratio: float = 0.0) -> list[SimulatedDevice]:
    """``n`` devices; the same ``(n, seed, ios_ratio)`` always yields the same fleet."""
    rng = random.Random(seed)
    epoch = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    ca = Certificate(
        CA_NAME,
        False,
        make_certificate(rng, common_name=CA_NAME, issuer=CA_NAME, not_before=epoch, days=3650),
    )
    enrollment = _enrollment_profile(rng)
    fleet = []
    for _ in range(n):
        device = _ios(rng) if rng.random() < ios_ratio else _mac(rng)
        identity_name = f"mdmflow device identity {device.udid}"
        identity = make_certificate(
            rng,
            common_name=identity_name,
            issuer=CA_NAME,
            not_before=epoch + dt.timedelta(days=rng.randrange(365)),
            days=365,
        )
        device.certificates = [ca, Certificate(identity_name, True, identity)]
        device.profiles = {enrollment.identifier: enrollment}
        fleet.append(device)
    return fleet


def _enrollment_profile(rng: random.Random) -> DeviceProfile:
    """The MDM profile every device enrolled with; unmanaged (installed by ADE/the user)."""
    identifier, profile_uuid, name = ENROLLMENT_PROFILE_ID, _uuid(rng), "MDM Enrollment"
    mdm_payload = {
        "PayloadType": "com.apple.mdm",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.mdm",
        "PayloadUUID": _uuid(rng),
        "PayloadDisplayName": "Mobile Device Management",
        "ServerURL": "https://mdm.example.com/mdm",
        "CheckInURL": "https://mdm.example.com/mdm",
        "Topic": "com.apple.mgmt.External.00000000-0000-0000-0000-000000000000",
        "AccessRights": 8191,
        "SignMessage": True,
    }
    raw = build_profile(identifier, profile_uuid, name, [mdm_payload])
    return DeviceProfile(identifier, profile_uuid, name, raw, managed=False)


def _mac(rng: random.Random) -> SimulatedDevice:
    identifier, model_name, silicon, battery = rng.choice(_MACS)
    version, build = rng.choice(_MACOS_RELEASES)
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    capacity = _gib(rng.choice(_DISK_GB))
    device = SimulatedDevice(
        udid=_uuid(rng),
        serial_number=_serial(rng),
        platform="macOS",
        model=identifier,
        model_name=model_name,
        product_name=identifier,
        device_name=f"{first}{_APOSTROPHE}s {model_name}",
        os_version=version,
        build_version=build,
        ethernet_mac=_mac_address(rng),
        wifi_mac=_mac_address(rng),
        bluetooth_mac=_mac_address(rng),
        is_apple_silicon=silicon,
        has_battery=battery,
        battery_level=round(rng.uniform(0.2, 1.0), 2) if battery else 0.0,
        device_capacity=capacity,
        available_capacity=round(capacity * rng.uniform(0.1, 0.8), 2),
        supervised=rng.random() < 0.7,
        sip_enabled=rng.random() < 0.97,
        fde_enabled=rng.random() < 0.8,
        firewall_enabled=rng.random() < 0.6,
        user=SimulatedUser(
            user_id=_uuid(rng), short_name=f"{first[0]}{last}".lower(), long_name=f"{first} {last}"
        ),
    )
    if device.fde_enabled:
        device.filevault.recovery_key = _recovery_key(device.udid)
    return device


def _ios(rng: random.Random) -> SimulatedDevice:
    product, model_name, model = rng.choice(_IOS_DEVICES)
    version, build = rng.choice(_IOS_RELEASES)
    capacity = _gib(rng.choice(_DISK_GB[:2]))
    return SimulatedDevice(
        udid=_uuid(rng),
        serial_number=_serial(rng),
        platform="iOS",
        model=model,
        model_name=model_name,
        product_name=product,
        device_name=f"{rng.choice(_FIRST_NAMES)}{_APOSTROPHE}s {model_name}",
        os_version=version,
        build_version=build,
        ethernet_mac="",
        wifi_mac=_mac_address(rng),
        bluetooth_mac=_mac_address(rng),
        is_apple_silicon=False,
        has_battery=True,
        battery_level=round(rng.uniform(0.2, 1.0), 2),
        device_capacity=capacity,
        available_capacity=round(capacity * rng.uniform(0.1, 0.8), 2),
        supervised=rng.random() < 0.7,
        sip_enabled=False,
        fde_enabled=False,
        firewall_enabled=False,
    )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def _serial(rng: random.Random) -> str:
    return rng.choice(_SERIAL_PREFIXES) + "".join(rng.choices(_SERIAL_CHARS, k=9))


def _recovery_key(udid: str) -> str:
    """The key of a Mac that had FileVault on before enrolling; its own generator, so the
    fleet's other values stay what they were for a seed."""
    rng = random.Random(f"recovery-key/{udid}")
    return "-".join("".join(rng.choices(KEY_ALPHABET, k=4)) for _ in range(6))


def _mac_address(rng: random.Random) -> str:
    return rng.choice(_APPLE_OUIS) + "".join(f":{rng.randrange(256):02x}" for _ in range(3))


def _gib(gigabytes: int) -> float:
    """Devices report capacity in GiB of a decimal-GB disk (1024 GB reads as 953.67)."""
    return round(gigabytes * 1e9 / 2**30, 2)
