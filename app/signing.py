"""The server's Ed25519 key that signs fleet commands (and the audit anchors).

`VIGIL_FLEET_SIGNING_KEY` holds the private key as base64 of its 32-byte seed (`vigil fleet
signing-key` prints a fresh one). Without it the key is derived from SECRET_KEY with HKDF
under its own label, so a development checkout or a test run has a stable key with no
file to manage; production warns about that, because rotating SECRET_KEY then changes the
key every enrolled agent trusts.

A foundation helper (issue 21): app/config.py validates the setting with it and both the
fleet and the audit anchor sign with it, so it belongs to neither.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from vigil_agent.protocol import key_bytes, public_key_text

HKDF_INFO = b"vigil fleet command signing v1"


def private_key_from_config(config: dict[str, Any]) -> Ed25519PrivateKey:
    """The configured key, or the one derived from SECRET_KEY; ValueError for a bad setting."""
    explicit = config.get("FLEET_SIGNING_KEY")
    if explicit:
        return Ed25519PrivateKey.from_private_bytes(key_bytes(explicit, "the Ed25519 seed"))
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        str(config["SECRET_KEY"]).encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_key() -> Ed25519PrivateKey:
    """The app's signing key, built once per app."""
    cached = current_app.extensions.get("vigil_signing_key")
    if cached is None:
        cached = current_app.extensions["vigil_signing_key"] = private_key_from_config(current_app.config)
    return cached


def public_key() -> str:
    """The base64 raw public key that agents verify commands with."""
    return public_key_text(signing_key().public_key())


def new_seed() -> str:
    from cryptography.hazmat.primitives import serialization

    raw = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                     serialization.NoEncryption())
    return base64.b64encode(raw).decode()
