"""Secrets at rest in the app database: AES-GCM sealed text bound to where it is stored.

A sealed value is ``v1:<key id>:<base64 of nonce + ciphertext>``. The caller's ``context``
(for example the enrollment ID and inventory key) is the associated data, so a sealed value
copied to another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mdmflow.crypto.keyring import AT_REST_LABEL, Keyring

VERSION = "v1"
NONCE_BYTES = 12


class SealedValueError(ValueError):
    """A sealed value does not open (unknown key, damaged, or moved to another context)."""


class SecretBox:
    """Seal and open secrets with keys derived from the deployment's key ring."""

    def __init__(self, keyring: Keyring) -> None:
        derived = keyring.derive(AT_REST_LABEL)
        self._current = derived.current
        self._ciphers = {kid: AESGCM(key) for kid, key in derived.keys.items()}

    def seal(self, secret: bytes, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, secret, context.encode())
        return f"{VERSION}:{self._current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, context: str) -> bytes:
        version, _, rest = sealed.partition(":")
        key_id, _, encoded = rest.partition(":")
        if version != VERSION or not encoded:
            raise SealedValueError(f"stored secret for {context!r} is not a sealed value")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealedValueError(
                f"stored secret for {context!r} was sealed with key {key_id!r}, "
                "which is not in the key ring"
            )
        try:
            blob = base64.b64decode(encoded, validate=True)
            return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except (binascii.Error, ValueError, InvalidTag):
            raise SealedValueError(f"stored secret for {context!r} does not open") from None
