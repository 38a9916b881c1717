"""`vigil wireless enrich` and `vigil wireless geocode`: the enrichment batches, run in this
process (handy from cron or a shell), with the same quota rules as the jobs. A CLI batch is
a background batch: at the WiGLE soft limit it waits like the scheduled one."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa

from app import audit
from app.models import Organization, db
from app.wireless.cli import wireless_cli
from app.wireless.geocoding import PROVIDER_NAMES, GeocoderError
from app.wireless.geocoding.batch import geocode_networks
from app.wireless.wigle.enrich import APIS, EnrichError, enrich, never_enriched_ids
from app.wireless.wigle.quota import quota_state


def org_by_slug(slug: str) -> Organization:
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == slug,
                                                          Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {slug!r}")
    return org


def _echo_progress(percent: int, message: str) -> None:
    click.echo(f"  {percent:3d}%  {message}")


@wireless_cli.command("enrich")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--limit", default=25, show_default=True, type=click.IntRange(1, 1000),
              help="At most this many never-enriched networks.")
@click.option("--api", default="v3", show_default=True, type=click.Choice(APIS), help="WiGLE API to use.")
def enrich_command(org_slug: str, limit: int, api: str) -> None:
    """Look up never-enriched Wi-Fi and Bluetooth networks on WiGLE, highest threat first."""
    org = org_by_slug(org_slug)
    state = quota_state(org.id)
    click.echo(f"WiGLE quota for {org.slug}: {state.used} used in 24 h (soft {state.soft}, hard {state.hard})")
    ids = never_enriched_ids(org.id, limit)
    audit.record("wireless.wigle_enrich_started", org_id=org.id, actor_type="cli",
                 actor_label="cli wireless enrich", details={"networks": len(ids), "api": api})
    db.session.commit()
    try:
        report = enrich(org.id, ids, user_requested=False, api=api, progress=_echo_progress)
    except EnrichError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    result = report.as_dict()
    audit.record("wireless.wigle_enrich_finished", org_id=org.id, actor_type="cli", actor_label="cli wireless enrich",
                 result="partial" if report.stopped else "success",
                 details={k: result[k] for k in ("enriched", "not_found", "failed", "skipped", "stopped")})
    db.session.commit()
    click.echo(result["message"])
    if report.stopped:
        sys.exit(3)


@wireless_cli.command("geocode")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000),
              help="At most this many uncached positions.")
@click.option("--provider", default="offline", show_default=True, type=click.Choice(PROVIDER_NAMES),
              help="Geocoder (online ones must be set up for the organization).")
@click.option("--scope", default="networks", show_default=True, type=click.Choice(("networks", "sightings")),
              help="Networks' best positions, or every sighting's position.")
def geocode_command(org_slug: str, limit: int, provider: str, scope: str) -> None:
    """Reverse-geocode network (or sighting) positions that have no cached answer yet."""
    org = org_by_slug(org_slug)
    audit.record("wireless.geocode_started", org_id=org.id, actor_type="cli", actor_label="cli wireless geocode",
                 details={"provider": provider, "limit": limit, "scope": scope})
    db.session.commit()
    try:
        report = geocode_networks(org.id, provider, limit=limit, progress=_echo_progress, scope=scope)
    except GeocoderError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    result = report.as_dict()
    audit.record("wireless.geocode_finished", org_id=org.id, actor_type="cli", actor_label="cli wireless geocode",
                 result="partial" if report.stopped else "success",
                 details={k: result[k] for k in ("provider", "geocoded", "no_result", "failed", "stopped")})
    db.session.commit()
    click.echo(result["message"])
    if report.stopped:
        sys.exit(3)
