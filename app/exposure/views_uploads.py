"""Breach files: upload (sealed, imported by a job with live progress), the list, one file's
counts and first rejects, the full reject report, deletion, and the exposed credentials."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request, send_file
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from app import audit
from app.exposure import services, settings, uploads
from app.exposure.blueprint import bp
from app.jobs import enqueue, job_title
from app.jobs.runner import live_progress
from app.models import JobRun, db
from app.models.exposure import BreachFileResult, UploadedBreachFile
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped

UPLOAD_ENDPOINT = "exposure.upload_create"
LISTED = 50


class UploadForm(FlaskForm):
    file = FileField("Breach or combolist file", validators=[FileRequired("Choose a file.")])


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("E-mail, username or domain", validators=[Optional(), Length(max=255)])


def _runs(rows) -> dict[int, JobRun]:
    ids = [r.job_run_id for r in rows if r.job_run_id]
    if not ids:
        return {}
    return {r.id: r for r in db.session.scalars(sa.select(JobRun).where(JobRun.id.in_(ids),
                                                                         JobRun.org_id == require_org_id()))}


def _list_page(form: UploadForm, status: int = 200, error: str | None = None):
    rows = db.session.scalars(scoped(UploadedBreachFile).order_by(UploadedBreachFile.id.desc()).limit(LISTED)).all()
    return render_page("exposure/uploads.html", block="uploads_table", status=status, form=form, error=error,
                       uploads=rows, runs=_runs(rows), live_progress=live_progress, job_title=job_title,
                       limit_mb=settings.max_upload_mb(),
                       retention=settings.retention_hours(), clamd=bool(settings.clamd_address()))


@bp.url_value_preprocessor
def _upload_limit(endpoint, _values):
    # Before CSRF parses the form: this upload's own limit governs this one request.
    if endpoint == UPLOAD_ENDPOINT:
        request.max_content_length = settings.max_upload_bytes()


@bp.errorhandler(413)
def _too_large(_exc):
    """A clear refusal naming the limit that was hit."""
    message = (f"The file is larger than the upload limit of {settings.max_upload_mb()} MB "
               "(VIGIL_EXPOSURE_MAX_UPLOAD_MB).")
    return render_page("errors/error.html", status=413, message=message)


@bp.get("/uploads")
@require("exposure.view")
def upload_list():
    """Upload form and the organization's breach files with status, counts and live progress."""
    return _list_page(UploadForm())


@bp.post("/uploads")
@require("exposure.manage")
def upload_create():
    """Seal the upload, refuse it now if unusable or already imported, else queue its import."""
    org_id = require_org_id()
    form = UploadForm()
    if not form.validate_on_submit():
        return _list_page(form, INVALID_FORM_STATUS)
    upload = form.file.data
    try:
        row = uploads.receive(org_id, current_user.id, upload.filename or "upload", uploads.chunks_of(upload.stream))
    except uploads.AlreadyImported as exc:
        db.session.rollback()
        return _list_page(form, INVALID_FORM_STATUS,
                          error=f"This file was already imported ({exc}); importing it again would add nothing.")
    except uploads.UploadRefused as exc:
        db.session.rollback()
        return _list_page(form, INVALID_FORM_STATUS, error=f"{upload.filename} refused: {exc}")
    run = enqueue("exposure.import", org_id=org_id, requested_by_id=current_user.id, upload_id=row.id)
    row.job_run_id = run.id
    audit.record("exposure.upload_received", resource_type="uploaded_breach_file", resource_id=row.id,
                 details={"file": row.filename, "size": row.file_size, "sha256": row.content_hash, "run": run.id})
    db.session.commit()
    return redirect_after_post("exposure.upload_detail", upload_id=row.id)


@bp.get("/uploads/<int:upload_id>")
@require("exposure.view")
def upload_detail(upload_id: int):
    """One file: status and progress, counts, scan result, the first rejects and its matched credentials."""
    row = get_scoped_or_404(UploadedBreachFile, upload_id)
    run = _runs([row]).get(row.job_run_id)
    matched = services.credentials(row.org_id, upload_id=row.id, limit=100) if can("exposure.details") else []
    return render_page("exposure/upload_detail.html", block="upload_status", upload=row, run=run,
                       live_progress=live_progress, job_title=job_title, matched=matched)


@bp.get("/uploads/<int:upload_id>/rejects.csv")
@require("exposure.view")
def upload_rejects(upload_id: int):
    """Every rejected line of the file as CSV: line number and reason (never the line's text)."""
    row = get_scoped_or_404(UploadedBreachFile, upload_id)
    path = uploads.report_path(row)
    name = f"breach-file-{row.id}-rejects.csv"
    if not path.exists():
        return render_page("errors/error.html", status=404, message="No reject report for this file.")
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=name)


@bp.post("/uploads/<int:upload_id>/delete")
@require("exposure.manage")
def upload_delete(upload_id: int):
    """Delete the file, its raw copy and every credential derived from it."""
    row = get_scoped_or_404(UploadedBreachFile, upload_id)
    uploads.delete_raw(row)
    uploads.report_path(row).unlink(missing_ok=True)
    removed = db.session.execute(sa.delete(BreachFileResult).where(
        BreachFileResult.uploaded_file_id == row.id, BreachFileResult.org_id == row.org_id)).rowcount
    # A hard delete: the same file may be uploaded again later (its SHA-256 is unique per organization).
    db.session.delete(row)
    audit.record("exposure.upload_deleted", resource_type="uploaded_breach_file", resource_id=row.id,
                 details={"file": row.filename, "credentials_removed": removed})
    db.session.commit()
    return redirect_after_post("exposure.upload_list")


@bp.get("/credentials")
@require("exposure.details")
def credential_list():
    """The organization's exposed credentials (masked) and leaked passwords shared by several accounts."""
    org_id = require_org_id()
    form = SearchForm(request.args)
    query = form.q.data if form.validate() else None
    return render_page("exposure/credentials.html", block="credential_rows", form=form,
                       rows=services.credentials(org_id, query=query), reused=services.reused_passwords(org_id))
