"""`vigil wireless import PATH --org SLUG [--source CODE]`: the import job's code, in-process."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa

from app import audit
from app.models import Organization, db
from app.wireless import imports
from app.wireless.cli import wireless_cli


@wireless_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--source", "source_code", default=None,
              help="Device source code (created if new; default: 'wigle' or 'kismet' by format).")
def import_command(path: Path, org_slug: str, source_code: str | None) -> None:
    """Detect the file's format, import it and print rows read, imported, duplicate and rejected."""
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == org_slug,
                                                          Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {org_slug!r}")
    try:
        fmt = imports.detect(path)
    except imports.FormatError as exc:
        raise click.ClickException(f"{path.name} refused: {exc}") from None
    device_type = imports.DEVICE_TYPES[fmt]
    try:
        source = imports.resolve_source(org.id, new_code=source_code or device_type, device_type=device_type)
    except imports.SourceError as exc:
        raise click.UsageError(str(exc)) from None
    imp = imports.create_import(org.id, source, path.resolve(), path.name, fmt, None, stored=False)
    audit.record("wireless.import_started", resource_type="wireless_import", resource_id=imp.id, org_id=org.id,
                 actor_type="system", actor_label="cli wireless import",
                 details={"file": path.name, "format": fmt, "source": source.code, "size": imp.size_bytes})
    db.session.commit()
    click.echo(f"{path.name}: {imports.label(fmt)} into {org.slug}, source {source.code}", err=True)
    imp = imports.run_import(imp.id, path=path, progress=lambda pct, _msg: click.echo(f"  {pct}%", err=True))
    imports.score_touched(imp)
    audit.record("wireless.import_finished", resource_type="wireless_import", resource_id=imp.id, org_id=org.id,
                 actor_type="system", actor_label="cli wireless import",
                 details={"status": imp.status, "read": imp.rows_read, "imported": imp.rows_imported,
                          "duplicate": imp.rows_duplicate, "rejected": imp.rows_rejected})
    db.session.commit()
    click.echo(f"rows read:      {imp.rows_read}")
    click.echo(f"imported:       {imp.rows_imported}")
    click.echo(f"duplicate:      {imp.rows_duplicate}")
    click.echo(f"rejected:       {imp.rows_rejected}")
    click.echo(f"networks:       {imp.networks_touched}")
    if imp.rows_time_unknown:
        click.echo(f"time unknown:   {imp.rows_time_unknown} (stamped before 2000, kept without a time)")
    if imp.rows_rejected:
        click.echo(f"error report:   {imports.error_report_path(imp)}")
    if imp.status != "succeeded":
        raise click.ClickException(imp.message or "import failed")
