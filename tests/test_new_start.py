"""Every start made now carries this version's engine settings (``new_start``): a start
without them runs the patch-marker path of starts made by older code. The bench's own
workflow starts through it too, so its figures are a new start's."""

from __future__ import annotations

from mdmflow.activities.models import EngineSettings
from mdmflow.starter.start import new_start


def test_a_new_start_without_engine_settings_gets_this_versions_defaults() -> None:
    start = new_start("E1", "instance", context="3")
    assert start.engine is not None
    assert start.engine == EngineSettings.for_new_start()
    assert (start.engine.local_enqueue, start.engine.step_upsert_on_change) == (True, True)
    assert start.engine.step_alarm
    assert (start.enrollment_id, start.instance_id, start.context) == ("E1", "instance", "3")
    assert start.url_params == {}


def test_a_new_start_keeps_the_engine_settings_it_is_given() -> None:
    engine = EngineSettings.for_new_start(step_timeout_s=60, repush_interval_s=30)
    start = new_start("E1", "instance", url_params={"a": "b"}, engine=engine)
    assert start.engine == engine
    assert start.url_params == {"a": "b"}
