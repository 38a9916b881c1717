"""`vigil fleet alert-defaults`: give existing organizations the default alert rules."""

from __future__ import annotations

import click
import sqlalchemy as sa

from app.fleet.alert_rules import ensure_default_rules
from app.fleet.cli import fleet_cli
from app.models import Organization, db


@fleet_cli.command("alert-defaults")
@click.option("--org", "org_slug", default=None, help="Organization slug (default: every organization).")
def alert_defaults(org_slug: str | None) -> None:
    """Add the default alert rules to organizations that have none (audited)."""
    stmt = sa.select(Organization).where(Organization.deleted_at.is_(None)).order_by(Organization.id)
    if org_slug:
        stmt = stmt.where(Organization.slug == org_slug)
    orgs = db.session.scalars(stmt).all()
    if org_slug and not orgs:
        raise click.ClickException(f"No organization with slug {org_slug!r}.")
    for org in orgs:
        added = ensure_default_rules(org.id)
        click.echo(f"{org.slug}: {added} rule(s) added" if added else f"{org.slug}: already has rules")
    db.session.commit()
