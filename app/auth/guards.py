"""Identity's part of the shared guard and error handlers (app/core), registered from here so
the core never imports identity: MFA enrolment comes before anything else for a user whose
organization requires it, and a refused request by a signed-in user is a security event."""

from __future__ import annotations

from flask import jsonify, redirect, request, url_for
from flask_login import current_user

from app.auth.events import record_event
from app.auth.policy import mfa_required
from app.core.errors import on_access_denied
from app.core.guard import ENROLMENT_ENDPOINTS, register_signed_in_check, wants_json
from app.models import db


@register_signed_in_check
def enforce_mfa_enrolment():
    """Send a user whose organization requires MFA to enrolment until it is done."""
    if current_user.mfa_enabled or request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    if not mfa_required(current_user):
        return None
    if wants_json():
        return jsonify(error={"code": "mfa_enrolment_required", "message": "Enrol MFA first."}), 403
    return redirect(url_for("auth.mfa_enrol"))


@on_access_denied
def record_access_denied() -> None:
    """A refused request by a signed-in user is a security event (bursts are a threat)."""
    if not getattr(current_user, "is_authenticated", False):
        return
    db.session.rollback()
    record_event("access_denied", f"{request.method} {request.path} refused for role {current_user.role}",
                 user=current_user._get_current_object(), action="deny",
                 details={"endpoint": request.endpoint, "method": request.method})
    db.session.commit()
