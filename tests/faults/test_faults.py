"""A short subset of the fault suite (``make faults`` runs it all): real processes, killed.

Each test runs a scenario of :mod:`faults.scenarios` small, on its own Temporal dev server,
worker and bridge processes, and asserts that nothing was lost and every promise the
scenario checks held. The figure line is in the assertion message, so a failure says what
was measured.
"""

from __future__ import annotations

from faults.figures import Figure
from faults.scenarios.bridge_kill import bridge_kill
from faults.scenarios.fleet_kill import fleet_kill
from faults.scenarios.temporal_down import temporal_down
from faults.scenarios.worker_kill import ENQUEUE_DROPPED, TASK_HELD, worker_kill


def _assert_kept(figure: Figure) -> None:
    unmet = "; ".join(f"{e.promise}: {e.measured}" for e in figure.unmet)
    assert figure.lost == 0, figure.heading()
    assert not figure.unmet, f"{figure.heading()}\nunmet: {unmet}"


async def test_a_killed_worker_mid_enqueue_is_replaced_within_10_s() -> None:
    """The enqueue request is in flight when the worker dies; the heartbeat timeout hands
    the step to the replacement, which re-sends the same command UUID."""
    figure = await worker_kill(kills=1, per_kill=2, moments=(ENQUEUE_DROPPED,))
    assert figure.metrics["duplicate_uuids"] == 0
    assert figure.metrics["resume_max_s"] < 10.0
    _assert_kept(figure)


async def test_a_killed_worker_holding_a_workflow_task_is_replaced_within_10_s() -> None:
    """The report's workflow task was started on the worker when it died; Temporal hands it
    to the replacement when the task's start-to-close timeout passes."""
    figure = await worker_kill(kills=1, per_kill=2, moments=(TASK_HELD,))
    assert figure.metrics["task_held_missed"] == 0, figure.heading()
    assert figure.lost == 0, figure.heading()
    assert figure.metrics["resume_max_s"] < 10.0, figure.heading()
    _assert_kept(figure)


async def test_reports_while_temporal_is_down_are_answered_200_and_delivered() -> None:
    figure = await temporal_down(devices=5)
    assert figure.metrics["reports_2xx"] == figure.metrics["reports"] == 5
    assert figure.metrics["webhooks_not_2xx"] == 0
    _assert_kept(figure)


async def test_a_killed_bridge_loses_no_report_and_refused_ones_are_re_asked() -> None:
    """With the careful sender and with NanoMDM's no-retry sender: every report answered
    200 reaches its workflow, the others' workflows complete by re-asking."""
    figure = await bridge_kill(devices_per_run=30, rate=25.0, kill_after_reports=8)
    assert figure.metrics["nanomdm_refused"] > 0, f"the kill refused nothing: {figure.line}"
    _assert_kept(figure)


async def test_a_worker_killed_mid_fan_out_misses_no_device_and_starts_none_twice() -> None:
    """A fleet start through the bridge (over its threshold of 100 IDs, so fanned out by a
    workflow); the worker is killed once visibility shows some devices started, and a
    replacement finishes the fan-out: every ID gets exactly one device workflow."""
    figure = await fleet_kill(devices=110, kill_at=(30,))
    assert figure.metrics["missing"] == 0, figure.heading()
    assert figure.metrics["duplicated"] == 0, figure.heading()
    assert figure.metrics["second_runs"] == 0, figure.heading()
    assert figure.metrics["fan_out_started"] == 110, figure.heading()
    _assert_kept(figure)
