"""`vigil wireless load-agency-offices | load-manufacturers | set-home`: reference data and
scripted set-ups, running the same services as the pages."""

from __future__ import annotations

import time
from pathlib import Path

import click
import sqlalchemy as sa

from app import audit
from app.models import Organization, db
from app.models.wireless import DeviceSource
from app.wireless import places, reference
from app.wireless.cli import wireless_cli

CLI_ACTOR = {"actor_type": "system"}
WHEN = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]


def _org(slug: str) -> Organization:
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == slug, Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {slug!r}")
    return org


@wireless_cli.command("load-agency-offices")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_agency_offices(path: Path | None) -> None:
    """Load agency offices from a CSV (default: the FBI field offices in data/wireless/); idempotent."""
    path = path or reference.FBI_OFFICES
    parsed, added, updated = reference.load_offices_file(path)
    if parsed.errors:
        for line, reason in parsed.errors[:50]:
            click.echo(f"  line {line}: {reason}", err=True)
        raise click.ClickException(f"{len(parsed.errors)} bad line(s) in {path}; nothing was saved")
    audit.record("wireless.agency_offices_loaded", resource_type="agency_office", actor_label="cli wireless load-agency-offices",
                 details={"file": path.name, "rows": len(parsed.rows), "added": added, "updated": updated}, **CLI_ACTOR)
    db.session.commit()
    click.echo(f"{len(parsed.rows)} office(s) in {path.name}: {added} added, {updated} updated")


@wireless_cli.command("load-manufacturers")
def load_manufacturers() -> None:
    """Fill radio_manufacturers from the IEEE OUI registry shipped by netaddr; idempotent."""
    started = time.perf_counter()
    added, updated, total = reference.load_manufacturers()
    audit.record("wireless.manufacturers_loaded", resource_type="radio_manufacturer",
                 actor_label="cli wireless load-manufacturers",
                 details={"registry": total, "added": added, "updated": updated}, **CLI_ACTOR)
    db.session.commit()
    click.echo(f"{total} registry prefixes: {added} added, {updated} updated "
               f"({time.perf_counter() - started:.1f} s)")


@wireless_cli.command("set-home")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--lat", required=True, type=float, help="Latitude, -90 to 90.")
@click.option("--lon", required=True, type=float, help="Longitude, -180 to 180.")
@click.option("--radius-km", type=float, default=0.5, show_default=True, help="Home radius in km.")
@click.option("--name", default="Home", show_default=True)
def set_home(org_slug: str, lat: float, lon: float, radius_km: float, name: str) -> None:
    """Set an organization's home (replacing any previous one) for scripted set-ups."""
    org = _org(org_slug)
    try:
        home = places.set_home(org.id, lat, lon, radius_km, name, actor_label="cli wireless set-home", **CLI_ACTOR)
    except places.PlaceError as exc:
        raise click.BadParameter(str(exc)) from None
    db.session.commit()
    click.echo(f"home of {org.slug}: {home.lat:.6f}, {home.lon:.6f}, radius {home.radius_km:g} km "
               "(networks marked for rescore)")


@wireless_cli.command("build-route")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--source", "source_code", required=True, help="Device source code.")
@click.option("--from", "start", required=True, type=click.DateTime(WHEN), help="Window start (UTC).")
@click.option("--to", "end", required=True, type=click.DateTime(WHEN), help="Window end (UTC).")
@click.option("--name", default=None, help="Route name (default: source and start time).")
def build_route(org_slug: str, source_code: str, start, end, name: str | None) -> None:
    """Build a route from one device source's sightings between two UTC times."""
    from datetime import UTC

    org = _org(org_slug)
    source = db.session.scalar(sa.select(DeviceSource).where(DeviceSource.org_id == org.id,
                                                             DeviceSource.code == source_code))
    if source is None:
        raise click.UsageError(f"{org.slug} has no device source {source_code!r}")
    try:
        route = places.build_route(org.id, source, start.replace(tzinfo=UTC), end.replace(tzinfo=UTC), name,
                                   actor_label="cli wireless build-route", **CLI_ACTOR)
    except places.PlaceError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"route {route.id} {route.name!r}: {route.point_count} sightings, {route.distance_km:.2f} km, "
               f"{route.duration_seconds // 60} min, {len(route.path)} path points")
