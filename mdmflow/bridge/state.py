"""What the bridge's handlers share: settings, the Temporal client and the app database."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from mdmflow.bridge.intake import Intake
from mdmflow.bridge.metrics import BridgeMetrics
from mdmflow.config import Settings
from mdmflow.requirements import RequirementChecker
from mdmflow.store.cmdplans import CmdPlanStore
from mdmflow.store.database import Database
from mdmflow.store.fleet_ids import FleetIdStore
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.profiles import ProfileStore
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.store.subscriptions import SubscriptionStore


@dataclass(frozen=True)
class BridgeState:
    settings: Settings
    client: Client
    db: Database
    subscriptions: SubscriptionStore
    inventory: InventoryStore
    intake: Intake
    profiles: ProfileStore
    cmdplans: CmdPlanStore
    secrets: InventorySecretStore
    metrics: BridgeMetrics = field(default_factory=BridgeMetrics)
    """This app's own counters (``GET /metrics``); a fresh registry per app."""

    @property
    def fleet_ids(self) -> FleetIdStore:
        """Where fleet starts leave their IDs for the fan-out."""
        return FleetIdStore(self.db)

    @property
    def checker(self) -> RequirementChecker:
        """Checks what a workflow start needs from the app database (profiles, plans)."""
        return RequirementChecker(self.profiles, self.cmdplans)
