"""Tables of the app database. Later migrations add tables, or a column with a default (v8);
they never change or remove what a released one has."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

command_routes = Table(
    "command_routes",
    metadata,
    Column("enrollment_id", String(255), primary_key=True),
    Column("command_uuid", String(255), primary_key=True),
    Column("workflow_id", String(1024), nullable=False),
    Column("workflow_name", String(255), nullable=False),
    Column("request_type", String(255), nullable=False),
    Column("step", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

report_payloads = Table(
    "report_payloads",
    metadata,
    Column("ref", String(600), primary_key=True),
    Column("payload_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

event_subscriptions = Table(
    "event_subscriptions",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("event", String(64), nullable=False, index=True),
    Column("workflow", String(255), nullable=False),
    Column("context", Text, nullable=False),
    Column("event_context", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("context_sealed", Boolean, nullable=False, server_default=false()),
)

workflow_starts = Table(
    "workflow_starts",
    metadata,
    Column("enrollment_id", String(255), primary_key=True),
    Column("workflow_name", String(255), primary_key=True),
    Column("workflow_id", String(1024), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)

inventory = Table(
    "inventory",
    metadata,
    Column("enrollment_id", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value_json", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("identifier", String(1024), nullable=False),
    Column("uuid", String(255), nullable=False),
    Column("signed", Boolean, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

cmdplans = Table(
    "cmdplans",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("plan_json", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

filevault_escrow = Table(
    "filevault_escrow",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("certificate_der", LargeBinary, nullable=False),
    Column("private_key_sealed", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

inventory_secrets = Table(
    "inventory_secrets",
    metadata,
    Column("enrollment_id", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("sealed", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

webhook_intake = Table(
    "webhook_intake",
    metadata,
    # INTEGER on SQLite so the column is the rowid (SQLite autoincrements only that).
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("delivery_id", String(36), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("enrollment_id", String(255), nullable=False),
    Column("command_uuid", String(255), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=False),
    Index("webhook_intake_due", "state", "next_attempt_at"),
    Index("webhook_intake_enrollment", "enrollment_id", "id"),
)

fleet_start_ids = Table(
    "fleet_start_ids",
    metadata,
    Column("instance_id", String(255), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("ids", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
