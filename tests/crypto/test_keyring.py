"""Key ring text, key files, derivation; and the settings that carry them (one clear line)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from mdmflow.config import ConfigError, Settings, load_settings
from mdmflow.crypto.keyring import (
    AT_REST_LABEL,
    CODEC_LABEL,
    KeyringError,
    ensure_key_file,
    parse_keyring,
)

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def test_first_entry_is_current_and_every_entry_is_kept() -> None:
    ring = parse_keyring(f"new:{KEY_B}, old:{KEY_A}", source="X")
    assert ring.current == "new"
    assert ring.keys == {"new": b"b" * 32, "old": b"a" * 32}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "holds no key"),
        (KEY_A, "entry 1 must be <key id>:<base64 key>"),
        ("bad id:" + KEY_A, "entry 1 must be"),
        ("k:not base64!", "not valid base64"),
        ("k:" + base64.b64encode(b"short").decode(), "is 5 bytes; AES-256 needs 32"),
        (f"k:{KEY_A},k:{KEY_B}", "names key 'k' twice"),
    ],
)
def test_bad_key_text_is_named_without_the_key(text: str, problem: str) -> None:
    with pytest.raises(KeyringError, match=problem) as caught:
        parse_keyring(text, source="MDMFLOW_CODEC_KEY")
    assert "MDMFLOW_CODEC_KEY" in str(caught.value)
    assert KEY_A not in str(caught.value)


def test_repr_shows_key_ids_only() -> None:
    ring = parse_keyring(f"k1:{KEY_A}", source="X")
    assert KEY_A not in repr(ring)
    assert "aaaa" not in repr(ring)
    assert "k1" in repr(ring)


def test_purposes_get_different_keys() -> None:
    ring = parse_keyring(f"k1:{KEY_A}", source="X")
    codec, at_rest = ring.derive(CODEC_LABEL), ring.derive(AT_REST_LABEL)
    assert len({codec.keys["k1"], at_rest.keys["k1"], ring.keys["k1"]}) == 3
    assert codec.current == "k1"


def test_key_file_is_created_once_private_and_parses(tmp_path: Path) -> None:
    path = tmp_path / "data" / "codec-key"
    ensure_key_file(path)
    first = path.read_text()
    ensure_key_file(path)
    assert path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = parse_keyring(first, source="file")
    assert len(ring.keys) == 1


def test_settings_read_the_key_from_the_variable_or_the_file(tmp_path: Path) -> None:
    assert Settings(codec_key=f"env:{KEY_A}").keyring().current == "env"
    key_file = tmp_path / "keys"
    key_file.write_text(f"# comment\nfile:{KEY_B}\n")
    assert Settings(codec_key_file=key_file).keyring().current == "file"
    ensure_key_file(tmp_path / "codec-key")
    assert Settings(data_dir=tmp_path).keyring().current.startswith("k")


def test_missing_key_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no encryption key: set MDMFLOW_CODEC_KEY") as caught:
        Settings(data_dir=tmp_path).keyring()
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"MDMFLOW_CODEC_KEY_FILE .* does not exist"):
        Settings(codec_key_file=tmp_path / "nope").keyring()


def test_contradictory_or_malformed_key_settings_fail_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both set; use one"):
        load_settings(codec_key=f"k:{KEY_A}", codec_key_file=tmp_path / "k")
    with pytest.raises(ConfigError, match="MDMFLOW_CODEC_KEY key 'k' is 3 bytes") as caught:
        load_settings(codec_key="k:" + base64.b64encode(b"abc").decode())
    assert "\n" not in str(caught.value)


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = Settings(
        codec_key=f"k:{KEY_A}", webhook_hmac_key="hmac-secret", codec_ui_token="t0k"
    )
    shown = repr(settings)
    assert KEY_A not in shown
    assert "hmac-secret" not in shown
    assert "t0k" not in shown
