"""`vigil wireless rescore`: the rescoring job's code, run from the shell."""

from __future__ import annotations

import click
import sqlalchemy as sa

from app import audit
from app.models import Organization, db
from app.wireless import rescore
from app.wireless.cli import wireless_cli


@wireless_cli.command("rescore")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--all", "everything", is_flag=True, help="Rescore every network, not only those with new data.")
def rescore_command(org_slug: str, everything: bool) -> None:
    """Score an organization's networks now and print how many landed at each level."""
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == org_slug,
                                                          Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {org_slug!r}")
    try:
        config = rescore.scoring_config(org.id)
    except ValueError as exc:
        raise click.ClickException(f"the organization's scoring settings are invalid: {exc}") from None
    del config
    result = rescore.rescore(org.id, everything=everything,
                             progress=lambda done, total: click.echo(f"  {done}/{total}", err=True))
    audit.record("wireless.rescored", resource_type="organization", resource_id=org.id, org_id=org.id,
                 actor_type="system", actor_label="cli wireless rescore",
                 details={"scored": result.scored, "levels": result.levels, "everything": everything})
    db.session.commit()
    click.echo(f"scored {result.scored} network(s) in {org.slug}")
    for level in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"):
        click.echo(f"  {level:<8} {(result.levels or {}).get(level, 0)}")
