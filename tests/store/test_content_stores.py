"""ProfileStore and CmdPlanStore on both backends: NanoCMD's storage test, and the start
requirement check that reads them."""

from __future__ import annotations

import pytest

from mdmflow.activities.content_models import CmdPlanRequirement, StartRequirements
from mdmflow.mdm.mobileconfig import read_mobileconfig
from mdmflow.mdm.plist import dump_xml
from mdmflow.requirements import RequirementChecker, RequirementError
from mdmflow.store.cmdplans import CmdPlan, CmdPlanNotFoundError, CmdPlanStore
from mdmflow.store.database import Database
from mdmflow.store.profiles import ProfileInfo, ProfileNotFoundError, ProfileStore
from tests.support.signing import signer


def mobileconfig(identifier: str, uuid: str) -> bytes:
    return dump_xml(
        {
            "PayloadIdentifier": identifier,
            "PayloadUUID": uuid,
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadContent": [],
        }
    )


@pytest.fixture
def profiles(database: Database) -> ProfileStore:
    return ProfileStore(database)


@pytest.fixture
def checker(database: Database) -> RequirementChecker:
    return RequirementChecker.of(database)


async def test_profiles_round_trip_list_and_delete(profiles: ProfileStore) -> None:
    raw = mobileconfig("com.example.a", "U-1")
    signed = signer().sign(mobileconfig("com.example.b", "U-2"))
    await profiles.put("a", read_mobileconfig(raw))
    await profiles.put("b", read_mobileconfig(signed))
    assert await profiles.infos(["a"]) == {"a": ProfileInfo(identifier="com.example.a", uuid="U-1")}
    assert await profiles.infos() == {
        "a": ProfileInfo(identifier="com.example.a", uuid="U-1"),
        "b": ProfileInfo(identifier="com.example.b", uuid="U-2", signed=True),
    }
    stored = await profiles.get(["b", "a"])
    assert (stored["a"].raw, stored["b"].raw) == (raw, signed)

    await profiles.put("a", read_mobileconfig(mobileconfig("com.example.a", "U-3")))
    assert (await profiles.infos(["a"]))["a"].uuid == "U-3"

    assert await profiles.delete("a")
    assert not await profiles.delete("a")
    with pytest.raises(ProfileNotFoundError) as caught:
        await profiles.infos(["a", "b", "c"])
    assert caught.value.missing == ["a", "c"]
    assert str(caught.value) == "profile not found: a, c"


async def test_cmdplans_round_trip_list_and_delete(database: Database) -> None:
    plans = CmdPlanStore(database)
    plan = CmdPlan(
        profile_names=["wifi"], manifest_urls=["https://x.example/m.plist"], device_configured=True
    )
    await plans.put("setup", plan)
    await plans.put("empty", CmdPlan())
    assert await plans.get("setup") == plan
    assert list(await plans.list()) == ["empty", "setup"]
    assert await plans.delete("setup")
    with pytest.raises(CmdPlanNotFoundError, match="cmdplan not found: setup"):
        await plans.get("setup")


async def test_requirements_name_what_is_missing(
    checker: RequirementChecker, profiles: ProfileStore, database: Database
) -> None:
    await profiles.put("wifi", read_mobileconfig(mobileconfig("com.example.wifi", "W")))
    await profiles.put("signed", read_mobileconfig(signer().sign(mobileconfig("s", "S"))))
    await checker.check(StartRequirements(profiles=["wifi", "signed"]))

    with pytest.raises(RequirementError, match=r"^profile not found: vpn, dock \(upload"):
        await checker.check(StartRequirements(profiles=["wifi", "vpn", "dock"]))
    with pytest.raises(RequirementError, match="profile signed is signed, and this workflow edits"):
        await checker.check(StartRequirements(unsigned_profiles=["signed"]))

    setup = CmdPlanRequirement(name="setup")
    with pytest.raises(RequirementError, match=r"^cmdplan not found: setup \(create it with"):
        await checker.check(StartRequirements(cmdplan=setup))
    plans = CmdPlanStore(database)
    await plans.put("setup", CmdPlan(profile_names=["wifi", "vpn"]))
    with pytest.raises(RequirementError, match=r"^cmdplan setup: profile not found: vpn"):
        await checker.check(StartRequirements(cmdplan=setup))
    await plans.put("setup", CmdPlan(device_configured=True))
    with pytest.raises(RequirementError, match=r"no commands to queue \(device_configured is only"):
        await checker.check(StartRequirements(cmdplan=setup))
    allowed = setup.model_copy(update={"device_configured_allowed": True})
    await checker.check(StartRequirements(cmdplan=allowed))
