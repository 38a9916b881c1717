"""Sign-in rules: password check, lockout, server-side sessions, set-password links.

Views call these; nothing here reads the request except through the arguments.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import audit
from app.models import LoginAttempt, User, UserSession, db, utcnow
from app.passwords import hash_password, needs_rehash, verify_password

GENERIC_FAILURE = "Email or password is not correct."
LOCKED_MESSAGE = "Too many failed sign-ins. This account is locked for a while; try again later or ask an admin."
INACTIVE_MESSAGE = "This account is not active. Ask an admin of your organization."
MIN_PASSWORD_LENGTH = 12


@dataclass
class SignInResult:
    user: User | None
    token: str | None = None
    error: str | None = None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_user(login: str) -> User | None:
    login = login.strip().lower()
    return db.session.scalar(
        sa.select(User).where(
            sa.or_(sa.func.lower(User.email) == login, sa.func.lower(User.username) == login),
            User.deleted_at.is_(None),
        )
    )


def _record_attempt(email: str, user: User | None, ip: str, ua: str | None, success: bool, reason: str | None) -> None:
    db.session.add(
        LoginAttempt(
            email=email[:255],
            user_id=user.id if user else None,
            org_id=user.org_id if user else None,
            ip_address=ip or "unknown",
            user_agent=ua,
            success=success,
            failure_reason=reason,
        )
    )


def recent_failures(user: User, now: datetime) -> int:
    """Failed attempts inside the lockout window, since the last success or unlock."""
    window_start = now - timedelta(minutes=current_app.config["LOCKOUT_WINDOW_MINUTES"])
    since = max(d for d in (window_start, user.last_login_at, user.locked_until) if d is not None)
    return db.session.scalar(
        sa.select(sa.func.count(LoginAttempt.id)).where(
            LoginAttempt.user_id == user.id,
            LoginAttempt.success.is_(False),
            LoginAttempt.attempted_at > since,
        )
    ) or 0


def authenticate(login: str, password: str, ip: str, user_agent: str | None) -> SignInResult:
    """Check a sign-in, apply lockout, record the attempt; on success open a session.

    The caller commits. Every outcome writes one login_attempts row.
    """
    now = utcnow()
    user = find_user(login)
    if user is not None and user.is_locked(now):
        _record_attempt(login, user, ip, user_agent, False, "locked")
        return SignInResult(None, error=LOCKED_MESSAGE)
    if user is None or not verify_password(user.password_hash, password):
        _record_attempt(login, user, ip, user_agent, False, "bad_credentials")
        if user is not None:
            db.session.flush()
            user.failed_login_attempts = recent_failures(user, now)
            if user.failed_login_attempts >= current_app.config["LOCKOUT_THRESHOLD"]:
                user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
                audit.record(
                    "user.locked", resource_type="user", resource_id=user.id, org_id=user.org_id,
                    actor_type="system", actor_label="lockout policy",
                    details={"failures": user.failed_login_attempts, "until": user.locked_until.isoformat()},
                )
                return SignInResult(None, error=LOCKED_MESSAGE)
        return SignInResult(None, error=GENERIC_FAILURE)
    if not user.is_active:
        _record_attempt(login, user, ip, user_agent, False, f"status_{user.status}")
        return SignInResult(None, error=INACTIVE_MESSAGE)

    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    user.failed_login_attempts = 0
    user.last_login_at = now
    user.last_login_ip = ip
    _record_attempt(login, user, ip, user_agent, True, None)
    token = open_session(user, ip, user_agent)
    audit.record("auth.login", resource_type="user", resource_id=user.id, actor=user, org_id=user.org_id)
    return SignInResult(user, token=token)


def device_name(user_agent: str | None) -> str:
    ua = user_agent or ""
    browser = next((b for b in ("Edg", "Firefox", "Chrome", "Safari") if b in ua), "Browser")
    system = next((s for s in ("Windows", "Android", "iPhone", "Mac OS", "Linux") if s in ua), "")
    return f"{'Edge' if browser == 'Edg' else browser} on {system}".strip().removesuffix(" on")


def open_session(user: User, ip: str, user_agent: str | None) -> str:
    """Create the server-side session row; return the token the browser keeps."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_digest(token),
            ip_address=ip,
            user_agent=(user_agent or "")[:1000],
            device_name=device_name(user_agent),
            created_at=now,
            last_activity=now,
            expires_at=now + timedelta(hours=current_app.config["SESSION_HOURS"]),
        )
    )
    user.session_token = token
    return token


def load_session_user(token: str) -> User | None:
    """The user of a live session token, or None if revoked, expired or idle too long."""
    now = utcnow()
    row = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == token_digest(token)))
    if row is None:
        return None
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    if not row.is_valid(now, idle) or not row.user.is_active:
        return None
    if (now - row.last_activity).total_seconds() > 60:
        # Touch at most once a minute, with its own small commit.
        db.session.execute(
            sa.update(UserSession).where(UserSession.id == row.id).values(last_activity=now)
        )
        db.session.commit()
    user = row.user
    user.session_token = token
    return user


def revoke_session(session_row: UserSession, reason: str) -> None:
    if session_row.revoked_at is None:
        session_row.revoked_at = utcnow()
        session_row.revoked_reason = reason


def revoke_token(token: str | None, reason: str) -> None:
    if not token:
        return
    row = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == token_digest(token)))
    if row is not None:
        revoke_session(row, reason)


def revoke_all_sessions(user: User, reason: str, except_token: str | None = None) -> int:
    """End every live session of a user (optionally keeping the current one)."""
    stmt = sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if except_token:
        stmt = stmt.where(UserSession.token_hash != token_digest(except_token))
    return db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason)).rowcount


def unlock(user: User) -> None:
    """Lift a lockout; earlier failures no longer count towards the next one."""
    user.locked_until = utcnow()
    user.failed_login_attempts = 0


# One-time set-password links -----------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="vigil.set-password")


def _fingerprint(user: User) -> str:
    # Changes when the password is set, so a used link stops working (single use).
    return hashlib.sha256(f"{user.id}:{user.password_hash or ''}".encode()).hexdigest()[:20]


def make_set_password_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_for_set_password_token(token: str) -> tuple[User | None, str | None]:
    """The user a link was made for, or an explanation of why it no longer works."""
    max_age = current_app.config["INVITE_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return None, "This link has expired. Ask an admin for a new one."
    except BadSignature:
        return None, "This link is not valid."
    user = db.session.get(User, data.get("uid"))
    if user is None or user.deleted_at is not None or data.get("fp") != _fingerprint(user):
        return None, "This link has already been used or is no longer valid."
    if user.status in ("suspended", "deactivated"):
        return None, INACTIVE_MESSAGE
    return user, None


def set_password(user: User, password: str) -> None:
    """Set a new password, activate an invited user, end every other session."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    if user.status == "invited":
        user.status = "active"
    revoke_all_sessions(user, "password_set")
    audit.record("user.password_set", resource_type="user", resource_id=user.id, actor=user, org_id=user.org_id)
