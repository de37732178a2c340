"""Enrollment IDs of a start as they arrive: a JSON list, or one per line (a file, a body).

10,000 IDs do not fit in a query string, so the start API and ``mdmflow start --ids-file``
take them in a body or a file too. Both read them here, with the same limits.
"""

from __future__ import annotations

import json

MAX_START_IDS = 100_000
"""IDs in one start: ten times the largest fleet measured here, and 4 MB of UUIDs."""
MAX_START_BODY_BYTES = 32 * 1024 * 1024
"""Room for :data:`MAX_START_IDS` IDs of the longest allowed length (255 bytes) and quotes."""


class IdListError(ValueError):
    """The list of IDs cannot be read; the message says where and why."""


def parse_ids(raw: bytes, json_list: bool) -> list[str]:
    """IDs from a JSON list of strings (``json_list``), or else one per line; blank lines and
    lines starting with ``#`` are skipped."""
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise IdListError(f"IDs are not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if json_list:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IdListError(f"IDs are not JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            raise IdListError("the IDs must be a JSON list of strings")
        ids: list[str] = value
    else:
        ids = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    if len(ids) > MAX_START_IDS:
        raise IdListError(f"more than {MAX_START_IDS:,} IDs in one start")
    return ids
