"""Sealed values at rest: bound to their row, openable after a key rotation."""

from __future__ import annotations

import base64

import pytest

from mdmflow.crypto.keyring import parse_keyring
from mdmflow.crypto.sealed import SealedValueError, SecretBox

OLD = "old:" + base64.b64encode(b"\x05" * 32).decode()
NEW = "new:" + base64.b64encode(b"\x06" * 32).decode()


def test_sealed_value_hides_the_secret_and_opens_in_its_context() -> None:
    box = SecretBox(parse_keyring(NEW, source="t"))
    sealed = box.seal(b"ABCD-EFGH", "inventory/E1/prk")
    assert sealed.startswith("v1:new:")
    assert "ABCD" not in sealed
    assert box.open(sealed, "inventory/E1/prk") == b"ABCD-EFGH"


def test_a_value_moved_to_another_row_does_not_open() -> None:
    box = SecretBox(parse_keyring(NEW, source="t"))
    sealed = box.seal(b"123456", "inventory/E1/pin")
    with pytest.raises(SealedValueError, match="does not open"):
        box.open(sealed, "inventory/E2/pin")


def test_old_values_open_after_rotation_and_unknown_keys_are_named() -> None:
    sealed = SecretBox(parse_keyring(OLD, source="t")).seal(b"x", "c")
    rotated = SecretBox(parse_keyring(f"{NEW},{OLD}", source="t"))
    assert rotated.open(sealed, "c") == b"x"
    assert rotated.seal(b"x", "c").startswith("v1:new:")
    with pytest.raises(SealedValueError, match="key 'old', which is not in the key ring"):
        SecretBox(parse_keyring(NEW, source="t")).open(sealed, "c")
    with pytest.raises(SealedValueError, match="not a sealed value"):
        rotated.open("plain text", "c")
