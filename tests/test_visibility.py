"""Visibility query building as pure code: quoting, refusals and which query an ID gets.

tests/bridge/test_cancel_query.py shows the same against the real dev server.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdmflow.mdm.limits import LimitError
from mdmflow.visibility import enrollment_query, exact_prefix, quote

RUNNING = "AND ExecutionStatus = 'Running'"


def unquote(literal: str) -> str:
    """Read one single-quoted literal as Temporal's query parser does (backslash escapes);
    fail if the literal ends before the last character, where an injection would go on."""
    assert literal[0] == "'"
    out, at = [], 1
    while literal[at] != "'":
        if literal[at] == "\\":
            at += 1
        out.append(literal[at])
        at += 1
    assert at == len(literal) - 1, f"literal ends early at {at}: {literal!r}"
    return "".join(out)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"])))
def test_any_value_without_control_characters_stays_one_literal(value: str) -> None:
    assert unquote(quote(value, "v")) == value


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "'plain'"),
        ("x' OR MdmEnrollmentId = 'y", "'x\\' OR MdmEnrollmentId = \\'y'"),
        ("back\\", "'back\\\\'"),
        ('say "hi"', "'say \"hi\"'"),
    ],
)
def test_quote(value: str, literal: str) -> None:
    assert quote(value, "v") == literal


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1f", "\x7f", "\x85"])
def test_quote_refuses_control_characters(char: str) -> None:
    with pytest.raises(LimitError, match=rf"^enrollment_id: control character U\+{ord(char):04X}"):
        quote(f"dev{char}ice", "enrollment_id")


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        ("E3568F17-92ED-450A-8904-C3BF4CB7E9A5", "E3568F17-92ED-450A-8904-C3BF4CB7E9A5"),
        ("dev'ice", "dev'ice"),
        ("dev'ice\"x", "dev'ice"),
        ("back\\slash", "back"),
        ("x'", "x"),
        ("x''", "x"),
        ("'x", ""),
        ('"x', ""),
    ],
)
def test_exact_prefix(value: str, prefix: str) -> None:
    assert exact_prefix(value) == prefix


def test_a_plain_id_is_matched_by_the_server() -> None:
    assert enrollment_query("dev'ice") == f"MdmEnrollmentId = 'dev\\'ice' {RUNNING}"


@pytest.mark.parametrize(
    ("value", "query"),
    [
        ("dev'ice\"x OR y", "MdmEnrollmentId STARTS_WITH 'dev\\'ice'"),
        ("x'", "MdmEnrollmentId STARTS_WITH 'x'"),
        ("'x'", "MdmEnrollmentId IS NOT NULL"),
    ],
)
def test_an_id_the_server_compares_wrongly_gets_a_superset_query(value: str, query: str) -> None:
    assert enrollment_query(value) == f"{query} {RUNNING}"


def test_enrollment_query_holds_the_id_to_the_id_rules() -> None:
    with pytest.raises(LimitError, match=r"^enrollment_id: longer than 255 bytes$"):
        enrollment_query("x" * 256)
