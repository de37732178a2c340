"""The shared synthetic FileVault vectors (made with OpenSSL, outside this code) decrypt to
their known plaintexts: 3DES as in Apple's documented RotateFileVaultKey answer, and AES-256."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mdmflow.filevault.envelope import decrypt_envelope, recovery_key
from tests.conformance.corpus import FIXTURES, require_corpus

require_corpus()

VECTORS = FIXTURES / "synthetic" / "filevault"


@pytest.mark.parametrize(
    ("envelope", "plaintext"),
    [
        ("prk-old-des3.cms.der", "prk-old.txt"),
        ("prk-old-aes256.cms.der", "prk-old.txt"),
        ("prk-new-des3.cms.der", "prk-new.txt"),
    ],
)
def test_vector_decrypts_to_its_plaintext(envelope: str, plaintext: str) -> None:
    key = load_pem_private_key((VECTORS / "escrow-key-pkcs1.TEST-ONLY.pem").read_bytes(), None)
    assert isinstance(key, RSAPrivateKey)
    certificate = (VECTORS / "escrow-cert.der").read_bytes()
    blob = (VECTORS / envelope).read_bytes()
    expected = (VECTORS / plaintext).read_text().strip()
    assert recovery_key(decrypt_envelope(blob, key, certificate)) == expected
