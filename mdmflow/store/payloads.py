"""Report payloads too large to travel in a signal; the signal carries a reference instead."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from mdmflow.mdm.plist import JsonValue
from mdmflow.store.database import Database
from mdmflow.store.dialect import upsert
from mdmflow.store.schema import report_payloads


class PayloadNotFoundError(LookupError):
    pass


class PayloadStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def ref_for(enrollment_id: str, command_uuid: str) -> str:
        return f"{enrollment_id}/{command_uuid}"

    async def put(self, ref: str, payload: dict[str, JsonValue]) -> None:
        row = {
            "ref": ref,
            "payload_json": json.dumps(payload),
            "created_at": dt.datetime.now(dt.UTC),
        }
        stmt = upsert(self._db, report_payloads, ["ref"])
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt, row)

    async def get(self, ref: str) -> dict[str, JsonValue]:
        stmt = select(report_payloads.c.payload_json).where(report_payloads.c.ref == ref)
        async with self._db.engine.connect() as conn:
            text = (await conn.execute(stmt)).scalar_one_or_none()
        if text is None:
            raise PayloadNotFoundError(f"no stored report payload {ref!r}")
        value = json.loads(text)
        if not isinstance(value, dict):
            raise PayloadNotFoundError(f"stored report payload {ref!r} is not an object")
        return value
