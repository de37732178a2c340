"""NanoCMD's own settings (``NANOCMD_*`` variables) as fallbacks for mdmflow's.

A NanoCMD deployment already sets ``NANOCMD_API``, ``NANOCMD_ENQUEUE_URL`` and the rest; an admin
who moves to mdmflow should not have to rename them on the first day. Each NanoCMD flag that has
a meaning here fills its ``MDMFLOW_*`` setting when that one is unset, with NanoCMD's parsing
(Go booleans, ``0`` meaning "keep the default" for the two intervals). Flags with no meaning here
are named as ignored, with the reason, so nobody believes they still do something.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

PREFIX = "NANOCMD_"

_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class NanoCMDSettingError(ValueError):
    """A ``NANOCMD_*`` value NanoCMD itself would have refused; the text names the variable."""


def _go_bool(variable: str, value: str) -> bool:
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise NanoCMDSettingError(f"{variable} must be a Go boolean (true/false/1/0), got {value!r}")


def _seconds(variable: str, value: str) -> int | None:
    try:
        seconds = int(value.strip())
    except ValueError:
        raise NanoCMDSettingError(f"{variable} must be whole seconds, got {value!r}") from None
    if seconds < 0:
        raise NanoCMDSettingError(f"{variable} must not be negative, got {value!r}")
    return seconds or None  # NanoCMD ignores 0 and keeps its default; so do we


def _text(_variable: str, value: str) -> str:
    return value


def _debug(variable: str, value: str) -> str | None:
    return "DEBUG" if _go_bool(variable, value) else None


@dataclass(frozen=True)
class _Fallback:
    variable: str
    setting: str
    convert: Callable[[str, str], object]

    @property
    def mdmflow_variable(self) -> str:
        return f"MDMFLOW_{self.setting.upper()}"


FALLBACKS: tuple[_Fallback, ...] = (
    _Fallback("NANOCMD_API", "api_key", _text),
    _Fallback("NANOCMD_ENQUEUE_URL", "enqueue_url", _text),
    _Fallback("NANOCMD_PUSH_URL", "push_url", _text),
    _Fallback("NANOCMD_ENQUEUE_API", "enqueue_api_key", _text),
    _Fallback("NANOCMD_LISTEN", "listen", _text),
    _Fallback("NANOCMD_MICROMDM", "micromdm", _go_bool),
    _Fallback("NANOCMD_STEP_TIMEOUT", "step_timeout", _seconds),
    _Fallback("NANOCMD_REPUSH_INTERVAL", "repush_interval", _seconds),
    _Fallback("NANOCMD_DEBUG", "log_level", _debug),
)
"""Every NanoCMD flag with an mdmflow meaning, and the setting it fills."""

_STORAGE = (
    "mdmflow keeps its state in MDMFLOW_DATABASE_URL; only `mdmflow import nanocmd` reads "
    "NanoCMD's storage, once"
)
IGNORED: Mapping[str, str] = {
    "NANOCMD_STORAGE": _STORAGE,
    "NANOCMD_STORAGE_DSN": _STORAGE,
    "NANOCMD_STORAGE_OPTIONS": _STORAGE,
    "NANOCMD_WORKER_INTERVAL": "Temporal timers replace NanoCMD's polling worker",
    "NANOCMD_DUMP_WEBHOOK": "mdmflow has no webhook dump; GET /v1/intake shows the backlog",
}
"""NanoCMD flags with no meaning here, and why."""


@dataclass(frozen=True)
class NanoCMDFallback:
    """What the ``NANOCMD_*`` variables contribute: setting values, and the lines to say."""

    values: dict[str, object] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    """Setting name → the ``NANOCMD_*`` variable its value came from."""
    used: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def notes(self) -> tuple[str, ...]:
        """One line for the variables used and one for those ignored (none when neither)."""
        lines = []
        if self.used:
            lines.append("using NanoCMD settings: " + "; ".join(self.used))
        if self.ignored:
            lines.append("ignoring NanoCMD settings: " + "; ".join(self.ignored))
        return tuple(lines)


def nanocmd_fallback(environ: Mapping[str, str], given: Mapping[str, object]) -> NanoCMDFallback:
    """The settings ``NANOCMD_*`` variables fill: only where neither the ``MDMFLOW_*`` variable
    nor an explicit value (``given``, e.g. a command-line option) is there."""
    upper = {key.upper(): value for key, value in environ.items()}
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    used: list[str] = []
    ignored: list[str] = []
    for fb in FALLBACKS:
        if fb.variable not in environ:
            continue
        if fb.mdmflow_variable in upper or fb.setting in given:
            ignored.append(f"{fb.variable} ({fb.mdmflow_variable} is set and wins)")
            continue
        value = fb.convert(fb.variable, environ[fb.variable])
        if value is None:
            ignored.append(f"{fb.variable} (this value keeps the default, as in NanoCMD)")
            continue
        values[fb.setting] = value
        sources[fb.setting] = fb.variable
        used.append(f"{fb.variable} as {fb.mdmflow_variable}")
    for variable, reason in IGNORED.items():
        if variable in environ:
            ignored.append(f"{variable} ({reason})")
    return NanoCMDFallback(values, sources, tuple(used), tuple(ignored))


def nanocmd_storage(environ: Mapping[str, str]) -> tuple[str, str]:
    """NanoCMD's ``-storage`` and ``-storage-dsn`` as its environment sets them (empty when
    unset): ``mdmflow import nanocmd`` reads from there unless told otherwise."""
    return environ.get("NANOCMD_STORAGE", ""), environ.get("NANOCMD_STORAGE_DSN", "")
