"""Inputs and results of the lock activities (workflows import them pass-through).

:class:`LockPin` is a secret: it crosses Temporal only inside the encrypting payload codec.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

LOCK_PIN_ACTIVITY = "lock_draw_pin"
LOCK_ESCROW_ACTIVITY = "lock_escrow_pin"
LOCK_ACKNOWLEDGED_ACTIVITY = "lock_record_acknowledged"
LOCK_NEW_PIN_ACTIVITY = "lock_escrow_new_pin"

LOCK_WORKFLOW = "io.micromdm.wf.lock.v1"
PIN_SECRET = f"{LOCK_WORKFLOW}.pin"
SENT_KEY = f"{LOCK_WORKFLOW}.sent"
RECEIVED_KEY = f"{LOCK_WORKFLOW}.received"
MESSAGE_RESULT_KEY = f"{LOCK_WORKFLOW}.message_result"


class LockPin(BaseModel):
    """A six-digit Find My PIN drawn from the OS's cryptographic source."""

    model_config = ConfigDict(frozen=True)
    pin: str = Field(pattern=r"^[0-9]{6}$", repr=False)


class LockEscrow(BaseModel):
    """Store the PIN (sealed) and when the lock was sent, before the command goes out."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)
    pin: str = Field(pattern=r"^[0-9]{6}$", repr=False)
    sent_at: datetime


class LockNewPin(BaseModel):
    """Draw a PIN and store it sealed, with when the lock is sent; the PIN stays in the store
    (the enqueue activity reads it), so it never enters workflow history."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)
    sent_at: datetime


class LockAcknowledged(BaseModel):
    """Store when the device acknowledged the lock, and its MessageResult if it sent one."""

    model_config = ConfigDict(frozen=True)
    enrollment_id: str = Field(min_length=1)
    acknowledged_at: datetime
    message_result: str | None = None
