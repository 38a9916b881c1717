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
from app.alerting.events import publish
from app.auth.events import record_event
from app.auth.policy import apply_new_password
from app.mailer import MailError, send_system_mail, system_settings
from app.models import LoginAttempt, RefreshToken, User, UserSession, db, utcnow
from app.passwords import hash_password, needs_rehash, verify_password

GENERIC_FAILURE = "Email or password is not correct."
# Shown only to someone who already passed the password step (second factor, account pages):
# the sign-in form answers a locked account like an unknown one (no account discovery), and
# the owner learns of the lockout by e-mail.
LOCKED_MESSAGE = "Too many failed sign-ins. This account is locked for a while; try again later or ask an admin."
INACTIVE_MESSAGE = "This account is not active. Ask an admin of your organization."
MIN_PASSWORD_LENGTH = 12  # the default; organizations may ask for more (policy.py)


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


def register_failure(user: User | None, login: str, ip: str, user_agent: str | None, reason: str) -> str:
    """Record a failed attempt (password or second factor) and lock the account when the
    failures in the window reach the threshold. Returns the message to show."""
    now = utcnow()
    _record_attempt(login, user, ip, user_agent, False, reason)
    event = "mfa_failed" if reason == "mfa_failed" else "login_failed"
    record_event(event, f"Sign-in failed ({reason})", user=user, email=login[:255], details={"reason": reason})
    if user is None:
        return GENERIC_FAILURE
    publish("auth.sign_in_failed", user=user, reason=reason)  # threats lowers the user's trust
    db.session.flush()
    user.failed_login_attempts = recent_failures(user, now)
    if user.failed_login_attempts < current_app.config["LOCKOUT_THRESHOLD"]:
        return GENERIC_FAILURE
    user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
    audit.record(
        "user.locked", resource_type="user", resource_id=user.id, org_id=user.org_id,
        actor_type="system", actor_label="lockout policy",
        details={"failures": user.failed_login_attempts, "until": user.locked_until.isoformat()},
    )
    record_event("account_locked", f"Locked after {user.failed_login_attempts} failed sign-ins", user=user,
                 action="lock", details={"until": user.locked_until.isoformat(),
                                         "owner_told": tell_owner_of_lockout(user, ip)})
    return LOCKED_MESSAGE


def tell_owner_of_lockout(user: User, ip: str) -> bool:
    """E-mail the owner that their account is locked (once per lockout: only the failure
    that locks it gets here). False when Vigil's e-mail is not set up or fails."""

    if system_settings() is None:
        return False
    try:
        send_system_mail(
            user.email, "Vigil: your account is locked for a while",
            f"The Vigil account {user.email} was locked at {utcnow():%Y-%m-%d %H:%M} UTC after "
            f"{user.failed_login_attempts} failed sign-in attempts (the last from {ip}).\n\n"
            f"It unlocks by itself at {user.locked_until:%H:%M} UTC; an admin of your organization can "
            "unlock it sooner.\n\nIf these attempts were not yours, someone is trying your password: "
            "change it once you are signed in, and turn on two-factor sign-in.")
    except MailError as exc:
        current_app.logger.error("lockout mail to user %s failed: %s", user.id, exc)
        return False
    return True


def check_credentials(login: str, password: str, ip: str, user_agent: str | None) -> SignInResult:
    """The password step: lockout, password, account status. Opens no session.

    Failures are recorded here; a success is recorded when the sign-in completes
    (after the second factor, if any). The caller commits.
    """
    user = find_user(login)
    # One password check on every path (an unknown address hashes against nothing), so the
    # time taken does not tell a locked or unknown account from a wrong password.
    password_ok = verify_password(user.password_hash if user is not None else None, password)
    if user is not None and user.is_locked():
        _record_attempt(login, user, ip, user_agent, False, "locked")
        return SignInResult(None, error=GENERIC_FAILURE)
    if user is None or not password_ok:
        register_failure(user, login, ip, user_agent, "bad_credentials")
        return SignInResult(None, error=GENERIC_FAILURE)
    if not user.is_active or (user.org is not None and user.org.deleted_at is not None):
        _record_attempt(login, user, ip, user_agent, False, f"status_{user.status}")
        return SignInResult(None, error=INACTIVE_MESSAGE)
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return SignInResult(user)


def complete_sign_in(user: User, ip: str, user_agent: str | None, method: str = "password",
                     device=None, assessment=None, open_web_session: bool = True) -> str | None:
    """Record a sign-in that passed every factor and (for the web) open the session;
    returns the browser's session token."""
    # threats raises the user's (and the trusted browser's) trust before the event is scored
    publish("auth.sign_in_succeeded", user=user, method=method, device=device)
    now = utcnow()
    user.failed_login_attempts = 0
    user.last_login_at = now
    user.last_login_ip = ip
    _record_attempt(user.email, user, ip, user_agent, True, None)
    token = open_session(user, ip, user_agent) if open_web_session else None
    audit.record("auth.login", resource_type="user", resource_id=user.id, actor=user, org_id=user.org_id,
                 details={"method": method})
    record_event("login_success", f"Signed in ({method})", user=user, action="allow", details={"method": method},
                 assessment=assessment)
    return token


DENIED_MESSAGE = ("This sign-in was blocked because it looks risky (new place, recent failures or a known bad "
                  "address). Try again later from a usual device, or ask an admin.")


def deny_sign_in(user: User, ip: str, user_agent: str | None, assessment) -> str:
    """Refuse a sign-in whose risk reached the deny threshold; recorded and audited."""
    _record_attempt(user.email, user, ip, user_agent, False, "risk_denied")
    publish("auth.sign_in_denied", user=user, assessment=assessment)  # threats lowers the user's trust
    record_event("login_denied", f"Sign-in denied: risk {assessment.score}", user=user, action="deny",
                 assessment=assessment, details={"factors": assessment.factors})
    audit.record("auth.login_denied", resource_type="user", resource_id=user.id, org_id=user.org_id,
                 actor_type="system", actor_label="risk policy", result="denied",
                 details={"score": assessment.score, "factors": assessment.factors})
    return DENIED_MESSAGE


def authenticate(login: str, password: str, ip: str, user_agent: str | None) -> SignInResult:
    """Password-only sign-in (no second factor): check, then open the session."""
    result = check_credentials(login, password, ip, user_agent)
    if result.user is None:
        return result
    return SignInResult(result.user, token=complete_sign_in(result.user, ip, user_agent))


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
    user = row.user
    if not row.is_valid(now, idle) or not user.is_active or (user.org is not None and user.org.deleted_at is not None):
        return None
    if (now - row.last_activity).total_seconds() > 60:
        # Touch at most once a minute, with its own small commit.
        db.session.execute(
            sa.update(UserSession).where(UserSession.id == row.id).values(last_activity=now)
        )
        db.session.commit()
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


def revoke_api_tokens(user: User, reason: str) -> int:
    """End every refresh-token family of a user (their access tokens die with them)."""
    return db.session.execute(
        sa.update(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    ).rowcount


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


def make_set_password_token(user: User, purpose: str = "invite") -> str:
    """A one-time link token; "reset" links (self-service) live RESET_MINUTES, others INVITE_HOURS."""
    return _serializer().dumps({"uid": user.id, "fp": _fingerprint(user), "p": purpose})


def user_for_set_password_token(token: str) -> tuple[User | None, str | None]:
    """The user a link was made for, or an explanation of why it no longer works."""
    max_age = current_app.config["INVITE_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return None, "This link has expired. Ask an admin for a new one."
    except BadSignature:
        return None, "This link is not valid."
    if data.get("p") == "reset":
        try:
            _serializer().loads(token, max_age=current_app.config["RESET_MINUTES"] * 60)
        except SignatureExpired:
            return None, "This reset link has expired. Ask for a new one from the sign-in page."
    user = db.session.get(User, data.get("uid"))
    if user is None or user.deleted_at is not None or data.get("fp") != _fingerprint(user):
        return None, "This link has already been used or is no longer valid."
    if user.status in ("suspended", "deactivated"):
        return None, INACTIVE_MESSAGE
    return user, None


def set_password(user: User, password: str) -> None:
    """Set a password from a one-time link: activate an invited user, end every session.

    The caller has checked `policy.password_problems` first.
    """
    was_invited = user.status == "invited"
    apply_new_password(user, password)
    if was_invited:
        user.status = "active"
    revoke_all_sessions(user, "password_set")
    revoke_api_tokens(user, "password_set")
    audit.record("user.password_set", resource_type="user", resource_id=user.id, actor=user, org_id=user.org_id)
    record_event("password_reset", "Password set from a one-time link", user=user,
                 details={"invitation": was_invited})


def change_password(user: User, new_password: str, keep_token: str | None) -> int:
    """Change a signed-in user's password; every other session of theirs ends."""
    apply_new_password(user, new_password)
    ended = revoke_all_sessions(user, "password_changed", except_token=keep_token)
    ended += revoke_api_tokens(user, "password_changed")
    audit.record("user.password_changed", resource_type="user", resource_id=user.id, details={"sessions_ended": ended})
    record_event("password_changed", "Password changed", user=user, details={"sessions_ended": ended})
    return ended


RESET_SENT_MESSAGE = ("If an account with that address exists, a link to choose a new password is on its way. "
                      "It works once, for a limited time.")


def request_password_reset(email: str, link_for) -> None:
    """Mail a one-time reset link to an active account; the caller shows the same message
    whether or not the account exists (no account discovery)."""
    user = find_user(email)
    if user is None or not user.is_active or user.deleted_at is not None:
        record_event("password_reset_requested", "Reset asked for an unknown or inactive account",
                     email=email[:255], details={"sent": False})
        return
    link = link_for(make_set_password_token(user, purpose="reset"))
    minutes = current_app.config["RESET_MINUTES"]
    try:
        send_system_mail(user.email, "Vigil: choose a new password",
                         f"Someone (hopefully you) asked to reset the Vigil password of {user.email}.\n\n"
                         f"Choose a new one here within {minutes} minutes (the link works once):\n{link}\n\n"
                         "If it was not you, ignore this message; your password is unchanged.")
        sent = True
    except MailError as exc:
        current_app.logger.error("password reset mail to user %s failed: %s", user.id, exc)
        sent = False
    record_event("password_reset_requested", "Password reset link requested", user=user, details={"sent": sent})
