"""The one settings object every mdmflow process reads at start.

NanoCMD's flags, renamed to ``MDMFLOW_*`` environment variables, plus Temporal's own
``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` so the same shell works for the ``temporal`` CLI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, PrivateAttr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mdmflow.activities.models import (
    DEFAULT_REPUSH_INTERVAL_S,
    DEFAULT_STEP_TIMEOUT_S,
    EngineSettings,
)
from mdmflow.crypto.keyring import Keyring, KeyringError, parse_keyring
from mdmflow.nanocmd_env import NanoCMDSettingError, nanocmd_fallback

CODEC_KEY_FILE_NAME = "codec-key"


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
    start_rate: float = Field(default=0.0, ge=0)
    """Device workflows a fleet start starts per second; 0 (NanoCMD's way): as fast as
    Temporal takes them. Set it to spare the MDM server a burst of enqueues and pushes."""
    fleet_start_threshold: int = Field(default=100, ge=1)
    """Starts on more IDs than this are answered 202 at once and fanned out by a workflow."""
    max_webhook_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    inline_result_bytes: int = Field(default=64 * 1024, gt=0)
    log_level: str = "INFO"
    codec_key: str = Field(default="", repr=False)
    """Encryption key ring (``id:base64,...``) for Temporal payloads and app-DB secrets."""
    codec_key_file: Path | None = None
    """A file holding the key ring instead; default ``<data dir>/codec-key`` if it exists."""
    codec_cors_origins: str = ""
    """Comma-separated browser origins (the Temporal Web UI) allowed to call ``/codec``."""
    codec_ui_token: str = Field(default="", repr=False)
    """When set, ``/codec/ui/<token>`` serves the Web UI, which cannot send credentials."""
    webhook_hmac_key: str = Field(default="", repr=False)
    """When set, ``/webhook`` requires NanoMDM's ``X-Hmac-Signature`` made with this key."""
    temporal_address: str = Field(
        default="localhost:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE")
    )
    _nanocmd_notes: tuple[str, ...] = PrivateAttr(default=())

    @property
    def nanocmd_notes(self) -> tuple[str, ...]:
        """Which ``NANOCMD_*`` variables filled settings and which were ignored, for the log."""
        return self._nanocmd_notes

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _host, sep, port = self.listen.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"MDMFLOW_LISTEN must be host:port, got {self.listen!r}")
        if bool(self.enqueue_url) != bool(self.push_url):
            raise ValueError("MDMFLOW_ENQUEUE_URL and MDMFLOW_PUSH_URL must be set together")
        if self.codec_key and self.codec_key_file is not None:
            raise ValueError("MDMFLOW_CODEC_KEY and MDMFLOW_CODEC_KEY_FILE are both set; use one")
        if self.codec_key:
            parse_keyring(self.codec_key, source="MDMFLOW_CODEC_KEY")
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

    @property
    def codec_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.codec_cors_origins.split(",") if o.strip()]

    def keyring(self) -> Keyring:
        """The encryption key ring: the variable, else the key file; a :class:`ConfigError` if
        there is none (every process must encrypt, or payloads would be unreadable to others)."""
        if self.codec_key:
            return parse_keyring(self.codec_key, source="MDMFLOW_CODEC_KEY")
        path = self.codec_key_file or self.data_dir / CODEC_KEY_FILE_NAME
        try:
            text = path.read_text()
        except FileNotFoundError:
            if self.codec_key_file is not None:
                raise ConfigError(f"MDMFLOW_CODEC_KEY_FILE {path} does not exist") from None
            raise ConfigError(
                "no encryption key: set MDMFLOW_CODEC_KEY or MDMFLOW_CODEC_KEY_FILE "
                f"(or run `mdmflow dev` once to create {path})"
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {path}: {exc.strerror}") from None
        try:
            return parse_keyring(text, source=f"key file {path}")
        except KeyringError as exc:
            raise ConfigError(str(exc)) from None

    @property
    def engine(self) -> EngineSettings:
        """The engine defaults every start carries to its workflow."""
        return EngineSettings.for_new_start(
            step_timeout_s=self.step_timeout, repush_interval_s=self.repush_interval
        )

    def require_mdm_server(self) -> None:
        """Processes that talk to the MDM server call this; the others run without one."""
        if not self.enqueue_url:
            raise ConfigError(
                "MDMFLOW_ENQUEUE_URL and MDMFLOW_PUSH_URL are required "
                "(the NanoMDM or MicroMDM enqueue and push API base URLs)"
            )


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; a bad value becomes a one-line :class:`ConfigError`.

    NanoCMD's ``NANOCMD_*`` variables fill the settings whose ``MDMFLOW_*`` variable is unset
    (see :mod:`mdmflow.nanocmd_env`), so a NanoCMD deployment's environment works as it is.
    """
    try:
        fallback = nanocmd_fallback(os.environ, overrides)
    except NanoCMDSettingError as exc:
        raise ConfigError(f"invalid setting: {exc}") from None
    try:
        settings = Settings(**{**fallback.values, **overrides})  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a cross-field check; its message names the settings involved
            raise ConfigError(
                f"invalid settings: {first['msg'].removeprefix('Value error, ')}"
            ) from None
        name = "MDMFLOW_" + ".".join(str(p) for p in first["loc"]).upper()
        if (source := fallback.sources.get(str(first["loc"][0]))) is not None:
            name = f"{source} (read as {name})"
        raise ConfigError(f"invalid setting {name}: {first['msg']}") from None
    settings._nanocmd_notes = fallback.notes()
    return settings
