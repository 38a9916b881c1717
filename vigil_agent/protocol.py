"""What the server and the agent agree on about a command: its canonical bytes and its
Ed25519 signature. Both sides import this one module, so they cannot drift apart.

The signed envelope is the JSON object {id, device_id, type, payload, expires_at, nonce}
serialised canonically: keys sorted at every level, no whitespace, UTF-8 (not \\u escapes),
and expires_at as an ISO 8601 UTC string with whole seconds and a Z.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIGNED_FIELDS = ("id", "device_id", "type", "payload", "expires_at", "nonce")


def iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a time zone is required")
    return parsed.astimezone(UTC)


def canonical_bytes(envelope: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: only the signed fields, canonical JSON."""
    missing = [f for f in SIGNED_FIELDS if f not in envelope]
    if missing:
        raise ValueError(f"the command lacks {', '.join(missing)}")
    body = {f: envelope[f] for f in SIGNED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def public_key_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64: what enrolment hands the agent."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_bytes(text: str, what: str) -> bytes:
    """A 32-byte Ed25519 key (public, or a private seed) from base64; ValueError naming `what`."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not base64") from exc
    if len(raw) != 32:
        raise ValueError(f"{what} is not 32 bytes")
    return raw


def load_public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(key_bytes(text, "the signing public key"))


def sign(private_key: Ed25519PrivateKey, envelope: dict[str, Any]) -> str:
    return base64.b64encode(private_key.sign(canonical_bytes(envelope))).decode()


def verify(public_key: Ed25519PublicKey, envelope: dict[str, Any], signature: str | None) -> bool:
    """True only when `signature` is the key's signature over the envelope's canonical bytes."""
    if not isinstance(signature, str):
        return False
    try:
        public_key.verify(base64.b64decode(signature, validate=True), canonical_bytes(envelope))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


# Secrets sealed to one agent ----------------------------------------------------------------------
# A secret a command carries (a backup repository's password) is sealed to the device's
# X25519 public key (the one it enrolled with): an ephemeral key, ECDH, HKDF under its own
# label, AES-256-GCM. Only that agent can open it, so the stored command, the job that sent
# it and the audit trail hold ciphertext only.
SEAL_INFO = b"vigil agent sealed secret v1"


def _seal_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + recipient_public,
                info=SEAL_INFO).derive(shared)


def seal(recipient_public_b64: str, secret: dict[str, Any]) -> str:
    """`secret` (a JSON object) sealed to the holder of the X25519 private key."""
    recipient = key_bytes(recipient_public_b64, "the device's public key")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = _seal_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient)), ephemeral_public, recipient)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(secret, sort_keys=True).encode(), SEAL_INFO)
    return base64.b64encode(ephemeral_public + nonce + sealed).decode()


def unseal(private_b64: str, sealed_b64: str) -> dict[str, Any]:
    """Open what `seal` made for this key; ValueError when it is not for this key or damaged."""
    private = X25519PrivateKey.from_private_bytes(key_bytes(private_b64, "the device's private key"))
    try:
        raw = base64.b64decode(sealed_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the sealed secret is not base64") from exc
    if len(raw) < 32 + 12 + 16:
        raise ValueError("the sealed secret is too short")
    ephemeral_public, nonce, body = raw[:32], raw[32:44], raw[44:]
    own_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = _seal_key(private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public)), ephemeral_public, own_public)
    try:
        plain = AESGCM(key).decrypt(nonce, body, SEAL_INFO)
    except InvalidTag as exc:
        raise ValueError("the sealed secret is not for this agent, or was changed") from exc
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise ValueError("the sealed secret is not an object")
    return value
