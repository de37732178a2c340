"""Temporal visibility queries built safely from values a sender chose (enrollment IDs).

Every value is validated and quoted by :func:`quote`: control characters are refused before
any query is sent (a NUL made Temporal's SQLite visibility fail, and the client then retried an
"unavailable" error for seconds), ``\\`` and ``'`` are escaped, so no value can end the literal
and add a clause of its own.

Quoting is not enough for exact matches. Temporal's SQL visibility stores compare some values
wrongly: a quote at either end of a value is stripped (temporalio/temporal#12019, so
``= 'x\\''`` matches ``x``, not ``x'``), and a value containing ``"`` or ``\\`` never matches,
because the query is re-encoded with backslash escapes SQLite does not read. So the server only
narrows the candidates: ``=`` where that is exact, else ``STARTS_WITH`` the longest prefix it
compares correctly. :func:`enrollment_workflow_ids` then keeps the workflows whose search
attribute equals the enrollment ID exactly. An ID the server cannot narrow at all (starting with
``'``, ``"`` or ``\\``, never a real device's) scans at most ``MAX_CANDIDATES`` workflows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

from temporalio.client import Client

from mdmflow.mdm import limits
from mdmflow.workflows import search

log = logging.getLogger(__name__)
MAX_CANDIDATES = 10_000
RUNNING = "ExecutionStatus = 'Running'"
_NOT_COMPARED = re.compile(r"[\"\\]")


def quote(value: str, where: str) -> str:
    """``value`` as a visibility query string literal; :class:`LimitError` for a control
    character (``where`` names the value in the message)."""
    problem = limits.control_problem(value)
    if problem is not None:
        raise limits.LimitError(where, problem)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def exact_prefix(value: str) -> str:
    """The longest prefix of ``value`` that SQL visibility stores compare as sent."""
    cut = _NOT_COMPARED.search(value)
    prefix = value if cut is None else value[: cut.start()]
    return "" if prefix.startswith("'") else prefix.rstrip("'")


def enrollment_query(enrollment_id: str) -> str:
    """The running workflows whose ``MdmEnrollmentId`` may equal ``enrollment_id``: exactly
    those when the server compares the ID as sent, else a superset to filter."""
    limits.check_id(enrollment_id, "enrollment_id")
    name = search.ENROLLMENT_ID.name
    prefix = exact_prefix(enrollment_id)
    if prefix == enrollment_id:
        return f"{name} = {quote(enrollment_id, 'enrollment_id')} AND {RUNNING}"
    if prefix:
        return f"{name} STARTS_WITH {quote(prefix, 'enrollment_id')} AND {RUNNING}"
    return f"{name} IS NOT NULL AND {RUNNING}"


async def enrollment_workflow_ids(client: Client, enrollment_id: str) -> AsyncIterator[str]:
    """IDs of the running workflows whose ``MdmEnrollmentId`` is exactly ``enrollment_id``."""
    query = enrollment_query(enrollment_id)
    seen = 0
    async for execution in client.list_workflows(query, limit=MAX_CANDIDATES):
        seen += 1
        if execution.typed_search_attributes.get(search.ENROLLMENT_ID) == enrollment_id:
            yield execution.id
    if seen >= MAX_CANDIDATES:
        log.warning(
            "visibility scan stopped at its limit; some workflows may be missed",
            extra={"enrollment_id": enrollment_id, "candidates": seen},
        )
