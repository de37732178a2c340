"""The deployment's encryption keys: named AES-256 keys, the first one current.

One secret serves two purposes, each through its own derived key (HKDF-SHA256 with a label),
so a ciphertext of one kind can never be mistaken for the other: the Temporal payload codec
and the secrets sealed in the app database. Every ciphertext names the key ID it was made with;
to rotate, put a new key first and keep the old ones after it until nothing uses them.

Text form (``MDMFLOW_CODEC_KEY``, or one entry per line in ``MDMFLOW_CODEC_KEY_FILE``)::

    <key id>:<base64 of 32 random bytes>[,<key id>:<base64>...]
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CODEC_LABEL = b"mdmflow temporal payload codec v1"
AT_REST_LABEL = b"mdmflow app database secrets v1"


class KeyringError(ValueError):
    """The key text is malformed; the message names the problem, never the key material."""


@dataclass(frozen=True)
class Keyring:
    """Key ID → 32-byte key; ``current`` encrypts, every key decrypts."""

    current: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyringError(f"current key {self.current!r} is not in the key ring")

    def __repr__(self) -> str:  # never print key material, not even in a traceback
        return f"Keyring(current={self.current!r}, ids={sorted(self.keys)!r})"

    def derive(self, label: bytes) -> Keyring:
        """The same key IDs with keys derived for one purpose (``CODEC_LABEL``, ...)."""
        return Keyring(
            current=self.current,
            keys={kid: _hkdf(key, label) for kid, key in self.keys.items()},
        )


def parse_keyring(text: str, *, source: str) -> Keyring:
    """Parse the text form; ``source`` names the setting or file in error messages."""
    entries = [e.strip() for e in re.split(r"[,\n]", text) if e.strip() and not e.startswith("#")]
    if not entries:
        raise KeyringError(f"{source} holds no key")
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not KEY_ID.match(key_id):
            raise KeyringError(
                f"{source} entry {position} must be <key id>:<base64 key> "
                "(key id of letters, digits, '.', '_' or '-')"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyringError(f"{source} key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise KeyringError(
                f"{source} key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
            )
        if key_id in keys:
            raise KeyringError(f"{source} names key {key_id!r} twice")
        keys[key_id] = key
    return Keyring(current=next(iter(keys)), keys=keys)


def new_key_entry() -> str:
    """A fresh ``<key id>:<base64>`` entry from the OS's cryptographic source."""
    return f"k{secrets.token_hex(4)}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def ensure_key_file(path: Path) -> None:
    """Create ``path`` with one new key (mode 0600) unless it exists; ``mdmflow dev`` calls it."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    with os.fdopen(fd, "w") as out:
        out.write("# mdmflow encryption keys: the first one encrypts; keep old ones to decrypt\n")
        out.write(new_key_entry() + "\n")


def _hkdf(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label).derive(key)
