"""Settings of a simulated MDM server and its fleet."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Mode = Literal["nanomdm", "micromdm"]


class SimulatorConfig(BaseModel):
    """One simulated server: which API dialect it speaks, where it reports, how devices behave.

    The behaviour knobs (rates, latency) are only the starting values; the simulator holds its
    own mutable copies so a test can change them between pushes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = "nanomdm"
    api_key: str = Field(min_length=1)
    api_user: str | None = None
    webhook_url: str
    devices: int = Field(default=3, ge=0)
    seed: int = 0
    not_now_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: tuple[int, int] = (0, 0)
    ios_ratio: float = Field(default=0.0, ge=0.0, le=1.0)
    webhook_hmac_key: str = ""
    url_params: dict[str, str] = Field(default_factory=dict)
    enrolled: bool = True
    """False: devices start unenrolled (no push reaches them) until ``Simulator.enroll``."""
    max_sessions: int = Field(default=16, ge=1)
    """Devices in session at once, which is also the webhook connection pool size."""
    kept_requests: int = Field(default=10_000, ge=1)
    """At most this many API requests are kept in ``Simulator.requests``, the most recent:
    tests assert on them, and a long-running ``mdmflow simulate`` must not grow with every
    request it serves."""

    @model_validator(mode="after")
    def _latency_range(self) -> SimulatorConfig:
        low, high = self.latency_ms
        if not 0 <= low <= high:
            raise ValueError("latency_ms must be (low, high) with 0 <= low <= high")
        return self

    @property
    def auth_user(self) -> str:
        """The Basic-auth user of the API: ``nanomdm`` or ``micromdm`` unless overridden."""
        return self.api_user or self.mode
