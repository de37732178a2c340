"""The tests' encryption key ring: every test server, client and worker encrypts with it.

A fixed key, so recorded replay histories stay decodable; never a deployment's key.
"""

from __future__ import annotations

import base64

from temporalio.converter import DataConverter

from mdmflow.crypto.codec import data_converter
from mdmflow.crypto.keyring import Keyring, parse_keyring

TEST_CODEC_KEY = "test-1:" + base64.b64encode(bytes(range(32))).decode()
TEST_KEYRING: Keyring = parse_keyring(TEST_CODEC_KEY, source="TEST_CODEC_KEY")


def codec_converter() -> DataConverter:
    """The converter of every mdmflow process, with the test key ring."""
    return data_converter(TEST_KEYRING)
