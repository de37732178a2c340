"""``${name}`` / ``${name:fallback}`` / ``$name`` expansion, exactly as NanoCMD's cmdplan does it.

NanoCMD runs Go's ``os.Expand`` over the plan name with the enrollment's URL params as the
mapping. This is a port of ``os.Expand`` (including its shell-special one-character names and
the way it eats broken ``${``) with NanoCMD's mapping: ``name:fallback`` splits at the first
``:`` and falls back only when the key is absent (a present but empty value stays empty).
"""

from __future__ import annotations

from collections.abc import Mapping

_SPECIAL = frozenset("*#$@!?-0123456789")


def expand_params(text: str, params: Mapping[str, str]) -> str:
    """Expand every ``$`` reference in ``text`` from ``params`` (Go ``os.Expand`` rules)."""
    out: list[str] = []
    start = 0
    j = 0
    while j < len(text):
        if text[j] == "$" and j + 1 < len(text):
            out.append(text[start:j])
            name, width = _shell_name(text[j + 1 :])
            if name == "" and width > 0:
                pass  # invalid syntax ("${", "${}"): Go eats the characters
            elif name == "":
                out.append("$")  # "$" not followed by a name stays
            else:
                out.append(_lookup(name, params))
            j += width
            start = j + 1
        j += 1
    if not out:
        return text
    return "".join(out) + text[start:]


def _lookup(name: str, params: Mapping[str, str]) -> str:
    key, sep, fallback = name.partition(":")
    if sep:
        return params.get(key, fallback)
    return params.get(name, "")


def _shell_name(rest: str) -> tuple[str, int]:
    """Go's ``getShellName``: the name after ``$`` and how many characters it used."""
    if rest[0] == "{":
        if len(rest) > 2 and rest[1] in _SPECIAL and rest[2] == "}":
            return rest[1], 3
        close = rest.find("}", 1)
        if close == 1:
            return "", 2  # "${}"
        if close < 0:
            return "", 1  # "${" without a closing brace
        return rest[1:close], close + 1
    if rest[0] in _SPECIAL:
        return rest[0], 1
    width = 0
    while width < len(rest) and _alphanumeric(rest[width]):
        width += 1
    return rest[:width], width


def _alphanumeric(char: str) -> bool:
    return char == "_" or (char.isascii() and char.isalnum())
