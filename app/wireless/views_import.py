"""Imports page: upload a sightings file for a device source, watch it run, download rejects."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import current_app, request, send_file
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from app.forms import options
from app.jobs import job_title
from app.jobs.queue import live_progress
from app.models import JobRun, db
from app.models.wireless import DeviceSource, WirelessImport
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.wireless import import_start, imports
from app.wireless.blueprint import bp

UPLOAD_ENDPOINT = "wireless.import_upload"
LISTED = 50


class ImportForm(FlaskForm):
    file = FileField("Sightings file", validators=[FileRequired("Choose a file.")])
    source_id = SelectField("Device source", coerce=int, validators=[Optional()])
    new_source = StringField("Or a new source code", validators=[Optional(), Length(max=64)])

    def __init__(self, sources: list[DeviceSource], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.source_id.choices = options([("0", "(new source)")] + [(str(s.id), f"{s.code} ({s.name})")
                                                                   for s in sources])


def _sources(org_id: int) -> list[DeviceSource]:
    return list(db.session.scalars(scoped(DeviceSource).order_by(DeviceSource.code)))


def _page(form: ImportForm, status: int = 200, error: str | None = None):
    org_id = require_org_id()
    rows = db.session.scalars(scoped(WirelessImport).order_by(WirelessImport.id.desc()).limit(LISTED)).all()
    run_ids = [r.job_run_id for r in rows if r.job_run_id]
    runs = {r.id: r for r in db.session.scalars(sa.select(JobRun).where(JobRun.id.in_(run_ids),
                                                                         JobRun.org_id == org_id))} if run_ids else {}
    sources = {s.id: s for s in _sources(org_id)}
    return render_page("wireless/imports.html", block="imports_table", status=status, form=form, error=error,
                       imports=rows, runs=runs, sources=sources, label=imports.label,
                       limit_mb=current_app.config["WIRELESS_IMPORT_MAX_MB"], live_progress=live_progress,
                       job_title=job_title)


@bp.url_value_preprocessor
def _upload_limit(endpoint, _values):
    # Runs before every before_request hook (CSRF reads the form there), so the import's
    # own size limit, not the global upload limit, governs parsing of this one request.
    if endpoint == UPLOAD_ENDPOINT:
        request.max_content_length = imports.max_upload_bytes()


@bp.errorhandler(413)
def _too_large(_exc):
    """A clear refusal naming the limit that was hit."""
    if request.endpoint == UPLOAD_ENDPOINT:
        mb = current_app.config["WIRELESS_IMPORT_MAX_MB"]
        message = (f"The file is larger than the import limit of {mb} MB (VIGIL_WIRELESS_IMPORT_MAX_MB). "
                   "Split it, or ask an administrator to raise the limit.")
    else:
        message = "The upload is too large."
    return render_page("errors/error.html", status=413, message=message)


@bp.get("/imports")
@require("data.read")
def import_list():
    """Upload form and the organization's imports with status, counts and live progress."""
    return _page(ImportForm(_sources(require_org_id())))


@bp.post("/imports")
@require("data.write")
def import_upload():
    """Save the upload, refuse it now if it is no importable format, else queue its import."""
    org_id = require_org_id()
    form = ImportForm(_sources(org_id))
    if not form.validate_on_submit():
        return _page(form, INVALID_FORM_STATUS)
    upload = form.file.data
    filename = Path(upload.filename or "upload").name or "upload"
    try:
        # The same steps as the JSON API's upload (import_start): saved, detected, the source
        # resolved (named after the format when none is chosen), recorded, queued, audited.
        imp = import_start.start(org_id, current_user, upload, form.source_id.data or None,
                                 form.new_source.data or None)
    except (imports.FormatError, imports.SourceError) as exc:
        db.session.rollback()
        message = f"{filename} refused: {exc}" if isinstance(exc, imports.FormatError) else str(exc)
        return _page(form, INVALID_FORM_STATUS, error=message)
    try:
        db.session.commit()
    except Exception:
        # Nothing half-saved: a failed commit leaves neither a row nor the file under instance/
        # (a refused enqueue, 503, is undone inside import_start).
        db.session.rollback()
        Path(imp.stored_path).unlink(missing_ok=True)
        raise
    return redirect_after_post("wireless.import_list")


@bp.get("/imports/<int:import_id>/errors.csv")
@require("data.read")
def import_errors(import_id: int):
    """The import's rejected rows as CSV: line (row id for SQLite files) and reason."""
    imp = get_scoped_or_404(WirelessImport, import_id)
    report = imports.error_report_path(imp)
    name = f"import-{imp.id}-errors.csv"
    if report.exists():
        return send_file(report, mimetype="text/csv", as_attachment=True, download_name=name)
    lines = ["line,reason"] + [f'{e["line"]},"{str(e["reason"]).replace(chr(34), chr(39))}"' for e in imp.errors or []]
    return current_app.response_class("\r\n".join(lines) + "\r\n", mimetype="text/csv",
                                      headers={"Content-Disposition": f"attachment; filename={name}"})
