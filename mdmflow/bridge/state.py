"""What the bridge's handlers share: settings, the Temporal client and the app database."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from mdmflow.bridge.webhook import WebhookHandler
from mdmflow.config import Settings
from mdmflow.store.database import Database
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.subscriptions import SubscriptionStore


@dataclass(frozen=True)
class BridgeState:
    settings: Settings
    client: Client
    db: Database
    subscriptions: SubscriptionStore
    inventory: InventoryStore
    webhook: WebhookHandler
