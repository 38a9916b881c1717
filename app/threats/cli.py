"""`vigil threats ...` commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app import audit
from app.models import Organization, db
from app.threats.importers import ImportFormatError, parse_file
from app.threats.intel import save_parsed

threats_cli = AppGroup("threats", help="Identity and threat operations.")


@threats_cli.command("import-intel")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="Organization slug.")
def import_intel(path: Path, org_slug: str) -> None:
    """Import a STIX 2.1 bundle, MISP event or CSV of indicators into an organization."""
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == org_slug,
                                                          Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {org_slug!r}")
    try:
        parsed = parse_file(path.name, path.read_bytes())
    except ImportFormatError as exc:
        click.echo(f"{path.name}: {exc}", err=True)
        sys.exit(2)
    counts = save_parsed(org.id, parsed)
    audit.record("intel.imported", resource_type="threat_intelligence", org_id=org.id, actor_type="system",
                 actor_label="cli import-intel", details={"file": path.name, **counts})
    db.session.commit()
    click.echo(f"{parsed.format}: read {counts['read']}, imported {counts['imported']} new, "
               f"updated {counts['updated']} already known, {counts['duplicates']} repeated within the file "
               f"(saved once), rejected {counts['rejected']}")
    for rejection in parsed.rejections:
        click.echo(f"  rejected {rejection.row}: {rejection.reason}")
