"""Threat-intelligence import in two steps: upload and preview, then confirm."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app, flash, redirect, session, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from app import audit
from app.models import db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, render_page
from app.tenancy import require_org_id
from app.threats.blueprint import bp
from app.threats.importers import ImportFormatError, parse_file
from app.threats.intel import save_parsed

MAX_BYTES = 10 * 1024 * 1024
SESSION_KEY = "intel_import"


class IntelUploadForm(FlaskForm):
    file = FileField("STIX 2.1 bundle, MISP event (JSON) or CSV", validators=[FileRequired("Choose a file.")])


def _staging_dir() -> Path:
    path = Path(current_app.instance_path) / "intel-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _staged() -> tuple[dict, Path] | None:
    info = session.get(SESSION_KEY)
    if not info or info.get("org_id") != require_org_id():
        return None
    path = _staging_dir() / f"{info['token']}.upload"
    return (info, path) if path.exists() else None


@bp.route("/intel/import", methods=["GET", "POST"])
@require("threats.manage")
def intel_import():
    """Upload an intel file and preview what the import would do (nothing is saved yet)."""
    form = IntelUploadForm()
    preview = error = None
    if form.validate_on_submit():
        content = form.file.data.read(MAX_BYTES + 1)
        name = form.file.data.filename or "upload"
        if len(content) > MAX_BYTES:
            error = "The file is larger than 10 MB."
        else:
            try:
                preview = parse_file(name, content)
            except ImportFormatError as exc:
                error = f"{name}: {exc}"
        if preview is not None:
            token = secrets.token_urlsafe(16)
            (_staging_dir() / f"{token}.upload").write_bytes(content)
            session[SESSION_KEY] = {"token": token, "name": name, "org_id": require_org_id()}
    status = INVALID_FORM_STATUS if (error or form.errors) else 200
    return render_page("threats/intel_import.html", status=status, form=form, preview=preview, error=error)


@bp.post("/intel/import/confirm")
@require("threats.manage")
def intel_import_confirm():
    """Import the previewed file; rows with problems are listed and skipped."""
    staged = _staged()
    if staged is None:
        flash("Nothing to import: upload the file again.", "warning")
        return redirect(url_for("threats.intel_import"), code=303)
    info, path = staged
    try:
        parsed = parse_file(info["name"], path.read_bytes())
        counts = save_parsed(require_org_id(), parsed)
        audit.record("intel.imported", resource_type="threat_intelligence", details={"file": info["name"], **counts})
        db.session.commit()
    finally:
        path.unlink(missing_ok=True)
        session.pop(SESSION_KEY, None)
    return render_page("threats/intel_import.html", form=IntelUploadForm(), preview=None, error=None,
                       result=counts, rejections=parsed.rejections, name=info["name"])


@bp.post("/intel/import/cancel")
@require("threats.manage")
def intel_import_cancel():
    """Drop a previewed upload."""
    staged = _staged()
    if staged:
        staged[1].unlink(missing_ok=True)
    session.pop(SESSION_KEY, None)
    return redirect(url_for("threats.intel"), code=303)
