"""The payload codec: ciphertext only, key ID in metadata, rotation, pass-through, tampering."""

from __future__ import annotations

import base64

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultFailureConverterWithEncodedAttributes,
)

from mdmflow.crypto.codec import ENCODING, KEY_ID_METADATA, AesGcmCodec, CodecError, data_converter
from mdmflow.crypto.keyring import parse_keyring
from mdmflow.workflows.models import WorkflowStart

OLD = "old:" + base64.b64encode(b"\x01" * 32).decode()
NEW = "new:" + base64.b64encode(b"\x02" * 32).decode()
SECRET = b'{"pin":"314159"}'


def plain(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_encrypted_payload_holds_no_plaintext_and_names_its_key() -> None:
    codec = AesGcmCodec(parse_keyring(NEW, source="test"))
    [sealed] = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"new"
    assert SECRET not in sealed.data
    assert b"json/plain" not in sealed.data  # the inner metadata is encrypted too
    [opened] = await codec.decode([sealed])
    assert opened == plain()


async def test_each_encryption_uses_a_fresh_nonce() -> None:
    codec = AesGcmCodec(parse_keyring(NEW, source="test"))
    first, second = await codec.encode([plain(), plain()])
    assert first.data != second.data


async def test_rotated_ring_decrypts_old_payloads_and_encrypts_with_the_new_key() -> None:
    before = AesGcmCodec(parse_keyring(OLD, source="test"))
    after = AesGcmCodec(parse_keyring(f"{NEW},{OLD}", source="test"))
    [old_sealed] = await before.encode([plain()])
    assert await after.decode([old_sealed]) == [plain()]
    [new_sealed] = await after.encode([plain()])
    assert new_sealed.metadata[KEY_ID_METADATA] == b"new"
    with pytest.raises(CodecError, match="key 'new', which is not in the key ring"):
        await before.decode([new_sealed])


async def test_unencrypted_payloads_pass_through() -> None:
    codec = AesGcmCodec(parse_keyring(NEW, source="test"))
    legacy = [plain(), Payload(metadata={"encoding": b"binary/null"})]
    assert await codec.decode(legacy) == legacy


async def test_tampered_ciphertext_is_refused() -> None:
    codec = AesGcmCodec(parse_keyring(NEW, source="test"))
    [sealed] = await codec.encode([plain()])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    sealed.data = bytes(flipped)
    with pytest.raises(CodecError, match="fails authentication"):
        await codec.decode([sealed])


async def test_converter_round_trips_models_and_encodes_failures() -> None:
    converter = data_converter(parse_keyring(NEW, source="test"))
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    start = WorkflowStart(enrollment_id="E1", context="c")
    payloads = await converter.encode([start])
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert b"E1" not in payloads[0].data
    assert await converter.decode(payloads, [WorkflowStart]) == [start]


def test_payload_converters_share_their_encoders_and_encode_as_the_sdk_does() -> None:
    """The worker builds a payload converter per cached workflow; each must reuse the one set
    of encoders (and so the one TypeAdapter per model), and write the SDK's bytes."""
    converter_class = data_converter(parse_keyring(NEW, source="test")).payload_converter_class
    first, second = converter_class(), converter_class()
    assert isinstance(first, CompositePayloadConverter)
    assert isinstance(second, CompositePayloadConverter)
    pairs = zip(first.converters.values(), second.converters.values(), strict=True)
    assert all(a is b for a, b in pairs)
    start = WorkflowStart(enrollment_id="E1", context="c")
    assert first.to_payloads([start]) == PydanticPayloadConverter().to_payloads([start])
    assert first.from_payloads(first.to_payloads([start]), [WorkflowStart]) == [start]
