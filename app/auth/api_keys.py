"""API keys are identity (issue 21): made and hashed here; the JSON API (app/api/tokens.py)
authenticates with them and the fleet derives device keys with the same prefix and hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from app import audit
from app.auth.events import record_event
from app.models import ApiKey, User, db, utcnow
from app.scopes import all_scopes

KEY_PREFIX = "vgl"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_api_key(user: User, org_id: int, name: str, scopes: list[str], expires_days: int | None) -> tuple[str, ApiKey]:
    """Make a key; returns the secret (shown once) and the row."""
    unknown = set(scopes) - set(all_scopes())
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(org_id=org_id, user_id=user.id, name=name, key_prefix=f"{KEY_PREFIX}_{prefix}",
                 key_hash=digest(secret), scopes=sorted(set(scopes)),
                 expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None)
    db.session.add(key)
    db.session.flush()
    audit.record("api_key.created", resource_type="api_key", resource_id=key.id,
                 new={"name": name, "scopes": key.scopes, "prefix": key.key_prefix})
    record_event("api_key_created", f"API key {key.key_prefix} created", user=user,
                 details={"key_id": key.id, "scopes": key.scopes})
    return secret, key
