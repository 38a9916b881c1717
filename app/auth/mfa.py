"""TOTP multi-factor authentication: enrolment, verification, backup codes, trusted browsers.

TOTP secrets are encrypted at rest (app.crypto). A code is accepted within one 30-second
step either side of now, and never twice: the last accepted step is kept on the user.
Backup codes are random, shown once, and stored as HMAC-SHA256 with the app's secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app

from app.crypto import decrypt_text, encrypt_text
from app.models import MfaBackupCode, TrustedDevice, User, db, utcnow

ISSUER = "Vigil"
BACKUP_CODE_COUNT = 10
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (i/l/1, o/0)
TRUST_DAYS = 30
DEVICE_COOKIE = "vigil_device"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (no external image, no inline style)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step (now -1, 0, +1) whose code equals `code`, else None."""
    code = code.replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = at if at is not None else time.time()
    current = int(now // totp.interval)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(user: User, code: str, at: float | None = None) -> bool:
    """Check a code against the user's secret; refuse a replay of an accepted step."""
    if not user.mfa_secret_encrypted:
        return False
    step = matching_step(decrypt_text(user.mfa_secret_encrypted), code, at)
    if step is None or (user.mfa_last_step is not None and step <= user.mfa_last_step):
        return False
    user.mfa_last_step = step
    return True


def enable(user: User, secret: str, code: str) -> list[str] | None:
    """Confirm enrolment with a first code; returns the backup codes (shown once) or None."""
    step = matching_step(secret, code)
    if step is None:
        return None
    user.mfa_secret_encrypted = encrypt_text(secret)
    user.mfa_enabled = True
    user.mfa_enrolled_at = utcnow()
    user.mfa_last_step = step
    return regenerate_backup_codes(user)


def disable(user: User) -> None:
    user.mfa_enabled = False
    user.mfa_secret_encrypted = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = None
    db.session.execute(sa.delete(MfaBackupCode).where(MfaBackupCode.user_id == user.id))
    revoke_trusted_devices(user)


def _code_digest(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, code.replace("-", "").replace(" ", "").lower().encode(), hashlib.sha256).hexdigest()


def regenerate_backup_codes(user: User) -> list[str]:
    """Replace every backup code of the user with ten new ones; return them in clear once."""
    db.session.execute(sa.delete(MfaBackupCode).where(MfaBackupCode.user_id == user.id))
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(MfaBackupCode(user_id=user.id, code_hash=_code_digest(raw)))
    return codes


def use_backup_code(user: User, code: str) -> bool:
    row = db.session.scalar(
        sa.select(MfaBackupCode).where(
            MfaBackupCode.user_id == user.id, MfaBackupCode.code_hash == _code_digest(code),
            MfaBackupCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def backup_codes_left(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(MfaBackupCode.id)).where(MfaBackupCode.user_id == user.id, MfaBackupCode.used_at.is_(None))
    ) or 0


# Trusted browsers --------------------------------------------------------------------------

def device_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def trusted_device_for(user: User, token: str | None) -> TrustedDevice | None:
    if not token:
        return None
    device = db.session.scalar(
        sa.select(TrustedDevice).where(TrustedDevice.user_id == user.id,
                                       TrustedDevice.device_fingerprint == device_digest(token))
    )
    return device if device is not None and device.is_valid(utcnow()) else None


def trust_browser(user: User, ip: str | None, name: str) -> tuple[str, TrustedDevice]:
    """Remember this browser for TRUST_DAYS; returns the cookie token and the row."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    device = TrustedDevice(
        user_id=user.id, device_fingerprint=device_digest(token), device_name=name[:255],
        device_type="mobile" if any(k in name for k in ("Android", "iPhone")) else "desktop",
        trusted_until=now + timedelta(days=TRUST_DAYS), first_seen_at=now, last_seen_at=now, last_ip_address=ip,
    )
    db.session.add(device)
    return token, device


def revoke_trusted_devices(user: User) -> int:
    return db.session.execute(
        sa.update(TrustedDevice).where(TrustedDevice.user_id == user.id, TrustedDevice.revoked_at.is_(None))
        .values(revoked_at=utcnow(), is_trusted=False)
    ).rowcount
