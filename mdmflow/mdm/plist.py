"""Plist reading that turns every failure into one clear :class:`PlistError`.

Device reports travel through Temporal as JSON, so :func:`to_json_safe` maps plist values to
JSON values: ``<data>`` becomes base64 text and ``<date>`` ISO-8601 text. Typed response models
declare those fields as ``Base64Bytes`` / ``datetime`` and read them back exactly. The mapping
is where a device's values meet the edge limits (:mod:`mdmflow.mdm.limits`): a value the
worker could not decode or a workflow could not hold is refused here, naming the limit.
"""

from __future__ import annotations

import base64
import datetime as dt
import plistlib
from collections.abc import Mapping
from typing import Any

from pydantic import JsonValue

from mdmflow.mdm import limits

__all__ = ["JsonValue", "PlistError", "dict_to_json_safe", "dump_xml", "load_dict", "to_json_safe"]


class PlistError(ValueError):
    """The bytes are not a property list of the expected shape, or exceed an edge limit."""


def load_dict(raw: bytes) -> dict[str, Any]:
    """Parse XML or binary plist bytes whose top level must be a dictionary."""
    if not raw:
        raise PlistError("empty plist")
    try:
        value = plistlib.loads(raw)
    except RecursionError:
        # plistlib reads binary plists recursively; only nesting far deeper than ours gets here.
        raise PlistError(f"nesting deeper than {limits.MAX_DEPTH} levels") from None
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
    """Map a parsed plist value to JSON (bytes → base64 text, dates → ISO text).

    Raises :class:`PlistError` for a value with no JSON form or over an edge limit; the
    message names the limit and where in the document it was hit.
    """
    try:
        return _JsonMapper().map(value, 0)
    except _RefusalError as exc:
        raise exc.as_plist_error() from None


def dict_to_json_safe(value: Mapping[Any, Any]) -> dict[str, JsonValue]:
    """:func:`to_json_safe` for a top-level dictionary, typed as one."""
    try:
        return _JsonMapper().map_dict(value, 1)
    except _RefusalError as exc:
        raise exc.as_plist_error() from None


class _RefusalError(Exception):
    """Raised deep in the mapping; each container on the way out adds its key to ``path``."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        self.path: list[str] = []

    def as_plist_error(self) -> PlistError:
        where = ".".join(reversed(self.path))
        return PlistError(f"{self.problem} at {where}" if where else self.problem)


class _JsonMapper:
    """One document's mapping, counting its values against ``MAX_ITEMS``."""

    def __init__(self) -> None:
        self.items = 0

    def map(self, value: Any, depth: int) -> JsonValue:
        self.items += 1
        if self.items > limits.MAX_ITEMS:
            raise _RefusalError(f"more than {limits.MAX_ITEMS:,} values")
        if isinstance(value, str):
            _check(limits.text_problem(value))
            return value
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            _check(limits.number_problem(value))
            return value
        if isinstance(value, bytes):
            _check(limits.text_problem(value))
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
            return aware.isoformat()
        if isinstance(value, dict | list | tuple):
            return self._container(value, depth + 1)
        if isinstance(value, plistlib.UID):
            _check(limits.number_problem(value.data))
            return value.data
        raise _RefusalError(f"value of type {type(value).__name__} has no JSON form")

    def _container(
        self, value: dict[Any, Any] | list[Any] | tuple[Any, ...], depth: int
    ) -> JsonValue:
        if isinstance(value, dict):
            return self.map_dict(value, depth)
        self._enter(value, depth)
        listed: list[JsonValue] = []
        for index, item in enumerate(value):
            try:
                listed.append(self.map(item, depth))
            except _RefusalError as exc:
                exc.path.append(str(index))
                raise
        return listed

    def map_dict(self, value: Mapping[Any, Any], depth: int) -> dict[str, JsonValue]:
        self._enter(value, depth)
        mapped: dict[str, JsonValue] = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else str(key)
            try:
                _check(limits.text_problem(name))
                mapped[name] = self.map(item, depth)
            except _RefusalError as exc:
                exc.path.append(_path_key(name))
                raise
        return mapped

    @staticmethod
    def _enter(value: Mapping[Any, Any] | list[Any] | tuple[Any, ...], depth: int) -> None:
        if depth > limits.MAX_DEPTH:
            raise _RefusalError(f"nesting deeper than {limits.MAX_DEPTH} levels")
        if len(value) > limits.MAX_ENTRIES:
            raise _RefusalError(f"more than {limits.MAX_ENTRIES:,} entries in one container")


def _path_key(name: str) -> str:
    """A key as a refusal's path shows it: short and printable keys as they are."""
    if name.isprintable() and len(name) <= limits.EXCERPT_LENGTH and "." not in name:
        return name
    return limits.excerpt(name)


def _check(problem: str | None) -> None:
    if problem is not None:
        raise _RefusalError(problem)
