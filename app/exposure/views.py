"""The exposure overview: exposed accounts, leaked passwords in use, shared passwords and files."""

from __future__ import annotations

from flask_login import current_user

from app.exposure import monitoring, services
from app.exposure.blueprint import bp
from app.models import db
from app.models.exposure import MonitoredEmail, MonitoredEmailFinding, Profile
from app.permissions import can, require
from app.rendering import render_page
from app.tenancy import require_org_id, scoped


@bp.get("/")
@require("exposure.view")
def overview():
    """Counts of the organization's exposure; details only for admins and analysts."""
    org_id = require_org_id()
    recent = db.session.execute(
        scoped(MonitoredEmailFinding).add_columns(MonitoredEmail.email_address)
        .join(MonitoredEmail, MonitoredEmail.id == MonitoredEmailFinding.monitored_email_id)
        .where(MonitoredEmail.deleted_at.is_(None),
               MonitoredEmail.monitor_scope.in_(monitoring.visible_scopes(current_user.role)))
        .order_by(MonitoredEmailFinding.found_at.desc()).limit(10)).all()
    riskiest = db.session.scalars(scoped(Profile).where(Profile.risk_score > 0)
                                  .order_by(Profile.risk_score.desc()).limit(5)).all()
    return render_page("exposure/overview.html", counts=services.counts(org_id), recent=recent, riskiest=riskiest,
                       chart=services.breaches_over_time(org_id), coverage=services.coverage(org_id),
                       details=can("exposure.details"))
