"""Encryption at rest for secrets Vigil must read back (webhook and SMTP secrets, TOTP seeds).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under ENCRYPTION_KEY. The
setting may hold several comma-separated keys: the first encrypts, all of them decrypt,
so a key can be rotated without losing what the old one sealed. When no key is set,
one is derived from SECRET_KEY with HKDF-SHA256 (then changing SECRET_KEY makes every
stored secret unreadable, which is why production logs a warning).

Passwords and API keys are NOT stored here: they are hashed, never decrypted.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Fixed, versioned: changing it would orphan every value sealed under a derived key.
HKDF_INFO = b"vigil:encryption-at-rest:v1"


class DecryptionError(ValueError):
    """A stored secret cannot be decrypted: wrong ENCRYPTION_KEY, or a damaged value."""


def derive_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY (HKDF-SHA256, fixed info string)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw).decode()


def generate_key() -> str:
    """A fresh random key, in the form VIGIL_ENCRYPTION_KEY takes."""
    return Fernet.generate_key().decode()


def check_keys(setting: str) -> None:
    """Raise ValueError unless `setting` is one or more comma-separated Fernet keys."""
    _fernet(setting)


@lru_cache(maxsize=8)
def _fernet(setting: str) -> MultiFernet:
    keys = [part.strip() for part in setting.split(",") if part.strip()]
    if not keys:
        raise ValueError("no encryption key given")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ValueError("an encryption key must be 32 url-safe base64-encoded bytes (a Fernet key)") from exc


def _current(key: str | None) -> MultiFernet:
    return _fernet(key if key is not None else current_app.config["ENCRYPTION_KEY"])


def encrypt_text(plaintext: str, *, key: str | None = None) -> str:
    """Seal `plaintext`; the result is ASCII, safe for JSON and text columns."""
    if not isinstance(plaintext, str):
        raise TypeError("encrypt_text takes a str")
    return _current(key).encrypt(plaintext.encode()).decode("ascii")


def decrypt_text(token: str, *, key: str | None = None) -> str:
    """Open a value sealed by `encrypt_text`; DecryptionError on a wrong key or a damaged value."""
    try:
        return _current(key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, AttributeError) as exc:
        raise DecryptionError(
            "cannot decrypt a stored secret: ENCRYPTION_KEY is not the key it was encrypted with "
            "(or SECRET_KEY changed while no ENCRYPTION_KEY was set), or the value is damaged"
        ) from exc
