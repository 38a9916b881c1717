"""Sites of the current organization."""

from __future__ import annotations

from flask import flash, request

from app.admin import services
from app.admin.blueprint import bp
from app.admin.forms import ListFilterForm, SiteForm
from app.models import Site, db
from app.pagination import page_arg
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id

PER_PAGE = 25


@bp.get("/sites")
@require("site.view")
def sites():
    """List the organization's sites, searchable by name, slug or city."""
    require_org_id()
    form = ListFilterForm(request.args)
    if request.args and not form.validate():
        return render_page("admin/sites.html", block="sites_table", status=INVALID_FORM_STATUS,
                           form=form, rows=None, filters={})
    rows = db.paginate(services.sites_query(form.q.data), page=page_arg(),
                       per_page=PER_PAGE, error_out=False)
    filters = {"q": form.q.data} if form.q.data else {}
    return render_page("admin/sites.html", block="sites_table", form=form, rows=rows, filters=filters)


@bp.route("/sites/new", methods=["GET", "POST"])
@require("site.manage")
def site_new():
    """Add a site to the organization."""
    org_id = require_org_id()
    form = SiteForm(org_id=org_id)
    if form.validate_on_submit():
        try:
            site = services.create_site(org_id, form.values())
        except services.RuleError as err:
            db.session.rollback()
            form[err.field].errors.append(err.message)
        else:
            db.session.commit()
            flash(f"Site {site.name} added.", "success")
            return redirect_after_post("admin.sites")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("admin/site_form.html", block="site_form", status=status, form=form, site=None)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@require("site.manage")
def site_edit(site_id: int):
    """Edit one of the organization's sites."""
    site = get_scoped_or_404(Site, site_id)
    form = SiteForm(obj=site, org_id=site.org_id, site_id=site.id)
    if form.validate_on_submit():
        try:
            changed = services.update_site(site, form.values())
        except services.RuleError as err:
            db.session.rollback()
            form[err.field].errors.append(err.message)
        else:
            db.session.commit()
            flash(f"Site {site.name} saved." if changed else "Nothing changed.", "success" if changed else "info")
            return redirect_after_post("admin.sites")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("admin/site_form.html", block="site_form", status=status, form=form, site=site)


@bp.post("/sites/<int:site_id>/delete")
@require("site.manage")
def site_delete(site_id: int):
    """Soft-delete one of the organization's sites."""
    site = get_scoped_or_404(Site, site_id)
    services.delete_site(site)
    db.session.commit()
    flash(f"Site {site.name} deleted.", "success")
    return redirect_after_post("admin.sites")
