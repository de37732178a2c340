"""Open the CMS EnvelopedData a Mac sends its FileVault recovery key in.

``FDE_PersonalRecoveryKeyCMS`` (SecurityInfo) and ``RotateResult.EncryptedNewRecoveryKey``
are PKCS#7 EnvelopedData, DER or indefinite-length BER, with one RSA (PKCS#1 v1.5) key
transport recipient named by issuer and serial number of our escrow certificate. Apple's
documented example uses 3DES-CBC for the content, which ``cryptography``'s PKCS#7 helpers
refuse, so the envelope is read with asn1crypto and each layer opened with ``cryptography``:
RSA unwrap of the content key, then 3DES- or AES-CBC, then the PKCS#7 padding.

Errors say what was wrong with the envelope and never include key material or plaintext.
"""

from __future__ import annotations

from asn1crypto import cms, x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes

KEY_BYTES = {"tripledes": (24,), "aes": (16, 24, 32)}


class EnvelopeError(ValueError):
    """The blob is not an envelope this escrow identity can open."""


def decrypt_envelope(blob: bytes, private_key: RSAPrivateKey, certificate_der: bytes) -> bytes:
    """The plaintext of an EnvelopedData addressed to ``certificate_der``."""
    envelope = _enveloped_data(blob)
    recipient = _our_recipient(envelope, x509.Certificate.load(certificate_der))
    try:
        content_key = private_key.decrypt(recipient["encrypted_key"].native, rsa_padding.PKCS1v15())
    except ValueError:
        raise EnvelopeError("the content key does not unwrap with the escrow private key") from None
    return _decrypt_content(envelope["encrypted_content_info"], content_key)


def recovery_key(plaintext: bytes) -> str:
    """The recovery key text; a :class:`EnvelopeError` if the plaintext cannot be one."""
    try:
        text = plaintext.decode("ascii").strip("\x00").strip()
    except UnicodeDecodeError:
        raise EnvelopeError("the decrypted content is not ASCII text; wrong key?") from None
    if not text or not text.isprintable():
        raise EnvelopeError("the decrypted content is not a printable recovery key")
    return text


def _enveloped_data(blob: bytes) -> cms.EnvelopedData:
    if not blob:
        raise EnvelopeError("the CMS blob is empty")
    try:
        info = cms.ContentInfo.load(blob)
        content_type = info["content_type"].native
        envelope = info["content"]
        if content_type != "enveloped_data":
            raise EnvelopeError(f"the CMS content type is {content_type}, not enveloped_data")
        envelope.native  # noqa: B018 - parse every field now, so damage shows here
    except EnvelopeError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise EnvelopeError(f"the blob is not CMS EnvelopedData ({type(exc).__name__})") from None
    assert isinstance(envelope, cms.EnvelopedData)
    return envelope


def _our_recipient(
    envelope: cms.EnvelopedData, certificate: x509.Certificate
) -> cms.KeyTransRecipientInfo:
    kinds = []
    for info in envelope["recipient_infos"]:
        kinds.append(info.name)
        if info.name != "ktri":
            continue
        recipient = info.chosen
        rid = recipient["rid"]
        if rid.name != "issuer_and_serial_number":
            continue
        if (
            rid.chosen["serial_number"].native == certificate.serial_number
            and rid.chosen["issuer"] == certificate.issuer
        ):
            algorithm = recipient["key_encryption_algorithm"]["algorithm"].native
            if algorithm not in ("rsaes_pkcs1v15", "rsa"):
                raise EnvelopeError(f"key transport {algorithm} is not RSA PKCS#1 v1.5")
            return recipient
    raise EnvelopeError(
        "the envelope is not addressed to this deployment's escrow certificate "
        f"(recipients: {', '.join(kinds) or 'none'})"
    )


def _decrypt_content(content: cms.EncryptedContentInfo, key: bytes) -> bytes:
    algorithm = content["content_encryption_algorithm"]
    try:
        name = algorithm.encryption_cipher
        mode = algorithm.encryption_mode
        iv = algorithm.encryption_iv
    except ValueError as exc:
        raise EnvelopeError(f"unsupported content encryption: {exc}") from None
    if mode != "cbc" or name not in KEY_BYTES:
        raise EnvelopeError(f"unsupported content encryption {algorithm['algorithm'].native}")
    if len(key) not in KEY_BYTES[name]:
        raise EnvelopeError("the unwrapped content key has the wrong length; wrong key?")
    cipher: BlockCipherAlgorithm = TripleDES(key) if name == "tripledes" else algorithms.AES(key)
    ciphertext = content["encrypted_content"].native
    block = cipher.block_size // 8
    if not ciphertext or len(ciphertext) % block:
        raise EnvelopeError("the encrypted content is empty or not whole cipher blocks")
    decryptor = Cipher(cipher, modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(cipher.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise EnvelopeError("the content padding is invalid; wrong key or damaged data") from None
