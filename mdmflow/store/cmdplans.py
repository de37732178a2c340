"""The command plan subsystem's store: name → plan (profiles, app manifests, DeviceConfigured).

A plan says what a newly enrolled device gets; ``io.micromdm.wf.cmdplan.v1`` sends it. The JSON
shape is NanoCMD's, so its clients can PUT the same documents.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select

from mdmflow.store.database import Database
from mdmflow.store.dialect import upsert
from mdmflow.store.schema import cmdplans


class CmdPlanNotFoundError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"cmdplan not found: {name}")
        self.name = name


class CmdPlan(BaseModel):
    """NanoCMD's plan JSON. Unknown keys are refused, so a typo never silently drops a part."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    profile_names: list[str] = Field(default_factory=list)
    manifest_urls: list[str] = Field(default_factory=list)
    device_configured: bool = False

    @field_validator("profile_names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name.strip():
                raise ValueError("a profile name is empty")
        return names

    @field_validator("manifest_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{url!r} is not an http(s) URL of an app manifest")
        return urls

    def command_count(self, device_configured_allowed: bool) -> int:
        """How many commands the plan sends on a start that may (or may not) send
        DeviceConfigured."""
        configured = self.device_configured and device_configured_allowed
        return len(self.profile_names) + len(self.manifest_urls) + int(configured)


class CmdPlanStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, name: str, plan: CmdPlan) -> None:
        row = {
            "name": name,
            "plan_json": plan.model_dump_json(),
            "updated_at": dt.datetime.now(dt.UTC),
        }
        async with self._db.engine.begin() as conn:
            await conn.execute(upsert(self._db, cmdplans, ["name"]), row)

    async def get(self, name: str) -> CmdPlan:
        """The plan; :class:`CmdPlanNotFoundError` if there is none."""
        stmt = select(cmdplans.c.plan_json).where(cmdplans.c.name == name)
        async with self._db.engine.connect() as conn:
            text = (await conn.execute(stmt)).scalar_one_or_none()
        if text is None:
            raise CmdPlanNotFoundError(name)
        return CmdPlan.model_validate_json(text)

    async def list(self) -> dict[str, CmdPlan]:
        stmt = select(cmdplans.c.name, cmdplans.c.plan_json).order_by(cmdplans.c.name)
        async with self._db.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {name: CmdPlan.model_validate_json(text) for name, text in rows}

    async def delete(self, name: str) -> bool:
        stmt = delete(cmdplans).where(cmdplans.c.name == name)
        async with self._db.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount > 0
