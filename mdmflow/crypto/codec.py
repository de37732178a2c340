"""AES-GCM payload codec for Temporal: what the server stores is ciphertext only.

As in samples-python ``encryption/codec.py``: an encrypted payload has metadata
``encoding=binary/encrypted`` and ``encryption-key-id``, and its data is the nonce followed by
the AES-GCM ciphertext of the whole serialized inner payload. Decoding passes through every
payload that is not encrypted (histories recorded before the codec, ``temporal workflow start
--input`` JSON), so turning encryption on never strands a running workflow.

Search attributes are not payloads a codec sees: they stay plaintext, so nothing secret may
go there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from mdmflow.crypto.keyring import CODEC_LABEL, Keyring

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class CodecError(ValueError):
    """An encrypted payload cannot be decrypted (unknown key ID or tampered data)."""


class AesGcmCodec(PayloadCodec):
    """Encrypts with the ring's current key; decrypts with whichever key a payload names."""

    def __init__(self, keyring: Keyring) -> None:
        derived = keyring.derive(CODEC_LABEL)
        self._current = derived.current
        self._ciphers = {kid: AESGCM(key) for kid, key in derived.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self._current.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecError(
                f"payload encrypted with key {key_id!r}, which is not in the key ring; "
                "add that key (after the current one) to MDMFLOW_CODEC_KEY"
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise CodecError(
                f"payload encrypted with key {key_id!r} fails authentication"
            ) from None
        return Payload.FromString(plain)


_PYDANTIC_CONVERTERS = tuple(PydanticPayloadConverter().converters.values())
"""The pydantic converter's encoding converters, built once per process. They hold no
per-workflow state: the JSON one keeps a cache of pydantic ``TypeAdapter`` by type and a
serializer, which every workflow may share."""


class SharedPydanticPayloadConverter(PydanticPayloadConverter):
    """``PydanticPayloadConverter`` whose encoding converters are shared by every instance.

    The worker builds a payload converter for every workflow it caches; the SDK's pydantic
    one gives each its own JSON converter with its own ``TypeAdapter`` cache, so every cached
    run built and kept its own ``TypeAdapter(WorkflowStart)``: a validator and serializer
    rebuilt from scratch, about 39 KiB of RSS and 0.65 ms each (measured). Shared, each type's
    is built once per process. Payloads are the same bytes either way: same converters, same
    order.
    """

    def __init__(self) -> None:
        CompositePayloadConverter.__init__(self, *_PYDANTIC_CONVERTERS)


def data_converter(keyring: Keyring) -> DataConverter:
    """The pydantic converter with the codec, failure messages and stack traces encoded too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=SharedPydanticPayloadConverter,
        payload_codec=AesGcmCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
