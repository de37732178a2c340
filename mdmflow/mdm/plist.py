"""Plist reading that turns every failure into one clear :class:`PlistError`.

Device reports travel through Temporal as JSON, so :func:`to_json_safe` maps plist values to
JSON values: ``<data>`` becomes base64 text and ``<date>`` ISO-8601 text. Typed response models
declare those fields as ``Base64Bytes`` / ``datetime`` and read them back exactly.
"""

from __future__ import annotations

import base64
import datetime as dt
import plistlib
from collections.abc import Mapping
from typing import Any

from pydantic import JsonValue

__all__ = ["JsonValue", "PlistError", "dump_xml", "load_dict", "to_json_safe"]


class PlistError(ValueError):
    """The bytes are not a property list of the expected shape."""


def load_dict(raw: bytes) -> dict[str, Any]:
    """Parse XML or binary plist bytes whose top level must be a dictionary."""
    if not raw:
        raise PlistError("empty plist")
    try:
        value = plistlib.loads(raw)
    except (plistlib.InvalidFileException, ValueError, TypeError, OverflowError) as exc:
        raise PlistError(f"not a valid plist: {exc or type(exc).__name__}") from None
    except Exception as exc:  # expat raises its own error types for broken XML
        raise PlistError(f"not a valid plist: {exc}") from None
    if not isinstance(value, dict):
        raise PlistError(f"plist top level is {type(value).__name__}, expected a dictionary")
    return value


def dump_xml(value: Mapping[str, Any]) -> bytes:
    """Serialize a dictionary as the XML plist devices and MDM servers expect."""
    return plistlib.dumps(dict(value), fmt=plistlib.FMT_XML, sort_keys=False)


def to_json_safe(value: Any) -> JsonValue:
    """Map a parsed plist value to JSON (bytes → base64 text, dates → ISO text)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.isoformat()
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_safe(v) for v in value]
    if isinstance(value, plistlib.UID):
        return value.data
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise PlistError(f"value of type {type(value).__name__} has no JSON form")
