"""``POST /sim/devices/{id}/checkin``: make a simulated device check in, for demos and events.

Without it a subscription (``Enrollment``, ``Idle``, …) could only be shown by posting
hand-written webhook JSON to the bridge. The device posts what a real MDM server forwards:

- ``Authenticate`` enrolls the device again: Authenticate, then TokenUpdate with NanoMDM's
  tally 1 (and its user channel's TokenUpdate), so the bridge sees an ``Enrollment``;
- ``TokenUpdate`` is a later token update, tally ``tally`` (default 2: no ``Enrollment``);
- ``CheckOut`` leaves management (pushes no longer reach it until it enrolls again);
- ``Idle`` is a check-in with nothing to report.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mdmflow.simulator.simulator import Simulator, UnknownEnrollmentError
from mdmflow.validation import first_error

CheckinMessage = Literal["Authenticate", "TokenUpdate", "CheckOut", "Idle"]
CHECKIN_MESSAGES: tuple[CheckinMessage, ...] = ("Authenticate", "TokenUpdate", "CheckOut", "Idle")
LATER_TALLY = 2
"""A standalone TokenUpdate is a later one: NanoMDM's tally is 1 only for the first after
an Authenticate, and that one is what makes the bridge raise ``Enrollment``."""


class CheckinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: CheckinMessage
    tally: int = Field(default=LATER_TALLY, ge=1)
    """NanoMDM's ``token_update_tally``; only TokenUpdate uses it."""


async def checkin(sim: Simulator, request: Request, body: bytes) -> Response:
    """200 when the webhook accepted every message, 502 when it did not (the simulator's log
    says why), 404 for an ID not in the fleet, 400 for a bad request."""
    try:
        wanted = CheckinRequest.model_validate_json(body or b"{}")
    except ValidationError as exc:
        return JSONResponse({"error": first_error(exc)}, status_code=400)
    enrollment_id = str(request.path_params["id"])
    try:
        delivered = await _send(sim, enrollment_id, wanted)
    except UnknownEnrollmentError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    reply: dict[str, object] = {
        "id": enrollment_id,
        "message": wanted.message,
        "delivered": delivered,
    }
    if not delivered:
        reply["error"] = f"the webhook at {sim.config.webhook_url} did not accept it"
    return JSONResponse(reply, status_code=200 if delivered else 502)


async def _send(sim: Simulator, enrollment_id: str, wanted: CheckinRequest) -> bool:
    if wanted.message == "Authenticate":
        return await sim.enroll(enrollment_id)
    if wanted.message == "TokenUpdate":
        return await sim.token_update(enrollment_id, wanted.tally)
    if wanted.message == "CheckOut":
        return await sim.check_out(enrollment_id)
    return await sim.idle(enrollment_id)
