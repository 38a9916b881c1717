"""The one rules page across domains: every registered rule type, by domain, with the
organization's rules (and the global ones that apply to it); admins add, change and delete
rules of any type (audited by app.alerting.admin). Routing of notifications and quiet hours
are the Notifications > Routing page's; maintenance windows the fleet's (linked from here)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, request
from flask_login import current_user

from app.alerting import admin, registry
from app.alerting.registry import RULE_TYPES
from app.alerts.blueprint import bp
from app.alerts.forms import AlertRuleForm, split_names
from app.models import AlertRule, db
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import require_org_id, scoped


def may_manage_global() -> bool:
    return can("settings.manage")  # global rules reach every organization: super admins only


def visible() -> list[str]:
    return registry.visible_domains(can)


def rule_or_404(rule_id: int) -> AlertRule:
    """An organization's rule (or a global one, for super admins) of a domain the user may see; 404 otherwise."""
    rule = db.session.scalar(scoped(AlertRule).where(AlertRule.id == rule_id))
    if rule is None and may_manage_global():
        rule = db.session.scalar(sa.select(AlertRule).where(AlertRule.id == rule_id, AlertRule.org_id.is_(None)))
    if rule is None or (rule.domain or "fleet") not in visible():
        abort(404)
    return rule


@bp.get("/rules")
@require("data.read")
def rules():
    """Every registered rule type by domain, with the organization's rules and the global ones."""
    org_id = require_org_id()
    domains = visible()
    shown = [request.args["domain"]] if request.args.get("domain") in domains else domains
    rows = db.session.scalars(sa.select(AlertRule).where(
        sa.or_(AlertRule.org_id == org_id, AlertRule.org_id.is_(None)), AlertRule.domain.in_(shown))
        .order_by(AlertRule.rule_type, AlertRule.org_id.is_(None).desc(), AlertRule.id)).all()
    by_domain = {d: {"types": sorted((t for t in RULE_TYPES.values() if t.domain == d), key=lambda t: t.label),
                     "rules": [r for r in rows if r.domain == d]} for d in shown}
    return render_page("alerts/rules.html", by_domain=by_domain, labels=registry.DOMAIN_LABELS, types=RULE_TYPES,
                       devices=dict(registry.device_choices(org_id)), manage_global=may_manage_global(),
                       domain=request.args.get("domain") if len(shown) == 1 else None, domains=domains)


def _form(**kwargs) -> AlertRuleForm:
    return AlertRuleForm(domains=visible(), devices=registry.device_choices(require_org_id()),
                         allow_global=may_manage_global(), **kwargs)


def _values(form: AlertRuleForm) -> dict:
    scope = form.scope.data
    rule_type = RULE_TYPES[form.rule_type.data]
    names = split_names(form.names.data)
    return {"org_id": None if scope == "global" else require_org_id(),
            "device_id": int(form.device_id.data) if scope == "device" else None,
            "rule_type": rule_type.name, "domain": rule_type.domain, "direction": rule_type.direction,
            "name": form.name.data.strip(), "description": form.description.data or None,
            "threshold_value": form.threshold_value.data,
            "recovery_value": form.recovery_value.data if form.recovery_value.data is not None
            else form.threshold_value.data,
            "threshold_duration_seconds": form.threshold_duration_seconds.data,
            "cooldown_seconds": form.cooldown_seconds.data,
            "repeat_interval_seconds": form.repeat_interval_seconds.data or None,
            "severity": form.severity.data, "enabled": form.enabled.data, "notify": form.notify.data,
            "params": {"names": names} if names else {}}


def _page(form: AlertRuleForm, rule: AlertRule | None):
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("alerts/rule_form.html", status=status, form=form, rule=rule, types=RULE_TYPES,
                       labels=registry.DOMAIN_LABELS, domains=visible())


@bp.route("/rules/new", methods=["GET", "POST"])
@require("alert_rules.manage")
def rule_new():
    """Add a rule of any domain for the organization, one device, or (super admins) every organization."""
    form = _form()
    if request.method == "GET" and request.args.get("rule_type") in RULE_TYPES:
        t = RULE_TYPES[request.args["rule_type"]]  # "add a rule of this type": its defaults filled in
        form = _form(data={"rule_type": t.name, "name": t.label, "severity": t.severity, "threshold_value": t.threshold,
                           "recovery_value": t.recovery, "threshold_duration_seconds": t.for_seconds,
                           "cooldown_seconds": t.cooldown_seconds, "enabled": True, "notify": True})
    if form.validate_on_submit():
        rule = AlertRule()
        admin.save_rule(rule, _values(form), current_user._get_current_object())
        db.session.commit()
        flash(f"Rule '{rule.name}' added.", "success")
        return redirect_after_post("alerts.rules")
    return _page(form, None)


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@require("alert_rules.manage")
def rule_edit(rule_id: int):
    """Change a rule; disabling it, or changing what it watches, resolves its open alerts."""
    rule = rule_or_404(rule_id)
    form = _form(obj=rule, names=", ".join((rule.params or {}).get("names") or []))
    if form.validate_on_submit():
        admin.save_rule(rule, _values(form), current_user._get_current_object())
        db.session.commit()
        flash(f"Rule '{rule.name}' saved.", "success")
        return redirect_after_post("alerts.rules")
    return _page(form, rule)


@bp.post("/rules/<int:rule_id>/delete")
@require("alert_rules.manage")
def rule_delete(rule_id: int):
    """Delete a rule and resolve its open alerts."""
    rule = rule_or_404(rule_id)
    admin.delete_rule(rule, current_user._get_current_object())
    db.session.commit()
    flash("Rule deleted.", "success")
    return redirect_after_post("alerts.rules")
