"""JSON API endpoints. Errors are JSON with a stable code; see /api/openapi.json."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, request

from app import audit
from app.api.auth import api_error, principal, require_scope
from app.api.blueprint import bp
from app.api.openapi import spec
from app.api.tokens import TokenError, digest, issue_pair, revoke_family, rotate
from app.auth import mfa, services
from app.core.hygiene import INT_MAX
from app.extensions import csrf
from app.models import RefreshToken, SecurityEvent, ThreatEvent, ThreatIntelligence, User, db
from app.threats import risk
from app.threats.intel import IndicatorError, add_indicator

csrf.exempt(bp)  # bearer credentials, not cookies: no cross-site request forgery to defend against

MAX_LIMIT = 500


def body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def client() -> tuple[str, str | None]:
    return request.remote_addr or "unknown", request.headers.get("User-Agent")


def int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    """A whole-number query parameter from `low` to `high`; anything else ends the request with a 422."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if len(raw) <= 20 else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        abort(api_error(422, "validation_error", f"{name} must be a whole number from {low} to {high}.",
                        fields={name: f"{low}-{high}"}))
    return value


def limit_arg() -> int:
    return int_arg("limit", 100, 1, MAX_LIMIT) or 100


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return spec()


@bp.post("/auth/token")
def token():
    """Exchange email, password (and a TOTP or backup code when MFA is on) for tokens."""
    data = body()
    email, password = str(data.get("email") or ""), str(data.get("password") or "")
    if not email or not password:
        return api_error(422, "validation_error", "email and password are required.",
                         fields={k: "required" for k in ("email", "password") if not data.get(k)})
    ip, ua = client()
    result = services.check_credentials(email, password, ip, ua)
    if result.user is None:
        db.session.commit()
        return api_error(401, "invalid_credentials", result.error or "Sign-in failed.")
    user = result.user
    if user.org_id is None:
        db.session.commit()
        return api_error(403, "no_organization", "API tokens are issued to members of an organization.")
    assessment = risk.assess(user, ip, ua)
    if assessment.action == "deny":
        message = services.deny_sign_in(user, ip, ua, assessment)
        db.session.commit()
        return api_error(403, "risk_denied", message)
    if user.mfa_enabled:
        code = str(data.get("code") or "").strip()
        if not code:
            db.session.commit()
            return api_error(401, "mfa_required", "This account uses MFA: send 'code'.")
        if not (mfa.verify_totp(user, code) or mfa.use_backup_code(user, code)):
            message = services.register_failure(user, user.email, ip, ua, "mfa_failed")
            db.session.commit()
            return api_error(401, "invalid_mfa_code", message)
    services.complete_sign_in(user, ip, ua, "api_token", assessment=assessment, open_web_session=False)
    pair = issue_pair(user, ip, ua)
    db.session.commit()
    return pair


@bp.post("/auth/refresh")
def refresh():
    """Rotate a refresh token: the old one stops working; reusing it revokes the family."""
    value = str(body().get("refresh_token") or "")
    if not value:
        return api_error(422, "validation_error", "refresh_token is required.", fields={"refresh_token": "required"})
    ip, ua = client()
    try:
        pair = rotate(value, ip, ua)
    except TokenError as exc:
        db.session.commit()
        return api_error(401, exc.code, str(exc))
    db.session.commit()
    return pair


@bp.post("/auth/revoke")
def revoke():
    """Sign a token family out (e.g. on logout of an integration)."""
    value = str(body().get("refresh_token") or "")
    token = db.session.scalar(sa.select(RefreshToken).where(RefreshToken.token_hash == digest(value))) if value else None
    if token is None:
        return api_error(404, "not_found", "Unknown refresh token.")
    ended = revoke_family(token.family_id, "revoked")
    audit.record("api_token.revoked", resource_type="refresh_token", resource_id=token.id, org_id=token.org_id,
                 actor=db.session.get(User, token.user_id), details={"family": token.family_id, "revoked": ended})
    db.session.commit()
    return {"revoked": ended}


@bp.get("/me")
def me():
    """Who this credential acts for."""
    p = principal()
    db.session.commit()  # usage counters of API keys
    user = {"id": p.user.id, "email": p.user.email, "role": p.user.role} if p.user is not None else None
    return {"user": user, "device_id": p.device_id, "org_id": p.org_id, "scopes": sorted(p.scopes), "via": p.via}


@bp.get("/security-events")
@require_scope("events:read")
def security_events():
    """Security events of the organization, newest first (`since_id` to page forward)."""
    p = principal()
    stmt = sa.select(SecurityEvent).where(SecurityEvent.org_id == p.org_id)
    since_id = int_arg("since_id", None, 0, INT_MAX)  # security_events.id is an INTEGER
    if since_id is not None:
        stmt = stmt.where(SecurityEvent.id > since_id)
    rows = db.session.scalars(stmt.order_by(SecurityEvent.id.desc()).limit(limit_arg())).all()
    db.session.commit()
    return {"items": [{
        "id": e.id, "type": e.event_type, "severity": e.severity, "user_id": e.user_id, "email": e.email,
        "ip_address": e.ip_address, "risk_score": float(e.risk_score), "risk_factors": e.risk_factors or {},
        "action": e.action_taken, "created_at": e.created_at.isoformat(),
    } for e in rows]}


@bp.get("/threats")
@require_scope("threats:read")
def threats():
    """Detected threats of the organization."""
    rows = db.session.scalars(sa.select(ThreatEvent).where(ThreatEvent.org_id == principal().org_id)
                              .order_by(ThreatEvent.id.desc()).limit(limit_arg())).all()
    db.session.commit()
    return {"items": [{
        "id": t.id, "type": t.threat_type, "severity": t.severity, "status": t.status,
        "confidence": float(t.confidence), "indicators": t.indicators, "response_action": t.response_action,
        "response_status": t.response_status, "occurrences": t.occurrences,
        "last_detected_at": t.last_detected_at.isoformat(),
    } for t in rows]}


def intel_json(ioc: ThreatIntelligence) -> dict:
    return {"id": ioc.id, "type": ioc.indicator_type, "value": ioc.indicator_value, "severity": ioc.severity,
            "confidence": float(ioc.confidence), "tlp": ioc.tlp, "source": ioc.source, "is_active": ioc.is_active,
            "sightings": ioc.sighting_count, "last_seen": ioc.last_seen.isoformat()}


@bp.get("/intel")
@require_scope("intel:read")
def intel_list():
    """Indicators of the organization."""
    rows = db.session.scalars(sa.select(ThreatIntelligence).where(ThreatIntelligence.org_id == principal().org_id)
                              .order_by(ThreatIntelligence.id.desc()).limit(limit_arg())).all()
    db.session.commit()
    return {"items": [intel_json(i) for i in rows]}


@bp.post("/intel")
@require_scope("intel:write")
def intel_add():
    """Add (or renew) one indicator."""
    data = body()
    try:
        confidence = float(data.get("confidence", 50))
        if not 0 <= confidence <= 100:
            raise ValueError
    except (TypeError, ValueError):
        return api_error(422, "validation_error", "confidence must be a number from 0 to 100.",
                         fields={"confidence": "0-100"})
    for name, longest in (("value", 500), ("source", 100), ("description", 10_000)):
        if data.get(name) is not None and (not isinstance(data[name], str) or len(data[name]) > longest):
            return api_error(422, "validation_error", f"{name} must be a string of at most {longest} characters.",
                             fields={name: f"at most {longest} characters"})
    severity = str(data.get("severity") or "medium")
    if severity not in ("low", "medium", "high", "critical"):
        return api_error(422, "validation_error", "severity must be low, medium, high or critical.",
                         fields={"severity": "invalid"})
    try:
        ioc, created = add_indicator(principal().org_id, str(data.get("type") or ""), str(data.get("value") or ""),
                                     severity=severity, confidence=confidence, source=str(data.get("source") or "api"),
                                     description=data.get("description"))
    except IndicatorError as exc:
        return api_error(422, "invalid_indicator", str(exc), fields={"value": str(exc)})
    audit.record("intel.created" if created else "intel.renewed", resource_type="threat_intelligence",
                 resource_id=ioc.id, org_id=ioc.org_id, actor=principal().user,
                 actor_type="agent" if principal().via == "api_key" else "user",
                 new={"type": ioc.indicator_type, "value": ioc.indicator_value})
    db.session.commit()
    return intel_json(ioc), 201 if created else 200
