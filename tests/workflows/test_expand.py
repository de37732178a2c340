"""``expand_params``: NanoCMD's table test for cmdplan names, plus Go ``os.Expand``'s edges."""

from __future__ import annotations

import pytest

from mdmflow.workflows.expand import expand_params


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        # workflow/cmdplan/workflow_test.go, case for case
        ("a", {}, "a"),
        ("a${b}c", {}, "ac"),
        ("a${b:x}c", {}, "axc"),
        ("a${b:x}c", {"b": "g"}, "agc"),
        ("a${b:x:1}c", {}, "ax:1c"),
    ],
)
def test_nanocmd_table(text: str, params: dict[str, str], expected: str) -> None:
    assert expand_params(text, params) == expected


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        ("plan-$site", {"site": "lab"}, "plan-lab"),
        ("plan-$site.v2", {"site": "lab"}, "plan-lab.v2"),
        ("$site_x", {"site": "lab", "site_x": "underscore"}, "underscore"),
        ("${site:default}", {"site": ""}, ""),  # present but empty stays empty
        ("${site}", {"site": "a b"}, "a b"),
        ("cost$", {}, "cost$"),  # a trailing $ stays
        ("a$-b", {"-": "dash"}, "adashb"),  # one-character shell special name
        ("a${1}b", {"1": "one"}, "aoneb"),
        ("a$ b", {}, "a$ b"),  # $ not followed by a name stays
        ("a${}b", {}, "ab"),  # bad syntax: Go eats "${}"
        ("a${b", {}, "ab"),  # no closing brace: Go eats "${"
        ("$$", {"$": "pid"}, "pid"),
        ("é${x}é", {"x": "ü"}, "éüé"),
    ],
)
def test_go_os_expand_semantics(text: str, params: dict[str, str], expected: str) -> None:
    assert expand_params(text, params) == expected
