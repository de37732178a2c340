"""What a scenario measured, and the table ``make faults`` ends with.

A figure is counted in the run that prints it: every number comes from the processes'
observable behaviour (the MDM server's requests, the webhook answers, Temporal's workflow
states), none from configuration. ``lost`` is the one number that decides the exit status.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expectation:
    """One promise the scenario checks, with what was measured against it."""

    promise: str
    met: bool
    measured: str


@dataclass
class Figure:
    key: str
    title: str
    line: str = ""
    lost: int = 0
    """Steps, workflows or reports lost for good: anything above 0 fails ``make faults``."""
    expectations: list[Expectation] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def expect(self, promise: str, met: bool, measured: str) -> None:
        self.expectations.append(Expectation(promise, met, measured))

    @property
    def unmet(self) -> list[Expectation]:
        return [e for e in self.expectations if not e.met]

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "ERROR"
        if self.lost:
            return "LOST"
        return "ok" if not self.unmet else "UNMET"

    def heading(self) -> str:
        return f"({self.key}) {self.title}: {self.line}"


def seconds_summary(values: Sequence[float]) -> str:
    if not values:
        return "none measured"
    return f"max {max(values):.1f} s, median {statistics.median(values):.1f} s"


def table(figures: Sequence[Figure]) -> str:
    """The closing table: one row per scenario, then every unmet promise spelled out."""
    rows = [("", "scenario", "lost", "verdict", "time"), *[_row(f) for f in figures]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for figure in figures:
        lines.append(f"({figure.key}) {figure.line}")
        if figure.error is not None:
            lines.append(f"    error: {figure.error}")
        for unmet in figure.unmet:
            lines.append(f"    unmet: {unmet.promise} — measured {unmet.measured}")
    return "\n".join(lines)


def _row(figure: Figure) -> tuple[str, str, str, str, str]:
    return (
        f"({figure.key})",
        figure.title,
        str(figure.lost),
        figure.verdict,
        f"{figure.seconds:.0f} s",
    )
