"""The limits every input meets at the edge, in one place; each refusal names its limit.

A webhook is public and an MDM server relays whatever a device sends, so whatever the bridge
accepts must be something the worker can decode and a workflow can hold. Parsers check values
against these numbers and refuse with a message naming the field and the limit, such as
``raw_payload: nesting deeper than 32 levels`` or ``udid: control character U+0000 not allowed``.

Why these numbers:

- ``MAX_DEPTH`` 32: the deepest real answers (ProfileList, CertificateList, SecurityInfo,
  InstalledApplicationList) nest at most 6 containers. 32 leaves five-fold room and stays far
  below the depths where the recursive readers on the way fail: pydantic's JSON (about 200),
  Python's recursion limit (1,000) and the Temporal SDK's decoding of a signal.
- ``MAX_ID_BYTES`` 255: enrollment IDs and command UUIDs are keys of the app database
  (``VARCHAR(255)``). Counting UTF-8 bytes, not characters, also keeps a workflow ID
  ``{name}/{enrollment_id}`` within Temporal's 1,000-byte limit.
- No control characters (C0, DEL, C1) and no lone surrogates in IDs: an ID becomes a database
  key, a workflow ID, a search attribute and part of a visibility query. PostgreSQL cannot store
  NUL, and a query with one fails.
- ``MAX_STRING_LENGTH`` 4 MiB for one string or ``<data>`` value: the default webhook body limit.
  Any value that fits a default-sized body passes (large answers are stored by reference, not
  refused). Raising ``MDMFLOW_MAX_WEBHOOK_BYTES`` does not raise this limit.
- ``MAX_ENTRIES`` 50,000 per array or dictionary: a Mac full of apps lists a few thousand in
  InstalledApplicationList, and certificate and profile lists are far smaller.
- ``MAX_ITEMS`` 250,000 values in one document: a real 3 MiB answer holds fewer than 100,000.
  The limit matters for binary plists, which can reference one object many times, so that a
  small body would otherwise expand exponentially when it is converted to JSON.
- Integers within 64 bits, the range plists carry. Reals must be finite: JSON has no NaN or
  Infinity, and Temporal's converter would silently turn them into ``null``.
- ``MAX_URL_PARAMS`` 64 entries, values of at most ``MAX_URL_PARAM_LENGTH`` 2,048 characters:
  ``url_params`` are the query of the enrollment URL, itself a URL of a few hundred characters
  at most. Their keys follow the ID rules, and their values may not hold control characters
  either, because they reach database lookups through ``${param}`` expansion.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

MAX_DEPTH = 32
MAX_ID_BYTES = 255
MAX_STRING_LENGTH = 4 * 1024 * 1024
MAX_ENTRIES = 50_000
MAX_ITEMS = 250_000
MIN_INT = -(2**63)
MAX_INT = 2**64 - 1
MAX_URL_PARAMS = 64
MAX_URL_PARAM_LENGTH = 2048
EXCERPT_LENGTH = 40

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class LimitError(ValueError):
    """A value is over one of the edge limits; ``where`` names the field, ``problem`` the limit."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


def control_problem(value: str) -> str | None:
    """Why ``value`` holds a character no ID or parameter may hold, or None."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    code = ord(found.group())
    kind = "lone surrogate" if 0xD800 <= code <= 0xDFFF else "control character"
    return f"{kind} U+{code:04X} not allowed"


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be an enrollment ID, UDID, command UUID or topic, or None."""
    if len(value) > MAX_ID_BYTES:
        return f"longer than {MAX_ID_BYTES} bytes"
    problem = control_problem(value)
    if problem is not None:
        return problem
    if len(value.encode("utf-8")) > MAX_ID_BYTES:
        return f"longer than {MAX_ID_BYTES} bytes (UTF-8)"
    return None


def check_id(value: str, where: str) -> str:
    """``value`` if it may be an ID, else :class:`LimitError` naming ``where``."""
    problem = id_problem(value)
    if problem is not None:
        raise LimitError(where, problem)
    return value


def text_problem(value: str | bytes) -> str | None:
    """Why one string or ``<data>`` value is too long, or None."""
    if len(value) <= MAX_STRING_LENGTH:
        return None
    unit = "bytes" if isinstance(value, bytes) else "characters"
    kind = "data" if isinstance(value, bytes) else "string"
    return f"{kind} longer than {MAX_STRING_LENGTH:,} {unit}"


def number_problem(value: int | float) -> str | None:
    """Why a number cannot travel as JSON through Temporal, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"real {value} not allowed (not finite)"
    if MIN_INT <= value <= MAX_INT:
        return None
    return "integer outside the 64-bit range"


def url_params_problem(params: dict[str, str]) -> str | None:
    """Why ``url_params`` cannot be carried into workflow starts, or None."""
    if len(params) > MAX_URL_PARAMS:
        return f"more than {MAX_URL_PARAMS} entries"
    for key, value in params.items():
        problem = id_problem(key)
        if problem is not None:
            return f"key {excerpt(key)}: {problem}"
        if len(value) > MAX_URL_PARAM_LENGTH:
            return f"{excerpt(key)}: longer than {MAX_URL_PARAM_LENGTH} characters"
        problem = control_problem(value)
        if problem is not None:
            return f"{excerpt(key)}: {problem}"
    return None


def excerpt(value: Any) -> str:
    """``repr(value)`` cut to a few dozen characters: refusals quote input, never all of it."""
    text = repr(value)
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 3] + "..."


def _refuse(problem: str | None) -> None:
    if problem is not None:
        # The reason is context, not the template, so braces in input cannot format anything.
        raise PydanticCustomError("input_limit", "{reason}", {"reason": problem})


def _valid_id(value: str) -> str:
    _refuse(id_problem(value))
    return value


def _valid_url_params(value: dict[str, str]) -> dict[str, str]:
    _refuse(url_params_problem(value))
    return value


BoundedID = Annotated[str, AfterValidator(_valid_id)]
"""A pydantic ``str`` that follows the ID rules; a refusal reads ``field: problem``."""

BoundedURLParams = Annotated[dict[str, str], AfterValidator(_valid_url_params)]
"""A pydantic ``url_params`` mapping within the URL parameter limits."""
