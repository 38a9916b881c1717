"""`vigil exposure ...` commands (the blueprint's own CLI group)."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa

from app import audit
from app.exposure import importer, uploads
from app.exposure.blueprint import bp
from app.models import Organization, db

LABEL = "cli exposure import-breach"


@bp.cli.command("import-breach")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="Organization slug.")
def import_breach(path: Path, org_slug: str) -> None:
    """Import a breach or combolist file in-process and print read/imported/duplicate/rejected/matched."""
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == org_slug,
                                                          Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {org_slug!r}")
    try:
        with open(path, "rb") as fh:
            row = uploads.receive(org.id, None, path.name, uploads.chunks_of(fh))
    except uploads.AlreadyImported as exc:
        db.session.rollback()
        old = exc.upload
        click.echo(f"{path.name}: {exc}; nothing added", err=True)
        click.echo(f"read={old.line_count} imported=0 duplicate={old.records_count + old.duplicate_count} "
                   f"rejected={old.rejected_count} matched=0")
        return
    except uploads.UploadRefused as exc:
        db.session.rollback()
        raise click.ClickException(f"{path.name} refused: {exc}") from None
    audit.record("exposure.upload_received", resource_type="uploaded_breach_file", resource_id=row.id,
                 org_id=org.id, actor_type="system", actor_label=LABEL,
                 details={"file": row.filename, "size": row.file_size, "sha256": row.content_hash})
    db.session.commit()
    row = importer.run_import(row.id, progress=lambda pct, _msg: click.echo(f"  {pct}%", err=True))
    audit.record("exposure.import_finished", resource_type="uploaded_breach_file", resource_id=row.id,
                 org_id=org.id, actor_type="system", actor_label=LABEL,
                 details={"status": row.processing_status, "read": row.line_count, "imported": row.records_count,
                          "duplicate": row.duplicate_count, "rejected": row.rejected_count,
                          "matched": row.matched_count})
    db.session.commit()
    if row.rejected_count:
        click.echo(f"reject report: {uploads.report_path(row)}", err=True)
    if row.processing_status != "completed":
        raise click.ClickException(row.processing_error or "import failed")
    click.echo(importer.summary(row))
