"""Organizations: super admins manage all of them; an admin edits its own organization."""

from __future__ import annotations

from flask import abort, flash, redirect, request, session, url_for
from flask_login import current_user

from app.admin import services
from app.admin.blueprint import bp
from app.admin.forms import ListFilterForm, OrgForm
from app.models import Organization, db
from app.pagination import page_arg
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import ORG_SESSION_KEY

PER_PAGE = 25


def visible_org_or_404(org_id: int) -> Organization:
    """A live organization the user may edit: any for super admins, only their own otherwise."""
    org = services.live_org(org_id)
    if org is None or (not can("org.manage") and org.id != current_user.org_id):
        abort(404)
    return org


@bp.get("/orgs")
@require("org.edit_own")
def orgs():
    """List organizations (super admins); an admin is sent to its own organization's page."""
    if not can("org.manage"):
        return redirect(url_for("admin.org_edit", org_id=current_user.org_id))
    form = ListFilterForm(request.args)
    if request.args and not form.validate():
        return render_page("admin/orgs.html", block="orgs_table", status=INVALID_FORM_STATUS,
                           form=form, rows=None, filters={})
    rows = db.paginate(services.orgs_query(form.q.data), page=page_arg(),
                       per_page=PER_PAGE, error_out=False)
    filters = {"q": form.q.data} if form.q.data else {}
    return render_page("admin/orgs.html", block="orgs_table", form=form, rows=rows, filters=filters)


@bp.route("/orgs/new", methods=["GET", "POST"])
@require("org.manage")
def org_new():
    """Create an organization."""
    form = OrgForm()
    if form.validate_on_submit():
        try:
            org = services.create_org(form.values())
        except services.RuleError as err:
            db.session.rollback()
            form[err.field].errors.append(err.message)
        else:
            db.session.commit()
            flash(f"Organization {org.name} created.", "success")
            return redirect_after_post("admin.orgs")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("admin/org_form.html", block="org_form", status=status, form=form, org=None)


@bp.route("/orgs/<int:org_id>", methods=["GET", "POST"])
@require("org.edit_own")
def org_edit(org_id: int):
    """Edit an organization's details (admins: their own, without slug, type, tier or seats)."""
    org = visible_org_or_404(org_id)
    restricted = not can("org.manage")
    form = OrgForm(obj=org, org_id=org.id, restricted=restricted)
    if form.validate_on_submit():
        try:
            changed = services.update_org(org, form.values())
        except services.RuleError as err:
            db.session.rollback()
            form[err.field].errors.append(err.message)
        else:
            db.session.commit()
            flash(f"{org.name} saved." if changed else "Nothing changed.", "success" if changed else "info")
            return redirect_after_post("admin.org_edit" if restricted else "admin.orgs",
                                       **({"org_id": org.id} if restricted else {}))
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("admin/org_form.html", block="org_form", status=status, form=form, org=org,
                       restricted=restricted)


@bp.post("/orgs/<int:org_id>/delete")
@require("org.manage")
def org_delete(org_id: int):
    """Soft-delete an organization: it leaves every list and its users can no longer sign in."""
    org = visible_org_or_404(org_id)
    services.delete_org(org)
    db.session.commit()
    if session.get(ORG_SESSION_KEY) == org.id:
        session.pop(ORG_SESSION_KEY)
    flash(f"Organization {org.name} deleted.", "success")
    return redirect_after_post("admin.orgs")
