"""Command UUIDs that carry their own route: the workflow that waits for the report, and for what.

A report names its command only by the ``CommandUUID`` the device echoes. Runs started by
earlier code mint a bare UUID and record its route (a row in the app database) before the
enqueue; the bridge reads that row back for every report and drops it at the final answer: a
write in the worker and two transactions in the bridge per step. A UUID minted here says
itself what the row said, ``<uuid4>:<RequestType>:<workflow name>`` (``:<instance ID>`` added
for a workflow that is not exclusive), so neither side touches the database on a step.

The enrollment ID is not in it: the bridge takes it from the webhook, which the MDM server
filled in for the device that answered. A device can therefore only ever reach workflows of
its own enrollment, whatever it echoes, and a workflow ignores UUIDs it did not mint. Apple's
protocol allows any string as a ``CommandUUID``; NanoMDM keeps at most 127 characters, so a
route that would not fit (a long custom name) falls back to a bare UUID and a recorded route,
as does a workflow whose ID is not the one mdmflow's starter gives (``temporal workflow start
--workflow-id ...``): the bridge could not rebuild it from the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mdmflow.workflows.workflow_config import device_workflow_id

SEPARATOR = ":"
MAX_LENGTH = 127
"""NanoMDM's MySQL and PostgreSQL schemas keep a command UUID in ``VARCHAR(127)``."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_REQUEST_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CarriedRoute:
    """What a carrying UUID says; with the webhook's enrollment ID it names the workflow."""

    request_type: str
    workflow_name: str
    instance_id: str | None = None
    """Only for a workflow that is not exclusive, whose ID holds its instance."""

    def workflow_id(self, enrollment_id: str) -> str:
        exclusive = self.instance_id is None
        return device_workflow_id(
            self.workflow_name, exclusive, enrollment_id, self.instance_id or ""
        )


def carrying_uuid(uuid: str, route: CarriedRoute) -> str | None:
    """``uuid`` with ``route`` appended, or None where the route cannot be carried."""
    parts = [uuid, route.request_type, route.workflow_name]
    if route.instance_id is not None:
        parts.append(route.instance_id)
    value = SEPARATOR.join(parts)
    if carried_route(value) != route:
        return None  # a separator or control character inside a part, or too long
    return value


def carried_route(command_uuid: str) -> CarriedRoute | None:
    """The route ``command_uuid`` carries, or None for a bare UUID (or anything else)."""
    if len(command_uuid.encode("utf-8")) > MAX_LENGTH or _CONTROL.search(command_uuid):
        return None
    parts = command_uuid.split(SEPARATOR)
    if len(parts) not in (3, 4) or not all(parts):
        return None
    if not _UUID.fullmatch(parts[0]) or not _REQUEST_TYPE.fullmatch(parts[1]):
        return None
    return CarriedRoute(parts[1], parts[2], parts[3] if len(parts) == 4 else None)
