"""API credentials: keys, short-lived access tokens, refresh tokens that rotate on every use.

Access tokens are signed (itsdangerous) and carry the user, the token family and an
expiry of ACCESS_MINUTES; each use checks that the family has not been revoked, so
revoking a family ends its access tokens at once. Refresh tokens are random, stored as
SHA-256, and single use: using one marks it used and issues its successor in the same
family. A used token presented again means it was stolen (or replayed): the whole
family is revoked and a high-severity security event is raised.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import audit
from app.auth.api_keys import (
    create_api_key,  # noqa: F401 (API keys are identity; re-exported for callers)
    digest,
)
from app.models import ApiKey, RefreshToken, User, db, utcnow
from app.scopes import scopes_for

ACCESS_MINUTES = 15
REFRESH_DAYS = 30


class TokenError(Exception):
    """A credential that does not work; `code` is the API's stable error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Principal:
    """Who an API request acts for."""

    user: User | None  # None for a fleet agent's device key
    org_id: int
    scopes: frozenset[str]
    via: str  # "api_key", "device_key" or "access_token"
    api_key: ApiKey | None = None
    device_id: int | None = None


def principal_from_api_key(secret: str, ip: str | None) -> Principal:
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == digest(secret)))
    if key is None or not key.is_valid(utcnow()):
        raise TokenError("invalid_api_key", "The API key is unknown, revoked or expired.")
    if key.device_id is not None:
        return _device_principal(key, ip)
    user = key.user
    if user is None or not user.is_active:
        raise TokenError("invalid_api_key", "The API key's owner is not active.")
    key.last_used_at = utcnow()
    key.last_used_ip = ip
    key.usage_count += 1
    return Principal(user, key.org_id, frozenset(key.scopes), "api_key", key)


def _device_principal(key: ApiKey, ip: str | None) -> Principal:
    """A fleet agent's key acts for its device, only while the device is in service."""
    from app.models import Device

    device = db.session.get(Device, key.device_id)
    if device is None or device.deleted_at is not None or device.org_id != key.org_id \
            or device.status in ("suspended", "decommissioned"):
        raise TokenError("invalid_api_key", "The device of this key is removed or suspended.")
    key.last_used_at = utcnow()
    key.last_used_ip = ip
    key.usage_count += 1
    return Principal(None, key.org_id, frozenset(key.scopes), "device_key", key, device.id)


# Access and refresh tokens --------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="vigil.api-access")


def issue_pair(user: User, ip: str | None, user_agent: str | None, family_id: str | None = None,
               parent: RefreshToken | None = None) -> dict:
    """A new access token and refresh token (a new family unless one is given)."""
    family_id = family_id or secrets.token_hex(16)
    refresh = secrets.token_urlsafe(48)
    db.session.add(RefreshToken(
        org_id=user.org_id, user_id=user.id, family_id=family_id, parent_id=parent.id if parent else None,
        token_hash=digest(refresh), expires_at=utcnow() + timedelta(days=REFRESH_DAYS), ip_address=ip,
        user_agent=(user_agent or "")[:1000],
    ))
    access = _serializer().dumps({"uid": user.id, "fam": family_id})
    return {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_MINUTES * 60,
            "refresh_token": refresh}


def revoke_family(family_id: str, reason: str) -> int:
    return db.session.execute(
        sa.update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    ).rowcount


def rotate(refresh: str, ip: str | None, user_agent: str | None) -> dict:
    """Use a refresh token: issue its successor, or detect reuse and revoke the family."""
    from app.auth.events import record_event

    token = db.session.scalar(sa.select(RefreshToken).where(RefreshToken.token_hash == digest(refresh)))
    now = utcnow()
    if token is None:
        raise TokenError("invalid_refresh_token", "The refresh token is unknown.")
    user = db.session.get(User, token.user_id)
    if token.used_at is not None or token.revoked_at is not None and token.revoked_reason == "reuse_detected":
        ended = revoke_family(token.family_id, "reuse_detected")
        record_event("refresh_token_reuse", "A used refresh token was presented again; its family is revoked",
                     user=user, severity="high", action="block",
                     details={"family": token.family_id, "tokens_revoked": ended})
        audit.record("api_token.reuse_detected", resource_type="refresh_token", resource_id=token.id,
                     org_id=token.org_id, actor_type="system", actor_label="token rotation", result="denied",
                     details={"family": token.family_id})
        db.session.commit()
        raise TokenError("refresh_token_reused", "This refresh token was already used; sign in again.")
    if token.revoked_at is not None or token.expires_at <= now:
        raise TokenError("invalid_refresh_token", "The refresh token is revoked or expired.")
    if user is None or not user.is_active:
        raise TokenError("invalid_refresh_token", "The account is not active.")
    token.used_at = now
    audit.record("api_token.refreshed", resource_type="refresh_token", resource_id=token.id, org_id=token.org_id,
                 actor=user, details={"family": token.family_id})
    return issue_pair(user, ip, user_agent, family_id=token.family_id, parent=token)


def principal_from_access_token(token: str) -> Principal:
    try:
        data = _serializer().loads(token, max_age=ACCESS_MINUTES * 60)
    except SignatureExpired as exc:
        raise TokenError("token_expired", "The access token expired; use the refresh token.") from exc
    except BadSignature as exc:
        raise TokenError("invalid_token", "The access token is not valid.") from exc
    live = db.session.scalar(sa.select(sa.func.count(RefreshToken.id)).where(
        RefreshToken.family_id == data.get("fam"), RefreshToken.revoked_at.is_(None)))
    user = db.session.get(User, data.get("uid"))
    if not live or user is None or not user.is_active or user.org_id is None:
        raise TokenError("invalid_token", "The access token was revoked.")
    # A person's own token carries the scopes their role allows.
    from app.permissions import can

    scopes = {"events:read", "threats:read", "intel:read"} if can("threats.view", user) else set()
    if can("threats.manage", user):
        scopes.add("intel:write")
    scopes |= scopes_for(user)
    return Principal(user, user.org_id, frozenset(scopes), "access_token")
