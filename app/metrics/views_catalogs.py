"""Catalog pages: list, default catalog, the import wizard, mapping review, activate, clone, export."""

from __future__ import annotations

from flask import Response, abort, flash, request
from flask_login import current_user

from app import audit
from app.htmx import wants_fragment
from app.jobs import enqueue
from app.metrics import ai, catalog_files, catalogs, services
from app.metrics.blueprint import bp
from app.metrics.forms import AiProviderForm, CatalogUploadForm, column_map_form
from app.metrics.views import queue_recompute
from app.models import (
    AiChangeLog,
    Metric,
    MetricCatalog,
    MetricCatalogFrameworkMapping,
    MetricCatalogImport,
    db,
)
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped


def _need_framework() -> None:
    if services.current_framework() is None:
        abort(409, "No framework is loaded: run `vigil metrics load-framework` first.")


def _staged(import_id: int) -> MetricCatalogImport:
    """A staged upload of this organization and this user (another user's is a 404 too)."""
    staged = get_scoped_or_404(MetricCatalogImport, import_id)
    if staged.user_id != current_user.id:
        abort(404)
    return staged


@bp.get("/catalogs")
@require("data.read")
def catalog_list():
    """The organization's catalogs, which one is active for whom, and the import entry points."""
    rows = db.session.scalars(scoped(MetricCatalog).order_by(MetricCatalog.is_active.desc(),
                                                             MetricCatalog.created_at.desc())).all()
    staged = db.session.scalars(scoped(MetricCatalogImport).where(MetricCatalogImport.user_id == current_user.id)
                                .order_by(MetricCatalogImport.created_at.desc())).all()
    return render_page("metrics/catalogs.html", catalogs=rows, staged=staged)


@bp.post("/catalogs/default")
@require("data.write")
def catalog_default():
    """Add the built-in catalog of security metrics (with mapping suggestions) as a new catalog."""
    _need_framework()
    catalog = catalogs.create_default_catalog(require_org_id(), current_user)
    db.session.commit()
    flash(f"Default catalog added with {len(catalog.items)} metrics.", "success")
    return redirect_after_post("metrics.catalog_detail", catalog_id=catalog.id)


@bp.route("/catalogs/import", methods=["GET", "POST"])
@require("data.write")
def catalog_import():
    """Import step 1: upload a CSV, JSON or XLSX file; its rows are kept for the next step."""
    _need_framework()
    form = CatalogUploadForm()
    error = None
    if form.validate_on_submit():
        with form.file.data.stream as stream:  # a large upload is a temporary file: close it now
            content = stream.read(catalog_files.MAX_BYTES + 1)
        name = form.file.data.filename or "upload"
        try:
            staged = catalogs.stage_upload(require_org_id(), current_user, name, content)
        except catalog_files.CatalogFileTooLarge as exc:
            return render_page("metrics/catalog_import.html", status=413, form=form, error=str(exc))
        except catalog_files.CatalogFileError as exc:
            error = f"{name}: {exc}"
        else:
            db.session.commit()
            return redirect_after_post("metrics.catalog_import_map", import_id=staged.id)
    status = INVALID_FORM_STATUS if (error or form.errors) else 200
    return render_page("metrics/catalog_import.html", status=status, form=form, error=error)


@bp.route("/catalogs/import/<int:import_id>", methods=["GET", "POST"])
@require("data.write")
def catalog_import_map(import_id: int):
    """Import step 2: map the file's columns; every row is checked, and all good creates the catalog."""
    staged = _staged(import_id)
    data = {f"col_{k}": v for k, v in staged.column_map.items()}
    data["catalog_name"] = staged.filename.rsplit(".", 1)[0][:200]
    form = column_map_form(staged.headers, data=None if request.method == "POST" else data)
    problems = None
    if form.validate_on_submit():
        catalog, checked = catalogs.apply_import(staged, current_user, form.column_map(), form.catalog_name.data.strip())
        if catalog is not None:
            db.session.commit()
            flash(f"Catalog created with {len(catalog.items)} metrics: review the mapping suggestions.", "success")
            return redirect_after_post("metrics.catalog_review", catalog_id=catalog.id)
        db.session.rollback()
        problems = checked.problems
    status = INVALID_FORM_STATUS if (form.errors or problems) else 200
    return render_page("metrics/catalog_map.html", status=status, form=form, staged=staged, problems=problems,
                       preview=staged.rows[:5])


@bp.post("/catalogs/import/<int:import_id>/cancel")
@require("data.write")
def catalog_import_cancel(import_id: int):
    """Drop a staged upload."""
    staged = _staged(import_id)
    audit.record("metric_catalog.upload_discarded", resource_type="metric_catalog_import", resource_id=staged.id,
                 details={"file": staged.filename})
    db.session.delete(staged)
    db.session.commit()
    return redirect_after_post("metrics.catalog_list")


@bp.get("/catalogs/<int:catalog_id>")
@require("data.read")
def catalog_detail(catalog_id: int):
    """One catalog's items with their CSF codes, targets and confirmed subcategories."""
    catalog = get_scoped_or_404(MetricCatalog, catalog_id)
    return render_page("metrics/catalog_detail.html", catalog=catalog, counts=catalogs.review_counts(catalog))


@bp.get("/catalogs/<int:catalog_id>/review")
@require("data.read")
def catalog_review(catalog_id: int):
    """Import step 3: confirm or reject each framework mapping suggestion."""
    catalog = get_scoped_or_404(MetricCatalog, catalog_id)
    return render_page("metrics/catalog_review.html", catalog=catalog, counts=catalogs.review_counts(catalog),
                       ai_config=ai.ai_config(catalog.org_id))


@bp.post("/catalogs/<int:catalog_id>/suggest")
@require("data.write")
def catalog_suggest(catalog_id: int):
    """Suggest subcategories again for items whose suggestions were all rejected (or that had none)."""
    catalog = get_scoped_or_404(MetricCatalog, catalog_id)
    _need_framework()
    added = catalogs.suggest_for_catalog(catalog, current_user)
    audit.record("metric_catalog.suggested", resource_type="metric_catalog", resource_id=catalog.id,
                 details={"suggestions": added})
    db.session.commit()
    flash(f"{added} new suggestion(s).", "info")
    return redirect_after_post("metrics.catalog_review", catalog_id=catalog.id)


@bp.post("/catalogs/<int:catalog_id>/activate")
@require("data.write")
def catalog_activate(catalog_id: int):
    """Import step 4: make this the owner's active catalog and create or update the metrics from it."""
    catalog = get_scoped_or_404(MetricCatalog, catalog_id)
    _need_framework()
    try:
        counts = catalogs.activate(catalog, current_user)
    except catalogs.CatalogNotReady as exc:
        db.session.rollback()
        return render_page("metrics/catalog_detail.html", status=INVALID_FORM_STATUS, catalog=catalog,
                           counts=catalogs.review_counts(catalog), not_ready=exc.items)
    queue_recompute(catalog.org_id)
    db.session.commit()
    flash(f"Catalog active: {counts['created']} metric(s) created, {counts['updated']} updated, "
          f"{counts['locked']} locked and left alone, {counts['links']} subcategory link(s) added.", "success")
    if counts["category_from_function"]:
        flash(f"{counts['category_from_function']} metric(s) had no CSF category in the catalog or a confirmed link: "
              "they were given their function's first category; check them on the metrics page.", "info")
    if counts["live_offered"]:
        flash(f"{counts['live_offered']} existing metric(s) kept their hand-entered values although this catalog "
              "measures them with a live query: choose the query under \"Value source\" on the metric's edit page "
              "to switch.", "info")
    return redirect_after_post("metrics.catalog_detail", catalog_id=catalog.id)


@bp.post("/catalogs/<int:catalog_id>/clone")
@require("data.write")
def catalog_clone(catalog_id: int):
    """Copy a catalog, its items and mapping decisions into a new inactive catalog."""
    copy = catalogs.clone_catalog(get_scoped_or_404(MetricCatalog, catalog_id), current_user)
    db.session.commit()
    flash(f"Catalog copied as {copy.name}.", "success")
    return redirect_after_post("metrics.catalog_detail", catalog_id=copy.id)


@bp.get("/catalogs/<int:catalog_id>/export.csv")
@require("data.read")
def catalog_export(catalog_id: int):
    """The catalog as CSV, in the columns the import reads."""
    catalog = get_scoped_or_404(MetricCatalog, catalog_id)
    body = catalog_files.to_csv(catalogs.export_rows(catalog))
    filename = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in catalog.name)[:80] or "catalog"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})


def _mapping_response(mapping: MetricCatalogFrameworkMapping):
    if mapping.catalog_item_id is not None:
        item = mapping.catalog_item
        return render_page("metrics/catalog_review.html", block="mapping_row", mapping=mapping, item=item,
                           catalog=item.catalog, counts=catalogs.review_counts(item.catalog)) \
            if wants_fragment() else redirect_after_post("metrics.catalog_review", catalog_id=item.catalog_id)
    return redirect_after_post("metrics.metric_detail", metric_id=mapping.metric_id)


def _review(mapping_id: int, confirm: bool):
    mapping = get_scoped_or_404(MetricCatalogFrameworkMapping, mapping_id)
    if mapping.metric_id is not None:
        metric = db.session.get(Metric, mapping.metric_id)
        if metric is None or metric.deleted_at is not None:
            abort(404)
    catalogs.review_mapping(mapping, current_user, confirm)
    db.session.commit()
    return _mapping_response(mapping)


@bp.post("/mappings/<int:mapping_id>/confirm")
@require("data.write")
def mapping_confirm(mapping_id: int):
    """Confirm a subcategory suggestion: it becomes a link of the item or metric."""
    return _review(mapping_id, True)


@bp.post("/mappings/<int:mapping_id>/reject")
@require("data.write")
def mapping_reject(mapping_id: int):
    """Reject a subcategory suggestion."""
    return _review(mapping_id, False)


@bp.post("/<int:metric_id>/suggest")
@require("data.write")
def metric_suggest(metric_id: int):
    """Suggest CSF subcategories for one metric from its text (offline, deterministic)."""
    metric = get_scoped_or_404(Metric, metric_id)
    catalogs.suggest_for_metric(metric, current_user)
    db.session.commit()
    return redirect_after_post("metrics.metric_detail", metric_id=metric.id)


@bp.get("/ai-log")
@require("data.read")
def ai_log():
    """Every automated suggestion and change, newest first."""
    rows = db.session.scalars(scoped(AiChangeLog).order_by(AiChangeLog.timestamp.desc(), AiChangeLog.id.desc())
                              .limit(200)).all()
    return render_page("metrics/ai_log.html", rows=rows)



@bp.route("/ai-provider", methods=["GET", "POST"])
@require("org.edit_own")
def ai_provider():
    """Configure (or see) the organization's optional AI mapping provider."""
    org_id = require_org_id()
    config = ai.ai_config(org_id)
    form = AiProviderForm(data=None if request.method == "POST" else (config or {}))
    error = None
    if form.validate_on_submit():
        try:
            ai.set_ai_config(org_id, form.base_url.data, form.model.data, form.api_key.data, current_user)
        except ai.AiConfigError as exc:
            error = str(exc)
        else:
            db.session.commit()
            flash("AI provider saved. Suggestions from it run only when someone asks for them.", "success")
            return redirect_after_post("metrics.ai_provider")
    status = INVALID_FORM_STATUS if (form.errors or error) else 200
    return render_page("metrics/ai_provider.html", status=status, form=form, config=config, error=error)


@bp.post("/ai-provider/clear")
@require("org.edit_own")
def ai_provider_clear():
    """Remove the AI provider: suggestions are offline only again."""
    ai.clear_ai_config(require_org_id())
    db.session.commit()
    flash("AI provider removed.", "info")
    return redirect_after_post("metrics.ai_provider")


@bp.post("/catalogs/<int:catalog_id>/ai-suggest")
@require("data.write")
def catalog_ai_suggest(catalog_id: int):
    """Queue a job asking the organization's AI provider about every item (offline suggestions stay)."""
    catalog = get_scoped_or_404(MetricCatalog, catalog_id)
    if ai.ai_config(catalog.org_id) is None:
        abort(409, "No AI provider is configured for this organization.")
    enqueue("metrics.ai_suggest", org_id=catalog.org_id, requested_by_id=current_user.id, catalog_id=catalog.id)
    audit.record("metric_catalog.ai_suggest_requested", resource_type="metric_catalog", resource_id=catalog.id)
    db.session.commit()
    flash("The AI provider is being asked; its suggestions appear here when the job is done.", "info")
    return redirect_after_post("metrics.catalog_review", catalog_id=catalog.id)
