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
import threading
import time
from collections import OrderedDict
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
from app.auth.events import record_event
from app.models import ApiKey, Device, RefreshToken, User, db, utcnow
from app.permissions import can
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
    # A device key read from the per-process cache (device_principal): it still has to be
    # confirmed against the database by claim_device() before anything is stored.
    key_id: int | None = None
    confirmed: bool = True


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


OUT_OF_SERVICE = ("suspended", "decommissioned")


def _device_principal(key: ApiKey, ip: str | None) -> Principal:
    """A fleet agent's key acts for its device, only while the device is in service."""
    device = db.session.get(Device, key.device_id)
    if device is None or device.deleted_at is not None or device.org_id != key.org_id \
            or device.status in OUT_OF_SERVICE:
        raise TokenError("invalid_api_key", "The device of this key is removed or suspended.")
    key.last_used_at = utcnow()
    key.last_used_ip = ip
    key.usage_count += 1
    return Principal(None, key.org_id, frozenset(key.scopes), "device_key", key, device.id)


# Device keys on the agent's hot path ---------------------------------------------------------
#
# A heartbeat comes from every device every minute. Its key is looked up once per process
# and kept (key hash -> key id, organization, device, scopes) for DEVICE_KEY_CACHE_SECONDS;
# what the cache cannot know (revoked, expired, the device suspended, removed or moved) is
# checked by the database in the statement that locks the device row for the write, so
# a revocation takes effect on the very next request at no extra round trip.

DEVICE_KEY_CACHE_SECONDS = 60
DEVICE_KEY_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class CachedDeviceKey:
    key_id: int
    org_id: int
    device_id: int
    scopes: frozenset[str]


class DeviceKeyCache:
    """A small LRU with expiry, shared by a process's threads."""

    def __init__(self, size: int = DEVICE_KEY_CACHE_SIZE, seconds: float = DEVICE_KEY_CACHE_SECONDS) -> None:
        self.size, self.seconds = size, seconds
        self.entries: OrderedDict[str, tuple[float, CachedDeviceKey]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key_hash: str) -> CachedDeviceKey | None:
        now = time.monotonic()
        with self.lock:
            found = self.entries.get(key_hash)
            if found is None or found[0] <= now:
                self.entries.pop(key_hash, None)
                return None
            self.entries.move_to_end(key_hash)
            return found[1]

    def put(self, key_hash: str, entry: CachedDeviceKey) -> None:
        with self.lock:
            self.entries[key_hash] = (time.monotonic() + self.seconds, entry)
            self.entries.move_to_end(key_hash)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def drop(self, key_hash: str) -> None:
        with self.lock:
            self.entries.pop(key_hash, None)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


device_keys = DeviceKeyCache()


def device_principal(secret: str, ip: str | None) -> Principal:
    """The principal of a device key, from the cache when it is there (unconfirmed: the view
    must call claim_device()); any other key takes the full path of principal_from_api_key."""
    key_hash = digest(secret)
    entry = device_keys.get(key_hash)
    if entry is None:
        principal = principal_from_api_key(secret, ip)
        if principal.via != "device_key":
            return principal
        key = principal.api_key
        device_keys.put(key_hash, CachedDeviceKey(key.id, key.org_id, key.device_id, principal.scopes))
        # Checked and counted just now by principal_from_api_key: nothing left to confirm.
        return Principal(None, key.org_id, principal.scopes, "device_key", key, key.device_id, key.id, True)
    return Principal(None, entry.org_id, entry.scopes, "device_key", None, entry.device_id, entry.key_id, False)


def claim_device(p: Principal, secret: str, ip: str | None) -> Device | None:
    """The principal's device, locked for this transaction (FOR UPDATE), and the key's use
    counted; None when the key was revoked or expired, or the device is out of service,
    removed or in another organization since the key was cached (it is dropped from the
    cache). The validity check rides on the lock the write needs anyway: one round trip.

    Only a use from the key's last address is counted that way; a key seen from a new
    address takes the full path (the ORM update), so the new address is matched against
    threat intelligence as every other place's addresses are."""
    if p.confirmed:
        return db.session.get(Device, p.device_id, with_for_update=True)
    now = utcnow()
    valid_key = sa.and_(ApiKey.id == p.key_id, ApiKey.key_hash == digest(secret), ApiKey.device_id == p.device_id,
                        ApiKey.org_id == p.org_id, ApiKey.revoked_at.is_(None),
                        sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                        ApiKey.last_used_ip.is_not_distinct_from(ip))
    in_service = sa.and_(Device.id == p.device_id, Device.org_id == p.org_id, Device.deleted_at.is_(None),
                         Device.status.not_in(OUT_OF_SERVICE))
    usage = {"last_used_at": now, "usage_count": ApiKey.usage_count + 1}
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement: count the key's use only while it is valid, and lock its device
        # only while that device is in service.
        used = sa.update(ApiKey).where(valid_key).values(**usage).returning(ApiKey.device_id).cte("used")
        device = db.session.scalar(sa.select(Device).join(used, used.c.device_id == Device.id).where(in_service)
                                   .with_for_update(of=Device).execution_options(populate_existing=True))
    else:
        counted = db.session.execute(sa.update(ApiKey).where(valid_key).values(**usage)
                                     .execution_options(synchronize_session=False)).rowcount
        device = db.session.scalar(sa.select(Device).where(in_service).with_for_update()
                                   .execution_options(populate_existing=True)) if counted else None
    if device is not None:
        return device
    # Revoked, out of service, or a new address: the full check decides (and counts the use).
    db.session.rollback()
    device_keys.drop(digest(secret))
    try:
        again = principal_from_api_key(secret, ip)
    except TokenError:
        return None
    if again.device_id != p.device_id or again.org_id != p.org_id:
        return None
    return db.session.get(Device, p.device_id, with_for_update=True)


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
    scopes = {"events:read", "threats:read", "intel:read"} if can("threats.view", user) else set()
    if can("threats.manage", user):
        scopes.add("intel:write")
    scopes |= scopes_for(user)
    return Principal(user, user.org_id, frozenset(scopes), "access_token")
