"""(f) Duplicate, reordered and late reports: delivery is at least once, the engine must not care.

Three groups of devices, each a devinfolog workflow:

- duplicates: with the worker paused (SIGSTOP), the Acknowledged report the device would send
  is posted three times at once, then the device sends its own, and once the workflow closed
  the report comes once more;
- reordered: with the worker paused, the Acknowledged report and three NotNows for the same
  command are posted at once, so NotNows land after it (what an intake retry or a
  second bridge can produce), then the device answers;
- late: after a first run closed, a second run starts on the same device, and while it waits
  the first run's Acknowledged, a NotNow and an Error for the first run's command are posted.

A workflow is affected if it does not complete, reports values that are not its device's, or
(late group) its second run closes before the device answered it. Every answer must be 2xx.
"""

from __future__ import annotations

import asyncio
import plistlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from faults.cluster import Cluster, ClusterSpec, now, running_cluster, workflow_id
from faults.figures import Figure
from faults.procs import poll_until
from faults.scenarios.common import report_signals
from faults.simulator import WebhookPost
from mdmflow.mdm.reports import CommandStatus
from mdmflow.simulator import responses, webhook

SETTLE_TIMEOUT_S = 60.0


async def late_reports(per_group: int = 6) -> Figure:
    figure = Figure("f", "duplicate, reordered and late reports")
    async with running_cluster(ClusterSpec(devices=3 * per_group)) as cluster:
        devices = cluster.device_ids()
        dup = devices[:per_group]
        reorder = devices[per_group : 2 * per_group]
        late = devices[2 * per_group :]
        codes: list[int] = []
        async with httpx.AsyncClient(timeout=30) as http:
            post = _Poster(cluster, http, codes)
            affected = await _duplicates_and_reordered(cluster, post, dup, reorder)
            affected += await _late(cluster, post, late)
            dup_signals = [await _statuses(cluster, d) for d in dup]
            reorder_signals = [await _statuses(cluster, d) for d in reorder]
        device_posts = cluster.sim.webhooks.tally(cluster.sim.webhooks.posts)
    ours_ok = sum(1 for c in codes if 200 <= c < 300)
    bad = (len(codes) - ours_ok) + device_posts.refused + device_posts.unanswered
    figure.lost = len(affected)
    figure.metrics = {
        "workflows": len(devices) + len(late),
        "affected": len(affected),
        "injected": len(codes),
        "non_2xx": bad,
    }
    figure.line = (
        f"{len(devices) + len(late)} workflows, {len(codes)} duplicate/reordered/late reports "
        f"injected: workflows affected {len(affected)}; injected answered 2xx {ours_ok}/"
        f"{len(codes)}, device webhooks {device_posts.line()}; reached the engine: "
        f"{sum(len(s) for s in dup_signals)} signals for {len(dup)} duplicated reports, "
        f"NotNow after Acknowledged in {sum(_notnow_after_ack(s) for s in reorder_signals)} "
        f"of {len(reorder)} reordered histories"
    )
    figure.expect("no workflow affected", not affected, ", ".join(affected) or "none")
    figure.expect("every report answered 2xx", bad == 0, f"{bad} not 2xx")
    return figure


async def _statuses(cluster: Cluster, enrollment_id: str) -> list[str]:
    return [str(r.status) for r in await report_signals(cluster, enrollment_id)]


def _notnow_after_ack(statuses: list[str]) -> bool:
    acked = str(CommandStatus.ACKNOWLEDGED)
    return acked in statuses and str(CommandStatus.NOT_NOW) in statuses[statuses.index(acked) :]


class _Poster:
    """Posts webhook bodies to the bridge as the MDM server would, keeping every answer."""

    def __init__(self, cluster: Cluster, http: httpx.AsyncClient, codes: list[int]) -> None:
        self.cluster = cluster
        self.http = http
        self.codes = codes

    async def __call__(self, *bodies: bytes) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}

        async def one(body: bytes) -> None:
            reply = await self.http.post(self.cluster.webhook_url, content=body, headers=headers)
            self.codes.append(reply.status_code)

        await asyncio.gather(*(one(b) for b in bodies))

    def acknowledged(self, enrollment_id: str) -> _Crafted:
        """The Acknowledged report the device would send for its queued command."""
        sim = self.cluster.sim
        (command,) = sim.queued(enrollment_id)
        answer = responses.answer(sim.device(enrollment_id), command.plist)
        body = self._event(enrollment_id, answer.report)
        return _Crafted(command.uuid, body)

    def report(self, enrollment_id: str, status: CommandStatus, command_uuid: str) -> bytes:
        """A report the device did not send (NotNow or Error), in NanoMDM's webhook shape."""
        sim = self.cluster.sim
        device = sim.device(enrollment_id)
        if status == CommandStatus.ERROR:
            chain = responses.SIMULATED_FAILURES[0]
            report = responses.error_report(device, command_uuid, chain)
        else:
            report = responses.envelope(device, status, command_uuid)
        return self._event(enrollment_id, report)

    def _event(self, enrollment_id: str, report: dict[str, Any]) -> bytes:
        sim = self.cluster.sim
        event = webhook.connect_event(
            mode=sim.config.mode,
            event_id=str(uuid.uuid4()).upper(),
            udid=sim.device(enrollment_id).udid,
            enrollment_id=enrollment_id,
            status=str(report["Status"]),
            command_uuid=str(report["CommandUUID"]),
            raw_report=plistlib.dumps(report),
            url_params={},
        )
        return webhook.encode(event)


@dataclass(frozen=True)
class _Crafted:
    command_uuid: str
    body: bytes


async def _duplicates_and_reordered(
    cluster: Cluster, post: _Poster, dup: list[str], reorder: list[str]
) -> list[str]:
    """Copies posted at once, so several bridges' worth of deliveries race each other and
    reach the workflow while its worker is paused; the device's own answer comes after."""
    sim = cluster.sim
    ids = [*dup, *reorder]
    sim.go_offline(ids)
    wids = await cluster.start_devinfolog(ids)
    await cluster.wait_waiting(wids)
    acks = {d: post.acknowledged(d) for d in ids}
    (worker,) = cluster.live_workers()
    worker.pause()
    try:
        await post(*(body for d in dup for body in [acks[d].body] * 3))
        await post(
            *(
                body
                for d in reorder
                for body in (
                    acks[d].body,
                    *[post.report(d, CommandStatus.NOT_NOW, acks[d].command_uuid)] * 3,
                )
            )
        )
    finally:
        worker.resume()
    sim.come_online(ids)  # the device's own answer: one more copy
    affected = await _check(cluster, ids)
    await post(*(acks[d].body for d in dup))  # and once more after the workflow closed
    return affected


async def _late(cluster: Cluster, post: _Poster, late: list[str]) -> list[str]:
    sim = cluster.sim
    await cluster.start_devinfolog(late)
    affected = await _check(cluster, late, tag="run 1")
    reports = await _answered_reports(cluster, late)
    sim.go_offline(late)
    second_run = await cluster.start_devinfolog(late)
    await cluster.wait_waiting(second_run)
    stale: list[bytes] = []
    for d in late:
        stale.append(reports[d].body)
        stale.append(post.report(d, CommandStatus.NOT_NOW, reports[d].command_uuid))
        stale.append(post.report(d, CommandStatus.ERROR, reports[d].command_uuid))
    await post(*stale)
    online_at = now()
    sim.come_online(late)
    affected += await _check(cluster, late, tag="run 2", not_before=online_at)
    return affected


async def _answered_reports(cluster: Cluster, ids: Sequence[str]) -> dict[str, WebhookPost]:
    """Each device's first command report, once the bridge answered it."""
    log = cluster.sim.webhooks

    def answered() -> bool:
        return all((p := log.first_report(d)) is not None and p.code is not None for d in ids)

    await poll_until("waiting for the devices' reports to be answered", answered, 30.0)
    found = {d: log.first_report(d) for d in ids}
    return {d: p for d, p in found.items() if p is not None}


async def _check(
    cluster: Cluster, ids: Sequence[str], *, tag: str = "", not_before: float | None = None
) -> list[str]:
    """Names of the workflows that did not end as their device's answer says they should."""
    wids = [workflow_id(d) for d in ids]
    outcomes = await cluster.wait_closed(wids, SETTLE_TIMEOUT_S)
    affected: list[str] = []
    for d, wid in zip(ids, wids, strict=True):
        outcome = outcomes[wid]
        label = f"{wid} {tag}".strip()
        if not outcome.completed:
            affected.append(f"{label}: {outcome.status}")
            continue
        if not_before is not None and (outcome.close_time or 0.0) < not_before:
            affected.append(f"{label}: closed before its device answered")
            continue
        result = await cluster.result(wid)
        serial = result.get("values", {}).get("SerialNumber") if isinstance(result, dict) else None
        if serial != cluster.sim.device(d).serial_number:
            affected.append(f"{label}: result {result!r}")
    return affected
