"""Configuration profiles on a simulated device: reading InstallProfile payloads, listing them.

The raw bytes a server sent are kept, so a ProfileList answer is derived from exactly what was
installed (its PayloadIdentifier/PayloadUUID are what NanoCMD-style workflows compare).
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from typing import Any

from mdmflow.mdm.cms import CMSError, looks_like_cms, open_signed
from mdmflow.mdm.plist import PlistError, load_dict

_CONTENT_KEYS = (
    "PayloadType",
    "PayloadVersion",
    "PayloadIdentifier",
    "PayloadUUID",
    "PayloadDisplayName",
    "PayloadDescription",
    "PayloadOrganization",
)
_PROFILE_KEYS = (
    "PayloadIdentifier",
    "PayloadUUID",
    "PayloadDisplayName",
    "PayloadVersion",
    "PayloadOrganization",
    "PayloadDescription",
)


class ProfileError(ValueError):
    """The InstallProfile payload is not a profile the device can read."""


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """A profile on the device; ``managed`` means an MDM InstallProfile put it there."""

    identifier: str
    uuid: str
    display_name: str
    raw: bytes
    managed: bool


def read_profile(payload: bytes, *, managed: bool) -> DeviceProfile:
    """Parse an InstallProfile ``Payload`` (plain or CMS-signed) into an installable profile."""
    body = profile_body(payload)
    identifier = body.get("PayloadIdentifier")
    uuid = body.get("PayloadUUID")
    if not isinstance(identifier, str) or not identifier:
        raise ProfileError("profile has no PayloadIdentifier")
    if not isinstance(uuid, str) or not uuid:
        raise ProfileError("profile has no PayloadUUID")
    name = body.get("PayloadDisplayName")
    return DeviceProfile(
        identifier=identifier,
        uuid=uuid,
        display_name=name if isinstance(name, str) else "",
        raw=payload,
        managed=managed,
    )


def build_profile(
    identifier: str, uuid: str, display_name: str, content: list[dict[str, Any]]
) -> bytes:
    """A .mobileconfig as a server would send it (used for a fleet's pre-installed profiles)."""
    return plistlib.dumps(
        {
            "PayloadContent": content,
            "PayloadDisplayName": display_name,
            "PayloadIdentifier": identifier,
            "PayloadType": "Configuration",
            "PayloadUUID": uuid,
            "PayloadVersion": 1,
        }
    )


def profile_list_item(profile: DeviceProfile, *, ios: bool) -> dict[str, Any]:
    """One ProfileList entry; ``IsManaged`` is an iOS-only key (Apple's profile.list.yaml)."""
    body = profile_body(profile.raw)
    item: dict[str, Any] = {key: body[key] for key in _PROFILE_KEYS if key in body}
    item["PayloadRemovalDisallowed"] = bool(body.get("PayloadRemovalDisallowed", False))
    item["HasRemovalPasscode"] = False
    item["IsEncrypted"] = False
    item["PayloadContent"] = [
        {key: payload[key] for key in _CONTENT_KEYS if key in payload}
        for payload in body.get("PayloadContent") or []
        if isinstance(payload, dict)
    ]
    if ios:
        item["IsManaged"] = profile.managed
    return item


def profile_body(payload: bytes) -> dict[str, Any]:
    """The profile's dictionary: plist bytes, or the plist inside a CMS signature, which is
    verified first (a device refuses a profile whose signature does not match)."""
    content = payload
    if looks_like_cms(payload):
        try:
            content = open_signed(payload).content
        except CMSError as exc:
            raise ProfileError(str(exc)) from None
    try:
        return load_dict(content)
    except PlistError as exc:
        raise ProfileError(str(exc)) from None
