"""Simulator settings: the auth user follows the mode unless overridden; ranges are checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mdmflow.simulator import SimulatorConfig


def test_auth_user_follows_the_mode() -> None:
    base = {"api_key": "k", "webhook_url": "http://127.0.0.1:1/webhook"}
    assert SimulatorConfig.model_validate(base).auth_user == "nanomdm"
    assert SimulatorConfig.model_validate({**base, "mode": "micromdm"}).auth_user == "micromdm"
    assert SimulatorConfig.model_validate({**base, "api_user": "ops"}).auth_user == "ops"


@pytest.mark.parametrize(
    "bad",
    [{"latency_ms": (5, 1)}, {"not_now_rate": 1.5}, {"api_key": ""}, {"devices": -1}],
)
def test_out_of_range_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SimulatorConfig.model_validate({"api_key": "k", "webhook_url": "http://x/", **bad})
