"""Every Temporal failure type mdmflow raises, by name, in one place.

A failure's ``type`` is how a workflow tells a failure it must end on from one to retry, and
how an operator searches the Web UI; activities raise these and workflows test for them, so
both read the same constant.
"""

from __future__ import annotations

MDM_REJECTED = "MDMRejected"
"""The MDM server refused a command for good (unknown enrollment, bad command)."""
MDM_UNAVAILABLE = "MDMServerUnavailable"
"""The MDM server did not answer; the activity is retried."""
STORED_VALUE_MISSING = "StoredValueMissing"
"""A profile or secret a command names is not in the app database any more."""
INVALID_CONTEXT = "InvalidContext"
"""A start the workflow cannot run with (never retried)."""
PROFILE_NOT_FOUND = "ProfileNotFound"
PAYLOAD_NOT_FOUND = "PayloadNotFound"
STEP_FAILED = "StepError"
"""A step's answers do not let the workflow go on (timed out, refused, unusable)."""
INVALID_REPORT = "InvalidReport"
UNEXPECTED_EVENT = "UnexpectedEvent"
FLEET_PAGE_MISSING = "FleetPageMissing"
"""A fleet start's page of IDs is gone from the app database; the fan-out cannot go on."""

STEP_CANNOT_BE_SENT = frozenset({MDM_REJECTED, STORED_VALUE_MISSING})
"""Enqueue failures no retry or wait can fix: the workflow fails with the reason."""
