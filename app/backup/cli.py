"""`vigil backup create|restore|list|prune|test-restore|seal-secret` (the blueprint's CLI group)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app

from app.backup import archive, restore, services
from app.backup.blueprint import bp
from app.crypto import encrypt_text
from app.models import db


@bp.cli.command("seal-secret")
def seal_secret() -> None:
    """Read the S3 secret key (hidden prompt or stdin) and print it sealed for VIGIL_BACKUP_S3_SECRET_SEALED."""
    secret = click.prompt("S3 secret key", hide_input=True).strip()
    if not secret:
        click.echo("An empty secret key.", err=True)
        sys.exit(2)
    click.echo(encrypt_text(secret))


@bp.cli.command("create")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the archive (default VIGIL_BACKUP_DIR or instance/backups).")
@click.option("--encrypt/--no-encrypt", default=None, help="Seal with the configured key (default VIGIL_BACKUP_ENCRYPT).")
def create(out_dir: Path | None, encrypt: bool | None) -> None:
    """Write one archive of Vigil: database dump, instance files and a manifest of SHA-256s."""
    try:
        row = services.create(out_dir, encrypt=encrypt, actor_label="vigil backup create")
    except archive.ArchiveError as exc:
        db.session.commit()
        click.echo(f"Backup failed: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Wrote {row.location} ({row.size} bytes, SHA-256 {row.sha256}).")


@bp.cli.command("restore")
@click.argument("archive_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--database-url", default=None, help="Target database (default: the configured one); must be empty.")
@click.option("--instance", "instance_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Target instance folder (default: Vigil's); must be empty.")
def restore_cmd(archive_path: Path, database_url: str | None, instance_dir: Path | None) -> None:
    """Restore an archive into an empty database and instance folder; refuses a newer head or a broken checksum."""
    url = sa.make_url(database_url) if database_url else db.engine.url
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    db.session.remove()
    db.engine.dispose()  # our own connection must not hold the target open
    try:
        manifest = restore.restore(archive_path, url, instance_dir or Path(current_app.instance_path))
    except archive.ArchiveError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"Restored {len(manifest['members'])} members from {archive_path} "
               f"(Vigil {manifest['vigil_version']}, migration head {', '.join(manifest['migration_heads'])}).")


@bp.cli.command("list")
def list_cmd() -> None:
    """Recorded backups, newest first."""
    for b in services.listing():
        click.echo(f"{b.created_at:%Y-%m-%d %H:%M} {b.status:7} {b.filename} {b.size} {b.sha256 or ''}")


@bp.cli.command("test-restore")
def test_restore_cmd() -> None:
    """Restore the latest backup into a scratch database and verify it now."""
    result = services.test_restore()
    db.session.commit()
    click.echo(("OK: " if result.ok else "FAILED: ") + result.message)
    sys.exit(0 if result.ok else 1)
