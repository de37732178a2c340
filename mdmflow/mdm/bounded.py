"""A bounded view of a report payload: what a workflow may hold of an answer of any size.

A device may answer with megabytes (thousands of applications, a huge error, a padded value),
while a Temporal payload must stay far below 2 MiB. Workflows decide on small values (a serial
number, FileVault on or off, profile identifiers), so a view keeps the payload's structure and
every small value, and gives way only where the bulk is: long strings first, then long lists.
The whole payload stays in the app database for the activities that need it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mdmflow.mdm.plist import JsonValue
from mdmflow.mdm.reports import ErrorChainItem

MAX_VIEW_BYTES = 256 * 1024
"""The most of one answer a workflow holds (its history stays well under Temporal's limits)."""
LONG_STRING = 4096
"""Strings over this are the first to go when an answer is over the view's size."""


@dataclass(frozen=True)
class PayloadView:
    payload: dict[str, JsonValue]
    truncated: bool


def size_of(value: JsonValue) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def bounded_view(payload: dict[str, JsonValue], limit: int = MAX_VIEW_BYTES) -> PayloadView:
    """``payload`` itself when it fits in ``limit`` bytes of JSON, else a smaller copy: long
    strings left out first, then lists and dictionaries cut to fewer and fewer entries."""
    if size_of(payload) <= limit:
        return PayloadView(payload, truncated=False)
    shortened = _shorten_strings(payload)
    entries = 1024
    view = shortened
    while size_of(view) > limit and entries > 0:
        view = _cap(shortened, entries)
        entries //= 2
    if size_of(view) > limit:
        view = {}
    assert isinstance(view, dict)
    return PayloadView(view, truncated=True)


def _shorten_strings(value: JsonValue) -> JsonValue:
    if isinstance(value, str) and len(value) > LONG_STRING:
        return f"[{len(value)} characters left out of this view]"
    if isinstance(value, list):
        return [_shorten_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _shorten_strings(v) for k, v in value.items()}
    return value


def _cap(value: JsonValue, entries: int) -> JsonValue:
    """Lists and dictionaries (at every depth) cut to their first ``entries`` entries."""
    if isinstance(value, list):
        return [_cap(v, entries) for v in value[:entries]]
    if isinstance(value, dict):
        return {k: _cap(v, entries) for k, v in list(value.items())[:entries]}
    return value


MAX_CHAIN_ITEMS = 8
MAX_CHAIN_TEXT = 1024


def bounded_error_chain(chain: list[ErrorChainItem]) -> list[ErrorChainItem]:
    """The first entries of an error chain with their texts cut short: enough for a workflow
    to say why a command failed, small enough for a signal whatever the device sent."""
    return [
        item.model_copy(
            update={
                "error_domain": _cut(item.error_domain),
                "localized_description": _cut(item.localized_description),
                "us_english_description": _cut(item.us_english_description)
                if item.us_english_description is not None
                else None,
            }
        )
        for item in chain[:MAX_CHAIN_ITEMS]
    ]


def _cut(text: str) -> str:
    if len(text) <= MAX_CHAIN_TEXT:
        return text
    return text[:MAX_CHAIN_TEXT] + f"… [{len(text) - MAX_CHAIN_TEXT} more characters]"
