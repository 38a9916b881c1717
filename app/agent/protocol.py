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
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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
    from cryptography.hazmat.primitives import serialization

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
