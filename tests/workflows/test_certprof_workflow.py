"""``io.micromdm.wf.certprof.v1`` on the real stack: four devices whose keychains hold no,
one expiring, one long-valid, and two matching identities from an earlier SCEP profile."""

from __future__ import annotations

import datetime as dt
import json
import plistlib
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from mdmflow.mdm.certificates import read_certificate
from mdmflow.simulator.certificates import issue_certificate
from mdmflow.simulator.profiles import read_profile
from mdmflow.workflows.certprof_decide import CERTPROF, CertProfResult, Verdict
from tests.bridge.helpers import seed_for
from tests.e2e.test_secrets_in_temporal import payloads
from tests.support.stack import Stack, running_stack
from tests.workflows.content import enqueued, scep_profile, upload_profile

SCEP_ID = "com.example.identity"
CHALLENGE = "s3cret-challenge-4711"
MONTH = 30 * 86400


def context(cn: str) -> str:
    return json.dumps(
        {
            "profile": "scep",
            "filter": {"cn_prefix": "device-"},
            "criteria": {"until_expiry_sec": MONTH},
            "text_replacements": {"%CN%": cn, "%CHALLENGE%": CHALLENGE},
        }
    )


def enrolled_before(stack: Stack, eid: str, *expiring_in_days: int) -> None:
    """The device got the SCEP profile earlier; its identities expire in so many days."""
    device = stack.sim.device(eid)
    installed = read_profile(scep_profile(SCEP_ID), managed=True)
    device.profiles[installed.identifier] = installed
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for n, days in enumerate(expiring_in_days):
        device.certificates.append(
            issue_certificate(
                f"device-old-{n}", not_after=now + dt.timedelta(days=days), profile=SCEP_ID
            )
        )


async def history_shows(stack: Stack, workflow_id: str, secret: str) -> bool:
    """Whether the workflow's history holds ``secret`` even once every payload is decoded."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    codec = stack.client.data_converter.payload_codec
    assert codec is not None
    found = [p for e in history.events for _, p in payloads(e)]
    decoded = await codec.decode(found)
    return any(secret.encode() in p.data for p in decoded) or secret in history.to_json()


def identities(stack: Stack, eid: str) -> dict[str, dt.datetime]:
    return {
        c.common_name: read_certificate(c.der).not_after
        for c in stack.sim.device(eid).certificates
        if c.profile == SCEP_ID
    }


async def test_certprof_installs_renews_keeps_and_refuses_to_guess(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=4,
        simulator={"seed": seed_for(request)},
    ) as stack:
        none, expiring, valid, two = stack.sim.enrollment_ids()
        enrolled_before(stack, expiring, 10)
        enrolled_before(stack, valid, 200)
        enrolled_before(stack, two, 10, 200)
        async with stack.api() as api:
            await upload_profile(api, "scep", scep_profile(SCEP_ID))
            for n, eid in enumerate((none, expiring, valid, two)):
                reply = await api.post(
                    f"/v1/workflow/{CERTPROF}/start",
                    params={"id": eid, "context": context(f"device-{n}")},
                )
                assert reply.status_code == 200, reply.text
        handles = {
            eid: stack.client.get_workflow_handle(f"{CERTPROF}/{eid}", result_type=CertProfResult)
            for eid in (none, expiring, valid, two)
        }
        started = dt.datetime.now(dt.UTC)
        results = {eid: await handles[eid].result() for eid in (none, expiring, valid)}
        with pytest.raises(WorkflowFailureError) as caught:
            await handles[two].result()
        await stack.sim.wait_until_quiet()  # devices apply a change after reporting it

        installed = results[none]
        assert installed.decision.verdict is Verdict.INSTALL
        assert installed.install is not None
        assert installed.install.acknowledged
        [(cn, not_after)] = identities(stack, none).items()
        assert cn == "device-0"
        assert not_after > started + dt.timedelta(days=364)
        sent = plistlib.loads(stack.sim.device(none).profiles[SCEP_ID].raw)
        scep = sent["PayloadContent"][0]["PayloadContent"]
        assert (scep["Subject"][0][0][1], scep["Challenge"]) == ("device-0", CHALLENGE)
        assert b"%CN%" not in stack.sim.device(none).profiles[SCEP_ID].raw
        # the challenge went to the device from the sealed store, never through history
        assert not await history_shows(stack, f"{CERTPROF}/{none}", CHALLENGE)
        async with stack.api() as api:
            inventory = await api.get("/v1/inventory", params={"id": none, "secrets": "1"})
        assert CHALLENGE in inventory.json()[none].values()

        renewed = results[expiring]
        assert renewed.decision.verdict is Verdict.REPLACE
        assert renewed.decision.matched is not None
        assert renewed.decision.matched.common_name == "device-old-0"
        assert "within 2592000 s" in renewed.decision.reason
        assert list(identities(stack, expiring)) == ["device-1"]  # the old one went with it

        kept = results[valid]
        assert kept.decision.verdict is Verdict.KEEP
        assert kept.install is None
        assert [c["RequestType"] for c in enqueued(stack.sim, valid)] == ["CertificateList"]
        assert enqueued(stack.sim, valid)[0]["ManagedOnly"] is True
        assert list(identities(stack, valid)) == ["device-old-0"]

        cause = caught.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.non_retryable
        assert "2 certificates match" in cause.message
        assert "'device-old-0', 'device-old-1'" in cause.message
        assert CHALLENGE not in cause.message
        assert [c["RequestType"] for c in enqueued(stack.sim, two)] == ["CertificateList"]
