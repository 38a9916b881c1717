"""Monitored e-mails: add (confirm link for addresses outside the organization's domains),
remove, the owner's confirmation page (public, signed link), and the findings."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app import audit
from app.exposure import monitoring
from app.exposure.blueprint import bp
from app.forms import options
from app.mailer import MailError, send_system_mail
from app.models import db, utcnow
from app.models.exposure import MONITOR_SCOPES, MonitoredEmail, MonitoredEmailFinding
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped


class MonitorForm(FlaskForm):
    email_address = StringField("E-mail address", validators=[DataRequired("Enter an e-mail address."), Length(max=255)])
    monitor_scope = SelectField("Scope", choices=options((s, s) for s in MONITOR_SCOPES), default="company")


class ConfirmForm(FlaskForm):
    pass


def _page(form: MonitorForm, status: int = 200, error: str | None = None):
    rows = db.session.scalars(scoped(MonitoredEmail).where(
        MonitoredEmail.monitor_scope.in_(monitoring.visible_scopes(current_user.role)))
        .order_by(MonitoredEmail.email_address)).all()
    return render_page("exposure/monitored.html", status=status, form=form, rows=rows, error=error,
                       hours=monitoring.recheck_hours())


def _send_confirmation(row: MonitoredEmail) -> str | None:
    """Mail the signed link to the address; the reason when it could not be sent."""
    link = url_for("exposure.monitor_confirm", token=monitoring.confirmation_token(row), _external=True)
    try:
        send_system_mail(row.email_address, "Confirm breach monitoring of your address",
                         f"Someone at {row.email_address.split('@')[1]}'s security team asked Vigil to watch "
                         f"{row.email_address} for breaches.\n\nIf you agree, open this link within "
                         f"{monitoring.confirm_days()} days:\n{link}\n\nIf not, ignore this message.")
    except MailError as exc:
        return str(exc)
    return None


@bp.get("/monitored")
@require("exposure.view")
def monitored_list():
    """The organization's monitored addresses, their state and finding counts."""
    return _page(MonitorForm())


@bp.post("/monitored")
@require("exposure.monitor")
def monitored_add():
    """Monitor an address: at once on the organization's domains, else after its owner confirms."""
    form = MonitorForm()
    if not form.validate_on_submit():
        return _page(form, INVALID_FORM_STATUS)
    try:
        row = monitoring.add(require_org_id(), current_user.id, form.email_address.data, form.monitor_scope.data)
    except monitoring.MonitorError as exc:
        db.session.rollback()
        return _page(form, INVALID_FORM_STATUS, error=str(exc))
    audit.record("exposure.monitor_added", resource_type="monitored_email", resource_id=row.id,
                 details={"address": row.email_address, "scope": row.monitor_scope,
                          "confirmed": row.confirmed_at is not None})
    db.session.commit()
    if row.confirmed_at is None:
        problem = _send_confirmation(row)
        flash(f"{row.email_address} is outside this organization's domains: "
              + (f"the confirmation e-mail could not be sent ({problem})." if problem
                 else "it is monitored once its owner opens the link sent to it."), "warning")
    return redirect_after_post("exposure.monitored_list")


@bp.post("/monitored/<int:monitor_id>/delete")
@require("exposure.monitor")
def monitored_delete(monitor_id: int):
    """Stop monitoring an address (its findings stay, hidden with it)."""
    row = get_scoped_or_404(MonitoredEmail, monitor_id)
    row.soft_delete()
    row.is_active = False
    audit.record("exposure.monitor_removed", resource_type="monitored_email", resource_id=row.id,
                 details={"address": row.email_address})
    db.session.commit()
    return redirect_after_post("exposure.monitored_list")


@bp.route("/monitored/confirm/<token>", methods=["GET", "POST"])
def monitor_confirm(token: str):
    """Public: the address's owner reads what is asked and confirms with a button (a GET changes nothing)."""
    form = ConfirmForm()
    try:
        row = monitoring.read_token(token)
    except monitoring.MonitorError as exc:
        return render_page("exposure/confirm.html", status=400, error=str(exc), form=form, row=None)
    if request.method == "POST" and form.validate_on_submit() and row.confirmed_at is None:
        row.confirmed_at = utcnow()
        audit.record("exposure.monitor_confirmed", resource_type="monitored_email", resource_id=row.id,
                     org_id=row.org_id, actor_type="system", actor_label="address owner (signed link)",
                     details={"address": row.email_address})
        db.session.commit()
    return render_page("exposure/confirm.html", form=form, row=row, error=None)


@bp.get("/findings")
@require("exposure.view")
def findings():
    """Findings of the monitored addresses, newest first; details for admins and analysts."""
    rows = db.session.execute(
        scoped(MonitoredEmailFinding).add_columns(MonitoredEmail.email_address)
        .join(MonitoredEmail, MonitoredEmail.id == MonitoredEmailFinding.monitored_email_id)
        .where(MonitoredEmail.deleted_at.is_(None),
               MonitoredEmail.monitor_scope.in_(monitoring.visible_scopes(current_user.role)))
        .order_by(MonitoredEmailFinding.found_at.desc()).limit(500)).all()
    return render_page("exposure/findings.html", rows=rows, details=can("exposure.details"))
