"""What the import does with each thing it read: the vocabulary every decider and the report use.

A :class:`Decision` carries its own write, so a dry run and a real run make exactly the same
decisions, and the real run just performs the writes afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Self

from mdmflow.crypto.sealed import SecretBox
from mdmflow.store.cmdplans import CmdPlanStore
from mdmflow.store.database import Database
from mdmflow.store.escrow_identity import EscrowIdentityStore
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.profiles import ProfileStore
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.store.subscriptions import SubscriptionStore

Write = Callable[[], Awaitable[None]]


class Outcome(StrEnum):
    IMPORT = "import"
    """Not in mdmflow yet: stored."""
    REPLACE = "replace"
    """In mdmflow with another value, replaced because ``--overwrite`` was given."""
    UNCHANGED = "unchanged"
    """Already in mdmflow as it is in NanoCMD (a second run finds only these)."""
    KEPT = "kept"
    """In mdmflow with another value, kept; ``--overwrite`` would replace it."""
    REFUSED = "not imported"
    """Cannot be imported; the detail says why."""


class Kind(StrEnum):
    PROFILE = "profile"
    CMDPLAN = "cmdplan"
    SUBSCRIPTION = "subscription"
    INVENTORY = "inventory"
    KEY_PAIR = "escrow key pair"
    LAST_STARTED = "last started"
    STEP = "step"


@dataclass(frozen=True)
class Decision:
    kind: Kind | str
    name: str
    outcome: Outcome
    detail: str = ""
    write: Write | None = field(default=None, repr=False, compare=False)
    tally: Mapping[str, int] = field(default_factory=dict)
    """Counts the report adds up (inventory: values and secrets by key)."""


@dataclass
class ImportPlan:
    source: str
    decisions: list[Decision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Everything read is in mdmflow now (imported, replaced or already there)."""
        return not any(d.outcome in (Outcome.KEPT, Outcome.REFUSED) for d in self.decisions)

    async def apply(self) -> None:
        """Perform the writes, in the order decided."""
        for decision in self.decisions:
            if decision.write is not None:
                await decision.write()


@dataclass(frozen=True)
class Stores:
    """mdmflow's stores the import reads and writes: the same ones the API and workflows use,
    so imported data answers exactly as data stored through the API does."""

    profiles: ProfileStore
    cmdplans: CmdPlanStore
    subscriptions: SubscriptionStore
    inventory: InventoryStore
    secrets: InventorySecretStore
    identities: EscrowIdentityStore
    starts: WorkflowStartStore

    @classmethod
    def of(cls, db: Database, box: SecretBox) -> Self:
        return cls(
            profiles=ProfileStore(db),
            cmdplans=CmdPlanStore(db),
            subscriptions=SubscriptionStore(db, box),
            inventory=InventoryStore(db),
            secrets=InventorySecretStore(db, box),
            identities=EscrowIdentityStore(db, box),
            starts=WorkflowStartStore(db),
        )


def conflict(
    kind: Kind, name: str, overwrite: bool, write: Write, what: str, detail: str = ""
) -> Decision:
    """A value mdmflow already holds differently: replaced with ``--overwrite``, else kept."""
    if overwrite:
        return Decision(kind, name, Outcome.REPLACE, detail, write)
    return Decision(
        kind, name, Outcome.KEPT, f"mdmflow already has {what} (--overwrite replaces it)"
    )
