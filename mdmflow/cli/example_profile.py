"""The example profile ``mdmflow dev`` puts in the profile store, so the profile workflow has
something to install on the simulated devices from the first minute.

It is a harmless macOS login-window message, stored only when no profile of that name exists
(an operator's own ``example`` is never overwritten).
"""

from __future__ import annotations

import uuid

from mdmflow.mdm.mobileconfig import read_mobileconfig
from mdmflow.mdm.plist import dump_xml
from mdmflow.store.database import Database
from mdmflow.store.profiles import ProfileNotFoundError, ProfileStore

EXAMPLE_NAME = "example"
EXAMPLE_IDENTIFIER = "com.example.mdmflow.loginwindow"
_NAMESPACE = uuid.UUID("8f3a4bd2-5d8e-4c55-9a36-8a1c4ef1d0a7")


def example_profile() -> bytes:
    """A login-window message profile with stable UUIDs (the same bytes on every run)."""
    payload = {
        "PayloadType": "com.apple.loginwindow",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{EXAMPLE_IDENTIFIER}.payload",
        "PayloadUUID": str(uuid.uuid5(_NAMESPACE, "payload")).upper(),
        "PayloadDisplayName": "Login window message",
        "LoginwindowText": "Managed by mdmflow (example profile)",
    }
    return dump_xml(
        {
            "PayloadContent": [payload],
            "PayloadDisplayName": "mdmflow example",
            "PayloadDescription": "Shows a message in the login window. Safe to remove.",
            "PayloadIdentifier": EXAMPLE_IDENTIFIER,
            "PayloadOrganization": "mdmflow",
            "PayloadScope": "System",
            "PayloadType": "Configuration",
            "PayloadUUID": str(uuid.uuid5(_NAMESPACE, "profile")).upper(),
            "PayloadVersion": 1,
        }
    )


async def seed_example_profile(database_url: str) -> bool:
    """Store the example profile unless one named ``example`` exists; True if stored now."""
    db = await Database.open(database_url)
    try:
        store = ProfileStore(db)
        try:
            await store.infos([EXAMPLE_NAME])
        except ProfileNotFoundError:
            await store.put(EXAMPLE_NAME, read_mobileconfig(example_profile()))
            return True
        return False
    finally:
        await db.close()


def example_banner(bridge_url: str, key: str, device_id: str) -> str:
    """The banner lines that show how to run the profile workflow with the example."""
    start = f"{bridge_url}/v1/workflow/io.micromdm.wf.profile.v1/start"
    return "\n".join(
        [
            f"  profile store    '{EXAMPLE_NAME}' (a login-window message) is ready to install:",
            f"    curl -u nanocmd:{key} -X POST '{start}?id={device_id}&context={EXAMPLE_NAME}'",
            f"    (context -{EXAMPLE_NAME} removes it again)",
        ]
    )
