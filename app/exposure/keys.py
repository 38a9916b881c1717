"""The server keys of the exposure domain and what a leaked password becomes without its text.

- The password HMAC key recognises one password across files and accounts (same password,
  same HMAC) while the HMAC reveals nothing a dictionary attack without the key could use.
  It must outlive key rotation (every stored HMAC depends on it), so it is not recomputed
  from the current encryption key: the first time it is needed it is pinned, as it was then
  derived (HKDF-SHA256 of the first VIGIL_ENCRYPTION_KEY under its own purpose label, so
  HMACs stored before pinning still match), into the `settings` row `HMAC_SETTING`, sealed
  with app/crypto.py. Rotating VIGIL_ENCRYPTION_KEY (a new first key, the old one kept to
  decrypt) leaves it readable and unchanged; re-sealing it under the new key is harmless.
- The upload key seals raw uploads at rest (app/exposure/sealed.py) until they expire. It
  follows the first encryption key: rotation makes raw uploads sealed before unreadable
  (they expire within a day), never the derived credential rows.
"""

from __future__ import annotations

import hashlib
import hmac
import math

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from app import crypto
from app.core.settings_registry import register_internal_key
from app.models import Setting, db

HMAC_PURPOSE = b"vigil:exposure:password-hmac:v1"
UPLOAD_PURPOSE = b"vigil:exposure:upload-at-rest:v1"
HMAC_SETTING = "exposure.password_hmac_key"
register_internal_key(HMAC_SETTING, "the key that fingerprints leaked passwords (sealed; pinned so it survives "
                                    "encryption-key rotation)")


def derive(purpose: bytes) -> bytes:
    """32 bytes for `purpose` from the app's first encryption key."""
    material = current_app.config["ENCRYPTION_KEY"].split(",")[0].strip().encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)


def password_hmac_key() -> bytes:
    """The server's password HMAC key: pinned (sealed) on first use, stable across key rotation."""
    row = db.session.get(Setting, HMAC_SETTING)
    if row is None:
        key = derive(HMAC_PURPOSE)
        try:
            with db.session.begin_nested():  # another worker may pin it at the same moment
                db.session.add(Setting(key=HMAC_SETTING, value={"sealed": crypto.encrypt_text(key.hex())},
                                       description="Exposure password HMAC key, sealed; pinned on first use "
                                                   "so it survives encryption-key rotation. Never edit."))
        except sa.exc.IntegrityError:
            row = db.session.get(Setting, HMAC_SETTING, populate_existing=True)
        else:
            return key
    sealed = row.value.get("sealed") if isinstance(row.value, dict) else None
    if not isinstance(sealed, str):
        raise crypto.DecryptionError(f"the setting {HMAC_SETTING} holds no sealed key")
    return bytes.fromhex(crypto.decrypt_text(sealed))


def password_hmac(password: str, key: bytes) -> str:
    return hmac.new(key, password.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def keyed_digest(key: bytes, *parts: str) -> str:
    """An HMAC over several fields (a credential's identity and password HMAC)."""
    return hmac.new(key, "\x00".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def sha1_prefix(password: str) -> str:
    """The first five hex digits of SHA-1: all that Pwned Passwords' range API ever sees."""
    return hashlib.sha1(password.encode("utf-8", "surrogatepass")).hexdigest()[:5].upper()  # noqa: S324 - the API's scheme


def classes(password: str) -> str:
    """Character classes present: l(ower), u(pper), d(igit), s(ymbol) in that order."""
    found = ""
    if any(c.islower() for c in password):
        found += "l"
    if any(c.isupper() for c in password):
        found += "u"
    if any(c.isdigit() for c in password):
        found += "d"
    if any(not c.isalnum() for c in password):
        found += "s"
    return found


POOL = {"l": 26, "u": 26, "d": 10, "s": 33}
# Patterns that make a password far weaker than its length says.
WEAK_WORDS = ("password", "passw0rd", "qwerty", "123456", "letmein", "welcome", "admin", "iloveyou", "abc123",
              "monkey", "dragon", "football", "baseball", "master", "login", "princess", "sunshine")


def strength(password: str) -> int:
    """0 (trivial) to 4 (strong): brute-force bits from length and classes, lowered for a
    common word, a single repeated character or a run of digits only."""
    if not password:
        return 0
    pool = sum(POOL[c] for c in classes(password)) or 26
    bits = len(password) * math.log2(pool)
    lowered = password.lower()
    if any(word in lowered for word in WEAK_WORDS) or len(set(password)) <= 2:
        bits = min(bits, 20)
    if password.isdigit():
        bits = min(bits, len(password) * 3.3)
    for score, floor in ((4, 80), (3, 60), (2, 40), (1, 28)):
        if bits >= floor:
            return score
    return 0


def hint(password: str) -> str:
    """First and last character with the middle masked; shorter than 4 shows nothing."""
    if len(password) < 4:
        return "*" * len(password)
    return f"{password[0]}…{password[-1]}"


def mask_secret(value: str) -> str:
    """A secret found in public code or a paste, shown only by its ends and length."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}…{value[-2:]} ({len(value)})"

