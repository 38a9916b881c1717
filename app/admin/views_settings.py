"""Platform settings: typed key/value rows with who changed them and when."""

from __future__ import annotations

from flask import abort, flash
from flask_login import current_user

from app.admin.blueprint import bp
from app.admin.forms import setting_form
from app.core import settings_registry as registry
from app.models import db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page


@bp.get("/settings")
@require("settings.manage")
def settings():
    """List the known settings with their value (or default) and their last change."""
    rows = registry.stored_rows()
    known = [(spec, rows.get(spec.key), registry.get_setting(spec.key)) for spec in registry.SETTINGS.values()]
    internal = [(row, registry.INTERNAL_KEYS[key]) for key, row in rows.items() if key in registry.INTERNAL_KEYS]
    unknown = [row for key, row in rows.items() if key not in registry.SETTINGS and key not in registry.INTERNAL_KEYS]
    return render_page("admin/settings.html", known=known, internal=internal, unknown=unknown)


@bp.route("/settings/<key>", methods=["GET", "POST"])
@require("settings.manage")
def setting_edit(key: str):
    """Change one setting's value, checked against its type."""
    spec = registry.spec_for(key)
    if spec is None:
        abort(404)
    form = setting_form(spec, data={"value": registry.get_setting(key)})
    if form.validate_on_submit():
        changed = registry.save_setting(spec, form.parsed, current_user._get_current_object())
        db.session.commit()
        flash(f"{key} saved." if changed else f"{key} already had that value.", "success" if changed else "info")
        return redirect_after_post("admin.settings")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("admin/setting_form.html", block="setting_form", status=status, form=form, spec=spec,
                       row=registry.stored_rows().get(key))
