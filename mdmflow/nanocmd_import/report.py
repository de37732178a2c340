"""The import's report: what was (or, in a dry run, would be) imported, kept, or refused and why.

Named things (profiles, plans, subscriptions, the key pair, open steps) get a line each;
per-enrollment data (inventory, last-started times) is added up, except for what was kept or
refused, which is always listed with its reason. Unchanged things are only counted, so a
second run says in a few lines that there was nothing to do. No secret value is ever printed.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from mdmflow.nanocmd_import.decisions import Decision, ImportPlan, Kind, Outcome

COUNTED = (Kind.INVENTORY, Kind.LAST_STARTED)
WIDTH = 14


def render(plan: ImportPlan, *, target: str, dry_run: bool) -> str:
    lines = [f"mdmflow import nanocmd: {plan.source}", f"  into {target}"]
    if dry_run:
        lines.append("  dry run: nothing is written")
    lines.append("")
    counted: dict[tuple[Kind | str, Outcome], list[Decision]] = defaultdict(list)
    for decision in plan.decisions:
        if decision.outcome is Outcome.UNCHANGED or (
            decision.kind in COUNTED and decision.outcome in (Outcome.IMPORT, Outcome.REPLACE)
        ):
            counted[(decision.kind, decision.outcome)].append(decision)
            continue
        lines.append(_line(decision, dry_run))
    for (kind, outcome), group in counted.items():
        if outcome is Outcome.UNCHANGED:
            continue
        lines.append(f"  {_verb(outcome, dry_run):<{WIDTH}}{_counted(kind, group)}")
    unchanged = Counter(k for (k, o), g in counted.items() if o is Outcome.UNCHANGED for _ in g)
    if unchanged:
        listed = ", ".join(f"{n} {_noun(k, n)}" for k, n in unchanged.items())
        lines.append(f"  {'unchanged':<{WIDTH}}{listed} (already in mdmflow)")
    lines.append("")
    lines += [f"warning: {w}" for w in plan.warnings]
    lines += [f"note: {n}" for n in plan.notes]
    lines.append(_summary(plan, dry_run))
    return "\n".join(lines) + "\n"


def _verb(outcome: Outcome, dry_run: bool) -> str:
    if dry_run and outcome in (Outcome.IMPORT, Outcome.REPLACE):
        return f"would {outcome.value}"
    return outcome.value


def _line(decision: Decision, dry_run: bool) -> str:
    quoted = decision.kind in (Kind.PROFILE, Kind.CMDPLAN, Kind.SUBSCRIPTION)
    name = repr(decision.name) if quoted else decision.name
    text = f"  {_verb(decision.outcome, dry_run):<{WIDTH}}{decision.kind} {name}"
    if decision.detail:
        separator = ": " if decision.outcome in (Outcome.KEPT, Outcome.REFUSED) else " ("
        text += f"{separator}{decision.detail}" + (")" if separator == " (" else "")
    return text


def _counted(kind: Kind | str, group: list[Decision]) -> str:
    if kind is Kind.INVENTORY:
        tally: Counter[str] = Counter()
        for decision in group:
            tally.update(decision.tally)
        parts = [f"{tally.pop('values', 0)} values"] + [
            f"{n} {k}" for k, n in sorted(tally.items())
        ]
        return f"inventory of {len(group)} {_plural('enrollment', len(group))} ({', '.join(parts)})"
    return f"{_noun(kind, len(group))}: {len(group)}"


def _noun(kind: Kind | str, n: int) -> str:
    plural = {Kind.INVENTORY: "inventory records", Kind.LAST_STARTED: "last-started records"}
    if kind in plural:
        return plural[Kind(kind)] if n != 1 else plural[Kind(kind)].removesuffix("s")
    return _plural(str(kind), n)


def _plural(word: str, n: int) -> str:
    return word if n == 1 else f"{word}s"


def _summary(plan: ImportPlan, dry_run: bool) -> str:
    counts = Counter(d.outcome for d in plan.decisions)
    parts = [
        f"{counts[Outcome.IMPORT]} {'to import' if dry_run else 'imported'}",
        f"{counts[Outcome.REPLACE]} {'to replace' if dry_run else 'replaced'}",
        f"{counts[Outcome.UNCHANGED]} unchanged",
        f"{counts[Outcome.KEPT]} kept",
        f"{counts[Outcome.REFUSED]} not imported",
    ]
    return "summary: " + ", ".join(parts)
