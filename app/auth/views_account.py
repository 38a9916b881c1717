"""The signed-in user's account security: MFA enrolment, backup codes, password change,
sessions and trusted browsers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, session, url_for
from flask_login import current_user

from app import audit
from app.auth import mfa, services
from app.auth.blueprint import bp
from app.auth.events import record_event
from app.auth.forms import ChangePasswordForm, MfaConfirmForm, MfaDisableForm
from app.auth.policy import mfa_required, password_problems
from app.models import TrustedDevice, UserSession, db, utcnow
from app.passwords import verify_password
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page

ENROL_KEY = "mfa_enrol_secret"


def me():
    return current_user._get_current_object()


def reauth_failed(user, what: str) -> None:
    """A wrong password or code on an account page counts towards the lockout like one on
    the sign-in form (a stolen session must not become an unlimited password oracle)."""
    services.register_failure(user, user.email, request.remote_addr or "unknown",
                              request.headers.get("User-Agent"), what)
    audit.record("user.reauth_failed", resource_type="user", resource_id=user.id, result="denied",
                 details={"reason": what, "failures": user.failed_login_attempts})
    db.session.commit()


def refuse_while_locked(user):
    """While locked, no credential is checked on the account pages either."""
    if not user.is_locked():
        return None
    flash(services.LOCKED_MESSAGE, "error")
    return redirect(url_for("auth.security"), code=303)


def live_sessions(user_id: int) -> list[UserSession]:
    now = utcnow()
    return db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None),
                                     UserSession.expires_at > now).order_by(UserSession.last_activity.desc())
    ).all()


def trusted_devices(user_id: int) -> list[TrustedDevice]:
    return db.session.scalars(
        sa.select(TrustedDevice).where(TrustedDevice.user_id == user_id, TrustedDevice.revoked_at.is_(None),
                                       TrustedDevice.trusted_until > utcnow()).order_by(TrustedDevice.last_seen_at.desc())
    ).all()


@bp.get("/security")
def security():
    """Account security overview: MFA, backup codes, sessions and trusted browsers."""
    user = me()
    current_hash = services.token_digest(user.session_token or "")
    return render_page(
        "auth/security.html", block="sessions_panel", user=user, mfa_required=mfa_required(user),
        codes_left=mfa.backup_codes_left(user), sessions=live_sessions(user.id), current_hash=current_hash,
        devices=trusted_devices(user.id), disable_form=MfaDisableForm(), regenerate_form=MfaConfirmForm(),
    )


@bp.route("/mfa/enrol", methods=["GET", "POST"])
def mfa_enrol():
    """Enrol an authenticator app: QR code and manual key, confirmed by a first code."""
    user = me()
    if user.mfa_enabled:
        return redirect(url_for("auth.security"))
    secret = session.get(ENROL_KEY) or mfa.new_secret()
    session[ENROL_KEY] = secret
    form = MfaConfirmForm()
    error = None
    if form.validate_on_submit():
        codes = mfa.enable(user, secret, form.code.data.strip())
        if codes is not None:
            session.pop(ENROL_KEY, None)
            audit.record("user.mfa_enrolled", resource_type="user", resource_id=user.id, new={"mfa_enabled": True})
            record_event("mfa_enrolled", "Authenticator app enrolled", user=user)
            db.session.commit()
            return render_page("auth/backup_codes.html", codes=codes, first_time=True)
        error = "That code does not match. Check the time on your phone and try the current code."
    uri = mfa.provisioning_uri(user, secret)
    status = INVALID_FORM_STATUS if (error or form.errors) else 200
    return render_page("auth/mfa_enrol.html", status=status, form=form, error=error, qr=mfa.qr_svg(uri),
                       manual_key=mfa.grouped(secret), required=mfa_required(user))


@bp.post("/mfa/backup-codes")
def mfa_backup_codes():
    """Replace the backup codes (needs a current authenticator code); shows the new ones once."""
    user = me()
    form = MfaConfirmForm()
    if not user.mfa_enabled:
        return redirect(url_for("auth.mfa_enrol"))
    if (locked := refuse_while_locked(user)) is not None:
        return locked
    if form.validate_on_submit() and mfa.verify_totp(user, form.code.data.strip()):
        codes = mfa.regenerate_backup_codes(user)
        audit.record("user.mfa_backup_codes_regenerated", resource_type="user", resource_id=user.id)
        db.session.commit()
        return render_page("auth/backup_codes.html", codes=codes, first_time=False)
    if form.validate_on_submit():
        reauth_failed(user, "mfa_failed")
    db.session.commit()  # keeps the replay marker if a code was consumed
    flash("That code is not valid; the backup codes were not changed.", "error")
    return redirect(url_for("auth.security"), code=303)


@bp.post("/mfa/disable")
def mfa_disable():
    """Turn MFA off (password and a current code needed; refused where policy requires MFA)."""
    user = me()
    form = MfaDisableForm()
    if mfa_required(user):
        flash("Your organization requires MFA for your role; it cannot be turned off.", "error")
        return redirect(url_for("auth.security"), code=303)
    if (locked := refuse_while_locked(user)) is not None:
        return locked
    if not (form.validate_on_submit() and verify_password(user.password_hash, form.password.data)
            and (mfa.verify_totp(user, form.code.data.strip()) or mfa.use_backup_code(user, form.code.data.strip()))):
        record_event("mfa_failed", "Wrong password or code when disabling MFA", user=user)
        if form.validate_on_submit():
            reauth_failed(user, "reauth_failed")
        db.session.commit()
        flash("Password or code not valid; MFA stays on.", "error")
        return redirect(url_for("auth.security"), code=303)
    mfa.disable(user)
    audit.record("user.mfa_disabled", resource_type="user", resource_id=user.id, old={"mfa_enabled": True},
                 new={"mfa_enabled": False})
    record_event("mfa_disabled", "Authenticator app removed", user=user)
    db.session.commit()
    flash("MFA is off. Trusted browsers were forgotten.", "warning")
    return redirect(url_for("auth.security"), code=303)


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    """Change the password; every other session of the user ends."""
    user = me()
    form = ChangePasswordForm()
    if request.method == "POST" and (locked := refuse_while_locked(user)) is not None:
        return locked
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current_password.data):
            reauth_failed(user, "reauth_failed")
            form.current_password.errors = ["That is not your current password."]
        else:
            problems = password_problems(user, form.password.data)
            if problems:
                form.password.errors = problems
            else:
                ended = services.change_password(user, form.password.data, keep_token=user.session_token)
                db.session.commit()
                flash(f"Password changed. {ended} other session(s) were signed out.", "success")
                return redirect_after_post("auth.security")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("auth/change_password.html", status=status, form=form)


@bp.post("/sessions/<int:session_id>/revoke")
def session_revoke(session_id: int):
    """Sign out one of the user's own sessions."""
    user = me()
    row = db.session.scalar(sa.select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id))
    if row is None:
        abort(404)
    services.revoke_session(row, "user_revoked")
    audit.record("session.revoked", resource_type="user_session", resource_id=row.id)
    record_event("session_revoked", "Session signed out by its user", user=user, details={"session_id": row.id})
    db.session.commit()
    flash("That session was signed out.", "success")
    return redirect_after_post("auth.security")


@bp.post("/sessions/revoke-others")
def sessions_revoke_others():
    """Sign out every session of the user but this one."""
    user = me()
    ended = services.revoke_all_sessions(user, "user_revoked_others", except_token=user.session_token)
    audit.record("session.revoked_others", resource_type="user", resource_id=user.id, details={"ended": ended})
    record_event("session_revoked", "Other sessions signed out", user=user, details={"ended": ended})
    db.session.commit()
    flash(f"{ended} other session(s) signed out.", "success")
    return redirect_after_post("auth.security")


@bp.post("/devices/<int:device_id>/revoke")
def device_revoke(device_id: int):
    """Stop trusting one of the user's browsers."""
    user = me()
    device = db.session.scalar(sa.select(TrustedDevice).where(TrustedDevice.id == device_id, TrustedDevice.user_id == user.id))
    if device is None:
        abort(404)
    device.revoked_at = utcnow()
    device.is_trusted = False
    audit.record("device.revoked", resource_type="trusted_device", resource_id=device.id)
    record_event("device_revoked", "Trusted browser revoked", user=user, details={"device_id": device.id})
    db.session.commit()
    flash("That browser will ask for a code again.", "success")
    return redirect_after_post("auth.security")
