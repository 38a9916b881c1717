"""Security events (risk-scored, explained) and threat intelligence."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from flask import abort, flash, request
from flask_login import current_user

from app import audit
from app.alerting import events as alert_events
from app.indicators import matching
from app.indicators.store import add_indicator, effective_confidence
from app.models import (
    IocSighting,
    RateLimitEntry,
    SecurityEvent,
    ThreatEvent,
    ThreatIntelligence,
    User,
    db,
    utcnow,
)
from app.models.threats import THREAT_OPEN, THREAT_STATUSES
from app.pagination import page_arg, paginate_capped
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.threats.blocks import unblock as unblocks
from app.threats.blueprint import bp
from app.threats.forms import EventFilterForm, IndicatorForm
from app.threats.overview import summary
from app.threats.ratelimit import lift as lift_rate_limit
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
    rows = db.paginate(stmt.order_by(SecurityEvent.id.desc()), page=page_arg(),
                       per_page=50, error_out=False)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    ids = [e.id for e in rows.items]
    hits = {s.security_event_id: ioc for s, ioc in db.session.execute(
        sa.select(IocSighting, ThreatIntelligence).join(ThreatIntelligence, ThreatIntelligence.id == IocSighting.intel_id)
        .where(IocSighting.security_event_id.in_(ids or [-1])))}
    return render_page("threats/events.html", block="event_rows", status=status, form=form, rows=rows,
                       filters=filters, labels=FACTOR_LABELS, challenge_at=CHALLENGE_AT, deny_at=DENY_AT, hits=hits)


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
    rows = paginate_capped(scoped(ThreatIntelligence).order_by(ThreatIntelligence.id.desc()), page_arg(), per_page=50,
                           key=ThreatIntelligence.id)
    return render_page("threats/intel.html", status=status, form=form, rows=rows, now=utcnow(),
                       confidence=effective_confidence)


@bp.get("/intel/<int:intel_id>")
@require("threats.view")
def intel_detail(intel_id: int):
    """One indicator with the events that matched it."""
    ioc = get_scoped_or_404(ThreatIntelligence, intel_id)
    sightings = [matching.describe(s) for s in db.session.scalars(
        sa.select(IocSighting).where(IocSighting.intel_id == ioc.id)
        .order_by(IocSighting.observed_at.desc(), IocSighting.id.desc()).limit(100))]
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


@bp.get("/")
@require("threats.view")
def threats():
    """Detected threats, open ones first, with their response."""
    status = request.args.get("status") or None
    if status and status not in THREAT_STATUSES:
        abort(400, "Unknown status filter.")
    stmt = scoped(ThreatEvent)
    if status:
        stmt = stmt.where(ThreatEvent.status == status)
    order = sa.case((ThreatEvent.status.in_(THREAT_OPEN), 0), else_=1)
    rows = db.paginate(stmt.order_by(order, ThreatEvent.last_detected_at.desc()),
                       page=page_arg(), per_page=30, error_out=False)
    return render_page("threats/threats.html", block="threat_rows", rows=rows, status_filter=status,
                       statuses=THREAT_STATUSES)


@bp.route("/<int:threat_id>", methods=["GET", "POST"])
@require("threats.view")
def threat_detail(threat_id: int):
    """One threat: indicators, affected users, the response, and its status."""
    threat = get_scoped_or_404(ThreatEvent, threat_id)
    if request.method == "POST":
        if not can("threats.manage"):
            abort(403)
        new_status = request.form.get("status", "")
        if new_status not in THREAT_STATUSES:
            abort(400, "Unknown status.")
        old = threat.status
        if new_status != old:
            threat.status = new_status
            now = utcnow()
            if new_status == "mitigated" and threat.mitigated_at is None:
                threat.mitigated_at = now
            if new_status == "resolved":
                threat.resolved_at = now
            audit.record("threat.status_changed", resource_type="threat_event", resource_id=threat.id,
                         old={"status": old}, new={"status": new_status})
            alert_events.publish("threats.threat_changed", threat=threat)  # resolved: its alert resolves
            db.session.commit()
        return redirect_after_post("threats.threat_detail", threat_id=threat.id)
    users = db.session.scalars(sa.select(User).where(User.id.in_(threat.affected_user_ids or [-1]),
                                                     User.org_id == threat.org_id)).all()
    return render_page("threats/threat_detail.html", threat=threat, users=users, statuses=THREAT_STATUSES)


@bp.get("/blocks")
@require("threats.view")
def blocks():
    """Addresses and users blocked now (threat responses and rate limits)."""
    now = utcnow()
    rows = db.session.scalars(
        sa.select(RateLimitEntry).where(
            RateLimitEntry.is_blocked.is_(True), RateLimitEntry.blocked_until > now,
            RateLimitEntry.org_id == require_org_id(),
        ).order_by(RateLimitEntry.blocked_until.desc())
    ).all()
    return render_page("threats/blocks.html", rows=rows)


@bp.post("/blocks/<int:entry_id>/unblock")
@require("threats.manage")
def unblock(entry_id: int):
    """Lift a block before it runs out."""
    entry = db.session.scalar(sa.select(RateLimitEntry).where(RateLimitEntry.id == entry_id,
                                                               RateLimitEntry.org_id == require_org_id()))
    if entry is None:
        abort(404)
    old_until = entry.blocked_until
    unblocks(entry)
    lift_rate_limit(entry)
    audit.record("block.lifted", resource_type="rate_limit_entry", resource_id=entry.id,
                 old={"blocked_until": old_until.isoformat()}, new={"is_blocked": False},
                 details={"ip": entry.ip_address, "endpoint": entry.endpoint})
    db.session.commit()
    flash(f"{entry.ip_address or 'The user'} is no longer blocked.", "success")
    return redirect_after_post("threats.blocks")


@bp.get("/overview")
@require("threats.view")
def overview():
    """Security overview: events over time, risky users and IPs, open threats and incidents,
    blocks and intel sightings; the panel refreshes itself."""
    return render_page("threats/overview.html", block="overview_panel", data=summary(require_org_id()))
