"""Configuration profiles (.mobileconfig): read, validate and (for workflows) edit.

An upload is XML or binary plist, or either one inside a CMS signature. What the profile
workflow compares with a device's ProfileList is the top level's ``PayloadIdentifier`` and
``PayloadUUID``, so those are read here, once, at upload. Validation follows Apple's
``TopLevel`` and payload keys closely enough that a profile accepted here is not refused by a
device for a missing key; every problem names the key (and the payload) that is wrong.
"""

from __future__ import annotations

import base64
import binascii
import plistlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mdmflow.mdm.cms import CMSError, looks_like_cms, open_signed
from mdmflow.mdm.plist import PlistError, load_dict

PROFILE_MEDIA_TYPE = "application/x-apple-aspen-config"
_DATA_BLOCK = re.compile(rb"<data>(.*?)</data>", re.DOTALL)


class MobileconfigError(ValueError):
    """The bytes are not a usable configuration profile; the message says which key or why."""


@dataclass(frozen=True, slots=True)
class Mobileconfig:
    """A validated profile: its top-level identity plus the bytes exactly as uploaded."""

    identifier: str
    uuid: str
    display_name: str
    raw: bytes
    signers: tuple[str, ...] = ()
    """Subjects of the certificates whose signatures were verified; empty if unsigned."""

    @property
    def signed(self) -> bool:
        return bool(self.signers)


def read_mobileconfig(raw: bytes) -> Mobileconfig:
    """Parse, verify (when signed) and validate a profile; :class:`MobileconfigError` if bad."""
    if not raw:
        raise MobileconfigError("empty body")
    signers: tuple[str, ...] = ()
    plist = raw
    if looks_like_cms(raw):
        try:
            signed = open_signed(raw)
        except CMSError as exc:
            raise MobileconfigError(str(exc)) from None
        plist, signers = signed.content, signed.signers
    body = profile_dict(plist)
    check_profile(body)
    name = body.get("PayloadDisplayName")
    return Mobileconfig(
        identifier=body["PayloadIdentifier"],
        uuid=body["PayloadUUID"],
        display_name=name if isinstance(name, str) else "",
        raw=raw,
        signers=signers,
    )


def profile_dict(plist: bytes) -> dict[str, Any]:
    """The profile's top-level dictionary from XML or binary plist bytes.

    ``<data>`` must be strict base64, as for NanoCMD and devices: Python's plist reader skips
    characters that are not base64, which would hide a damaged embedded certificate.
    """
    try:
        body = load_dict(plist)
    except PlistError as exc:
        raise MobileconfigError(f"unmarshal plist: {exc}") from None
    if not plist.startswith(b"bplist"):
        _check_data_blocks(plist)
    return body


def _check_data_blocks(xml: bytes) -> None:
    for index, match in enumerate(_DATA_BLOCK.finditer(xml)):
        text = re.sub(rb"\s+", b"", match.group(1))
        try:
            base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise MobileconfigError(
                f"unmarshal plist: <data> element {index + 1} is not valid base64 ({exc})"
            ) from None


def check_profile(body: Mapping[str, Any]) -> None:
    """Apple's required top-level keys, then each payload's; raise naming the wrong key."""
    _require_text(body, "PayloadIdentifier", "invalid payload")
    _require_text(body, "PayloadUUID", "invalid payload")
    _require_text(body, "PayloadType", "invalid payload")
    if body["PayloadType"] != "Configuration":
        raise MobileconfigError(
            f"invalid payload: PayloadType is {body['PayloadType']!r}; a profile's top-level "
            "PayloadType must be 'Configuration'"
        )
    if _integer(body.get("PayloadVersion")) != 1:
        raise MobileconfigError("invalid payload: PayloadVersion is not 1")
    content = body.get("PayloadContent")
    if content is None:
        return
    if not isinstance(content, list):
        raise MobileconfigError("invalid payload: PayloadContent is not an array")
    for index, payload in enumerate(content):
        where = f"invalid payload: PayloadContent[{index}]"
        if not isinstance(payload, dict):
            raise MobileconfigError(f"{where} is not a dictionary")
        for key in ("PayloadType", "PayloadIdentifier", "PayloadUUID"):
            _require_text(payload, key, where)
        if _integer(payload.get("PayloadVersion")) is None:
            raise MobileconfigError(
                f"{where} ({payload['PayloadType']}): PayloadVersion is not an integer"
            )


def replace_text(raw: bytes, replacements: Mapping[str, str]) -> bytes:
    """The profile with every replacement applied to its keys and strings, as an XML plist.

    NanoCMD runs Go's ``strings.Replacer`` over the raw bytes. Editing the parsed plist instead
    gives the same text for XML profiles, and stays correct where raw editing is not: values
    are XML-escaped, and binary plists (whose byte lengths are encoded) are re-serialized.
    All keys are replaced in one pass, longest first where two could match at one place, so
    a replacement's output is never replaced again. Signed profiles must not come here.
    """
    if not replacements:
        return raw
    if looks_like_cms(raw):
        raise MobileconfigError("a signed profile cannot be edited without breaking its signature")
    keys = sorted((k for k in replacements if k), key=len, reverse=True)
    if not keys:
        return raw
    pattern = re.compile("|".join(re.escape(k) for k in keys))

    def edit(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda m: replacements[m.group(0)], value)
        if isinstance(value, dict):
            return {edit(k): edit(v) for k, v in value.items()}
        if isinstance(value, list):
            return [edit(v) for v in value]
        return value

    return plistlib.dumps(edit(profile_dict(raw)), fmt=plistlib.FMT_XML, sort_keys=False)


def _require_text(body: Mapping[str, Any], key: str, where: str) -> None:
    value = body.get(key)
    if value is None or value == "":
        raise MobileconfigError(f"{where}: {key} is empty")
    if not isinstance(value, str):
        raise MobileconfigError(f"{where}: {key} is not a string")


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
