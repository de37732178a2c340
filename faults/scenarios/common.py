"""Counting helpers the scenarios share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from faults.cluster import Outcome


def duplicate_uuids(enqueued: Mapping[str, Sequence[str]]) -> int:
    """Second and later command UUIDs per device, for runs where each device ran one
    single-command step and nothing re-asks: each one would be a second command sent."""
    return sum(len(set(uuids)) - 1 for uuids in enqueued.values() if uuids)


def not_completed(outcomes: Mapping[str, Outcome]) -> list[str]:
    return sorted(w for w, o in outcomes.items() if not o.completed)
