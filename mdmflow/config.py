"""The one settings object every mdmflow process reads at start.

NanoCMD's flags, renamed to ``MDMFLOW_*`` environment variables, plus Temporal's own
``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` so the same shell works for the ``temporal`` CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STEP_TIMEOUT_S = 259_200
DEFAULT_REPUSH_INTERVAL_S = 86_400


class ConfigError(Exception):
    """A setting is missing or contradicts another; the message is one line for the operator."""


class Settings(BaseSettings):
    """Process settings; read once with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="MDMFLOW_", extra="ignore", frozen=True)

    listen: str = "127.0.0.1:9003"
    api_key: str = ""
    enqueue_url: str = ""
    push_url: str = ""
    enqueue_api_key: str = ""
    enqueue_user: str = ""
    micromdm: bool = False
    step_timeout: int = Field(default=DEFAULT_STEP_TIMEOUT_S, gt=0)
    repush_interval: int = Field(default=DEFAULT_REPUSH_INTERVAL_S, gt=0)
    data_dir: Path = Path(".mdmflow")
    database_url: str = ""
    task_queue: str = "mdmflow"
    max_webhook_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    inline_result_bytes: int = Field(default=64 * 1024, gt=0)
    log_level: str = "INFO"
    temporal_address: str = Field(
        default="localhost:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE")
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _host, sep, port = self.listen.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"MDMFLOW_LISTEN must be host:port, got {self.listen!r}")
        if bool(self.enqueue_url) != bool(self.push_url):
            raise ValueError("MDMFLOW_ENQUEUE_URL and MDMFLOW_PUSH_URL must be set together")
        return self

    @property
    def listen_host(self) -> str:
        host = self.listen.rpartition(":")[0]
        return host or "0.0.0.0"

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def mdm_user(self) -> str:
        """The Basic-auth user for the MDM server; NanoCMD hard-codes it, we let it be set."""
        if self.enqueue_user:
            return self.enqueue_user
        return "micromdm" if self.micromdm else "nanomdm"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'mdmflow.db'}"

    def require_mdm_server(self) -> None:
        """Processes that talk to the MDM server call this; the others run without one."""
        if not self.enqueue_url:
            raise ConfigError(
                "MDMFLOW_ENQUEUE_URL and MDMFLOW_PUSH_URL are required "
                "(the NanoMDM or MicroMDM enqueue and push API base URLs)"
            )


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; a bad value becomes a one-line :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a cross-field check; its message names the settings involved
            raise ConfigError(
                f"invalid settings: {first['msg'].removeprefix('Value error, ')}"
            ) from None
        name = "MDMFLOW_" + ".".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"invalid setting {name}: {first['msg']}") from None
