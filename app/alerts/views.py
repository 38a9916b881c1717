"""The Alerts page: every domain's alerts with filters and bulk acknowledge, and one alert
with its object, history and actions (acknowledge, resolve with a note, mute)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.alerting import registry, service
from app.alerts import services
from app.alerts.blueprint import bp
from app.alerts.forms import AlertFilterForm, MuteForm, ResolveForm
from app.core import linkable
from app.models import Alert, db, utcnow
from app.pagination import page_arg
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id

FILTER_NAMES = ("domain", "severity", "status", "target")


@bp.get("/")
@require("data.read")
def index():
    """Alerts of every domain, critical and newest first, filtered by domain, severity, status and target."""
    return _alerts_page(request.args)


def _alerts_page(args, status: int = 200):
    """The Alerts page for these filter values (the query string, or a bulk form's hidden fields)."""
    visible = registry.visible_domains(can)
    form = AlertFilterForm(args, domains=visible)
    org_id = require_org_id()
    values = {"status": "active"}
    if args and not form.validate():
        status = INVALID_FORM_STATUS
    else:
        values = {name: getattr(form, name).data or None for name in FILTER_NAMES}
        values["status"] = values["status"] or "active"
    rows = db.paginate(services.filtered(org_id, visible, **values), page=page_arg(args),
                       per_page=50, error_out=False)
    filters = {k: v for k, v in args.items() if k in FILTER_NAMES and v}
    return render_page("alerts/index.html", block="alert_rows", status=status, form=form, rows=rows,
                       filters=filters, query=urlencode(filters), links={a.id: services.link_of(a) for a in rows.items},
                       labels={d: registry.DOMAIN_LABELS[d] for d in visible},
                       counts=services.active_by_domain(org_id, visible))


@bp.post("/acknowledge")
@require("data.write")
def acknowledge():
    """Acknowledge the ticked alerts (only this organization's open or muted ones)."""
    raw = request.form.getlist("alert_ids")
    if not raw or not all(x.isdigit() for x in raw):
        # The page again, filters kept, with the reason: not a bare error page.
        flash("Tick at least one alert to acknowledge.", "warning")
        return _alerts_page(MultiDict((k, v) for k, v in request.form.items() if k in FILTER_NAMES), INVALID_FORM_STATUS)
    done = len(services.acknowledge_many(require_org_id(), registry.visible_domains(can), [int(x) for x in raw],
                                         current_user._get_current_object()))
    db.session.commit()
    flash(f"{done} alert(s) acknowledged." if done else "None of those alerts could be acknowledged.",
          "success" if done else "warning")
    back = {k: v for k, v in request.form.items() if k in FILTER_NAMES and v}
    return redirect(url_for("alerts.index", **back), code=303)


def _detail(alert: Alert, *, resolve_form=None, mute_form=None, status: int = 200):
    return render_page("alerts/detail.html", status=status, alert=alert, link=services.link_of(alert),
                       history=services.history(alert), labels=registry.DOMAIN_LABELS,
                       rule_type=registry.RULE_TYPES.get(alert.alert_type), opener=linkable.INCIDENT_OPENER,
                       linked_from=linkable.linked_from(alert.org_id, "alert", alert.id, can),
                       panels=registry.panels_for(alert),
                       resolve_form=resolve_form or ResolveForm(), mute_form=mute_form or MuteForm())


def visible_alert_or_404(alert_id: int) -> Alert:
    """The organization's alert, if its domain is one the user may see (else 404, as another tenant's)."""
    alert = get_scoped_or_404(Alert, alert_id)
    if alert.domain not in registry.visible_domains(can):
        abort(404)
    return alert


def _refuse_unless_active(alert: Alert, form, name: str):
    if not alert.is_active:
        flash("This alert is already resolved.", "warning")
        return redirect_after_post("alerts.detail", alert_id=alert.id)
    if not form.validate_on_submit():
        return _detail(alert, status=INVALID_FORM_STATUS, **{name: form})
    return None


@bp.get("/<int:alert_id>")
@require("data.read")
def detail(alert_id: int):
    """One alert of any domain: what fired, on what (linked), its history and the actions on it."""
    return _detail(visible_alert_or_404(alert_id))


@bp.post("/<int:alert_id>/ack")
@require("data.write")
def ack(alert_id: int):
    """Acknowledge one alert: someone is on it, so it stops repeating."""
    alert = visible_alert_or_404(alert_id)
    if service.acknowledge(alert, current_user._get_current_object()):
        db.session.commit()
        flash("Alert acknowledged.", "success")
    else:
        flash("Only an open or muted alert can be acknowledged.", "warning")
    return redirect_after_post("alerts.detail", alert_id=alert.id)


@bp.post("/<int:alert_id>/resolve")
@require("data.write")
def resolve(alert_id: int):
    """Resolve one alert with a note of what was done."""
    alert = visible_alert_or_404(alert_id)
    form = ResolveForm()
    refused = _refuse_unless_active(alert, form, "resolve_form")
    if refused is not None:
        return refused
    service.resolve(alert, utcnow(), note=form.note.data.strip(), actor=current_user._get_current_object())
    db.session.commit()
    flash("Alert resolved.", "success")
    return redirect_after_post("alerts.detail", alert_id=alert.id)


@bp.post("/<int:alert_id>/mute")
@require("data.write")
def mute(alert_id: int):
    """Mute one alert's notifications for a while (it still resolves on recovery)."""
    alert = visible_alert_or_404(alert_id)
    form = MuteForm()
    refused = _refuse_unless_active(alert, form, "mute_form")
    if refused is not None:
        return refused
    service.mute(alert, utcnow() + timedelta(hours=int(form.hours.data)), current_user._get_current_object())
    db.session.commit()
    flash("Alert muted.", "success")
    return redirect_after_post("alerts.detail", alert_id=alert.id)
