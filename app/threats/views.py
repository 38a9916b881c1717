"""Security events (risk-scored, explained) and threat intelligence."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from flask import abort, flash, request
from flask_login import current_user

from app import audit
from app.models import IocSighting, SecurityEvent, ThreatIntelligence, db, utcnow
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.threats import bp
from app.threats.forms import EventFilterForm, IndicatorForm
from app.threats.intel import add_indicator, effective_confidence
from app.threats.risk import CHALLENGE_AT, DENY_AT

FACTOR_LABELS = {
    "new_device": "New device for this user",
    "new_ip": "New IP address for this user",
    "new_network": "New network (/24 or /48) for this user",
    "unusual_hour": "Unusual hour for this user",
    "recent_failures": "Failed sign-ins in the last hour",
    "user_trust": "User trust score",
    "device_trust": "Trusted browser",
    "threat_intel": "IP matches threat intelligence",
}


@bp.get("/events")
@require("threats.view")
def events():
    """Security events of the organization, newest first, with their risk explained."""
    form = EventFilterForm(request.args)
    stmt = sa.select(SecurityEvent).where(SecurityEvent.org_id == require_org_id())
    status = 200
    if request.args and not form.validate():
        status = INVALID_FORM_STATUS
    else:
        if form.event_type.data:
            stmt = stmt.where(SecurityEvent.event_type == form.event_type.data.strip())
        if form.severity.data:
            stmt = stmt.where(SecurityEvent.severity == form.severity.data)
        if form.min_risk.data is not None:
            stmt = stmt.where(SecurityEvent.risk_score >= form.min_risk.data)
        if form.email.data:
            stmt = stmt.where(SecurityEvent.email.ilike(f"%{form.email.data.strip()}%"))
        if form.ip.data:
            stmt = stmt.where(SecurityEvent.ip_address == form.ip.data.strip())
    rows = db.paginate(stmt.order_by(SecurityEvent.id.desc()), page=request.args.get("page", 1, type=int),
                       per_page=50, error_out=False)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_page("threats/events.html", block="event_rows", status=status, form=form, rows=rows,
                       filters=filters, labels=FACTOR_LABELS, challenge_at=CHALLENGE_AT, deny_at=DENY_AT)


@bp.post("/events/<int:event_id>/acknowledge")
@require("threats.manage")
def event_acknowledge(event_id: int):
    """Mark a security event as seen by an analyst."""
    event = get_scoped_or_404(SecurityEvent, event_id)
    if not event.acknowledged:
        event.acknowledged = True
        event.acknowledged_by_id = current_user.id
        event.acknowledged_at = utcnow()
        audit.record("security_event.acknowledged", resource_type="security_event", resource_id=event.id,
                     old={"acknowledged": False}, new={"acknowledged": True})
        db.session.commit()
    return redirect_after_post("threats.events")


@bp.route("/intel", methods=["GET", "POST"])
@require("threats.view")
def intel():
    """Indicators of compromise: list, add by hand, with sightings and decayed confidence."""
    form = IndicatorForm()
    status = 200
    if request.method == "POST":
        if not can("threats.manage"):
            abort(403)
        if form.validate_on_submit():
            expires = form.expires_at.data.replace(tzinfo=UTC) if form.expires_at.data else None
            ioc, created = add_indicator(
                require_org_id(), form.indicator_type.data, form.indicator_value.data,
                threat_type=form.threat_type.data or None, severity=form.severity.data,
                confidence=form.confidence.data, tlp=form.tlp.data, source=form.source.data,
                expires_at=expires, description=form.description.data or None,
            )
            audit.record("intel.created" if created else "intel.renewed", resource_type="threat_intelligence",
                         resource_id=ioc.id, new={"type": ioc.indicator_type, "value": ioc.indicator_value})
            db.session.commit()
            flash("Indicator added." if created else "Indicator already known: renewed.", "success")
            return redirect_after_post("threats.intel")
        status = INVALID_FORM_STATUS
    rows = db.paginate(scoped(ThreatIntelligence).order_by(ThreatIntelligence.id.desc()),
                       page=request.args.get("page", 1, type=int), per_page=50, error_out=False)
    return render_page("threats/intel.html", status=status, form=form, rows=rows, now=utcnow(),
                       confidence=effective_confidence)


@bp.get("/intel/<int:intel_id>")
@require("threats.view")
def intel_detail(intel_id: int):
    """One indicator with the events that matched it."""
    ioc = get_scoped_or_404(ThreatIntelligence, intel_id)
    sightings = db.session.execute(
        sa.select(IocSighting, SecurityEvent).join(SecurityEvent, SecurityEvent.id == IocSighting.security_event_id)
        .where(IocSighting.intel_id == ioc.id).order_by(IocSighting.id.desc()).limit(100)
    ).all()
    return render_page("threats/intel_detail.html", ioc=ioc, sightings=sightings,
                       confidence=effective_confidence(ioc))


@bp.post("/intel/<int:intel_id>/deactivate")
@require("threats.manage")
def intel_deactivate(intel_id: int):
    """Stop matching an indicator (kept for history)."""
    ioc = get_scoped_or_404(ThreatIntelligence, intel_id)
    if ioc.is_active:
        ioc.is_active = False
        audit.record("intel.deactivated", resource_type="threat_intelligence", resource_id=ioc.id,
                     old={"is_active": True}, new={"is_active": False})
        db.session.commit()
    return redirect_after_post("threats.intel")
