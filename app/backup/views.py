"""The admin page of Vigil's own backups: archives, their checks and restore tests."""

from __future__ import annotations

from flask import flash
from flask_login import current_user

from app import audit
from app.backup import services
from app.backup.blueprint import bp
from app.jobs import enqueue
from app.models import db
from app.permissions import require
from app.rendering import redirect_after_post, render_page


@bp.get("/")
@require("backup.manage")
def index():
    """Backups, newest first, with their SHA-256 and the restore tests."""
    return render_page("backup/index.html", backups=services.listing(), tests=services.restore_tests(),
                       policy=services.policy(), directory=services.backup_dir())


@bp.post("/run")
@require("backup.manage")
def run():
    """Queue a backup now."""
    run_ = enqueue("backup.create", org_id=None, requested_by_id=current_user.id)
    audit.record("backup.requested", resource_type="job_run", resource_id=run_.id)
    db.session.commit()
    flash("Backup queued.", "success")
    return redirect_after_post("backup.index")


@bp.post("/restore-test")
@require("backup.manage")
def run_restore_test():
    """Queue a restore test of the latest backup now."""
    run_ = enqueue("backup.restore_test", org_id=None, requested_by_id=current_user.id)
    audit.record("backup.restore_test_requested", resource_type="job_run", resource_id=run_.id)
    db.session.commit()
    flash("Restore test queued.", "success")
    return redirect_after_post("backup.index")
