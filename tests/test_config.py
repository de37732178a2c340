"""load_settings: NanoCMD-derived defaults, MDMFLOW_* / TEMPORAL_* variables, one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mdmflow.activities.models import DEFAULT_REPUSH_INTERVAL_S, DEFAULT_STEP_TIMEOUT_S
from mdmflow.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the variables it sets itself."""
    for name in list(os.environ):
        if name.upper().startswith(("MDMFLOW_", "TEMPORAL_")):
            monkeypatch.delenv(name)


def config_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    settings = load_settings()
    assert settings.listen == "127.0.0.1:9003"
    assert settings.listen_host == "127.0.0.1"
    assert settings.listen_port == 9003
    assert settings.step_timeout == DEFAULT_STEP_TIMEOUT_S == 259_200
    assert settings.repush_interval == DEFAULT_REPUSH_INTERVAL_S == 86_400
    assert settings.task_queue == "mdmflow"
    assert settings.micromdm is False
    assert settings.mdm_user == "nanomdm"
    assert settings.api_key == ""
    assert settings.enqueue_url == ""
    assert settings.push_url == ""
    assert settings.temporal_address == "localhost:7233"
    assert settings.temporal_namespace == "default"


def test_micromdm_mode_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDMFLOW_MICROMDM", "true")
    settings = load_settings()
    assert settings.micromdm is True
    assert settings.mdm_user == "micromdm"


@pytest.mark.parametrize("micromdm", ["false", "true"])
def test_enqueue_user_override(monkeypatch: pytest.MonkeyPatch, micromdm: str) -> None:
    monkeypatch.setenv("MDMFLOW_MICROMDM", micromdm)
    monkeypatch.setenv("MDMFLOW_ENQUEUE_USER", "admin")
    assert load_settings().mdm_user == "admin"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "MDMFLOW_LISTEN": "0.0.0.0:8080",
        "MDMFLOW_API_KEY": "secret",
        "MDMFLOW_ENQUEUE_URL": "http://nanomdm.local:9000/v1/enqueue/",
        "MDMFLOW_PUSH_URL": "http://nanomdm.local:9000/v1/push/",
        "MDMFLOW_ENQUEUE_API_KEY": "nanomdm-api",
        "MDMFLOW_STEP_TIMEOUT": "60",
        "MDMFLOW_REPUSH_INTERVAL": "30",
        "MDMFLOW_TASK_QUEUE": "mdm-tq",
        "MDMFLOW_DATA_DIR": str(tmp_path),
        "MDMFLOW_LOG_LEVEL": "DEBUG",
        "TEMPORAL_ADDRESS": "temporal.example:7233",
        "TEMPORAL_NAMESPACE": "mdm",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.listen_host == "0.0.0.0"
    assert settings.listen_port == 8080
    assert settings.api_key == "secret"
    assert settings.enqueue_url == "http://nanomdm.local:9000/v1/enqueue/"
    assert settings.push_url == "http://nanomdm.local:9000/v1/push/"
    assert settings.enqueue_api_key == "nanomdm-api"
    assert settings.step_timeout == 60
    assert settings.repush_interval == 30
    assert settings.task_queue == "mdm-tq"
    assert settings.data_dir == tmp_path
    assert settings.log_level == "DEBUG"
    assert settings.temporal_address == "temporal.example:7233"
    assert settings.temporal_namespace == "mdm"
    settings.require_mdm_server()


def test_temporal_variables_have_no_mdmflow_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDMFLOW_TEMPORAL_ADDRESS", "wrong:1")
    monkeypatch.setenv("MDMFLOW_TEMPORAL_NAMESPACE", "wrong")
    settings = load_settings()
    assert settings.temporal_address == "localhost:7233"
    assert settings.temporal_namespace == "default"


def test_empty_host_listens_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDMFLOW_LISTEN", ":9003")
    settings = load_settings()
    assert settings.listen_host == "0.0.0.0"
    assert settings.listen_port == 9003


def test_overrides_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDMFLOW_TASK_QUEUE", "from-env")
    assert load_settings(task_queue="from-code").task_queue == "from-code"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MDMFLOW_STEP_TIMEOUT", "0"),
        ("MDMFLOW_STEP_TIMEOUT", "-5"),
        ("MDMFLOW_STEP_TIMEOUT", "three days"),
        ("MDMFLOW_REPUSH_INTERVAL", "0"),
        ("MDMFLOW_MICROMDM", "maybe"),
        ("MDMFLOW_MAX_WEBHOOK_BYTES", "0"),
    ],
)
def test_bad_field_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    message = config_error(monkeypatch, **{name: value})
    assert message.startswith(f"invalid setting {name}: ")


@pytest.mark.parametrize("listen", ["nonsense", "localhost", "host:port", "127.0.0.1:"])
def test_bad_listen(monkeypatch: pytest.MonkeyPatch, listen: str) -> None:
    message = config_error(monkeypatch, MDMFLOW_LISTEN=listen)
    assert message == f"invalid settings: MDMFLOW_LISTEN must be host:port, got {listen!r}"


@pytest.mark.parametrize("given", ["MDMFLOW_ENQUEUE_URL", "MDMFLOW_PUSH_URL"])
def test_enqueue_and_push_url_go_together(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    message = config_error(monkeypatch, **{given: "http://nanomdm.local:9000/v1/x/"})
    assert "MDMFLOW_ENQUEUE_URL" in message
    assert "MDMFLOW_PUSH_URL" in message


def test_database_url_defaults_to_sqlite_under_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_settings().resolved_database_url == "sqlite+aiosqlite:///.mdmflow/mdmflow.db"
    monkeypatch.setenv("MDMFLOW_DATA_DIR", str(tmp_path / "state"))
    url = load_settings().resolved_database_url
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'state' / 'mdmflow.db'}"


def test_database_url_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = "postgresql+asyncpg://mdmflow:pw@db.example:5432/mdmflow"
    monkeypatch.setenv("MDMFLOW_DATABASE_URL", dsn)
    assert load_settings().resolved_database_url == dsn


def test_require_mdm_server_without_enqueue_url() -> None:
    settings = load_settings()
    with pytest.raises(ConfigError, match="MDMFLOW_ENQUEUE_URL") as info:
        settings.require_mdm_server()
    assert "\n" not in str(info.value)
