"""Command UUIDs that carry their route: what is minted reads back as the same route, what
cannot be carried is refused at minting, and nothing else is read as a route."""

from __future__ import annotations

import re
import uuid

from hypothesis import example, given
from hypothesis import strategies as st

from mdmflow.workflows.carried_route import MAX_LENGTH, CarriedRoute, carried_route, carrying_uuid
from mdmflow.workflows.workflow_config import device_workflow_id

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
BARE = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_an_exclusive_workflows_route_names_it_by_the_answering_enrollment() -> None:
    route = CarriedRoute("DeviceInformation", DEVINFOLOG)
    minted = carrying_uuid(BARE, route)

    assert minted == f"{BARE}:DeviceInformation:{DEVINFOLOG}"
    assert carried_route(minted) == route
    assert route.workflow_id("dev-1") == device_workflow_id(DEVINFOLOG, True, "dev-1", "")
    assert route.workflow_id("dev-2") == f"{DEVINFOLOG}/dev-2"


def test_a_workflow_that_is_not_exclusive_carries_its_instance() -> None:
    route = CarriedRoute("ProfileList", "example.wf", instance_id="inst-7")
    minted = carrying_uuid(BARE, route)

    assert minted is not None
    assert carried_route(minted) == route
    assert route.workflow_id("dev-1") == device_workflow_id("example.wf", False, "dev-1", "inst-7")


def test_a_route_that_cannot_be_carried_is_refused_at_minting() -> None:
    assert carrying_uuid(BARE, CarriedRoute("DeviceInformation", "a:b")) is None
    assert carrying_uuid(BARE, CarriedRoute("Device:Information", DEVINFOLOG)) is None
    assert carrying_uuid(BARE, CarriedRoute("DeviceInformation", "wf\n")) is None
    too_long = "n" * (MAX_LENGTH - len(BARE) - len(":DeviceInformation:") + 1)
    assert carrying_uuid(BARE, CarriedRoute("DeviceInformation", too_long)) is None
    assert carrying_uuid(BARE, CarriedRoute("DeviceInformation", too_long[1:])) is not None


def test_bare_uuids_and_strangers_carry_no_route() -> None:
    for value in (
        BARE,
        str(uuid.uuid4()).upper(),
        "0001_DeviceInformation",
        f"not-a-uuid:DeviceInformation:{DEVINFOLOG}",
        f"{BARE}:DeviceInformation",
        f"{BARE}::{DEVINFOLOG}",
        f"{BARE}:DeviceInformation:{DEVINFOLOG}:inst:extra",
        f"{BARE}:1DeviceInformation:{DEVINFOLOG}",
        "",
    ):
        assert carried_route(value) is None, value


CLEAN_PART = st.from_regex(r"[A-Za-z0-9._-]{1,30}", fullmatch=True)
"""Parts that hold no separator and no control character: such a route always fits."""


@example(request_type="R" * 25, name="n" * 30, instance="i" * 30)
@given(
    request_type=st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,24}", fullmatch=True)
    | st.text(min_size=1, max_size=40),
    name=CLEAN_PART | st.text(min_size=1, max_size=80),
    instance=st.none() | CLEAN_PART | st.text(min_size=1, max_size=40),
)
def test_whatever_is_minted_reads_back_as_its_route(
    request_type: str, name: str, instance: str | None
) -> None:
    route = CarriedRoute(request_type, name, instance)
    minted = carrying_uuid(str(uuid.uuid4()), route)
    if minted is not None:
        assert carried_route(minted) == route
        assert len(minted.encode("utf-8")) <= MAX_LENGTH
    clean = re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,24}", request_type) and all(
        re.fullmatch(r"[A-Za-z0-9._-]{1,30}", part) for part in (name, instance or "x")
    )
    if clean:  # at most 36 + 25 + 30 + 30 + 3 = 124 characters: always within the limit
        assert minted is not None, route
