"""`vigil fleet ...` commands."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.fleet import services, signing
from app.models import Organization, db
from app.models.fleet import DEVICE_TYPES

fleet_cli = AppGroup("fleet", help="Fleet operations: devices and enrolment.")


@fleet_cli.command("claim-code")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--name", required=True, help="Device name.")
@click.option("--type", "device_type", required=True, type=click.Choice(DEVICE_TYPES))
@click.option("--server", default=None,
              help="The address devices reach this server at, for the install command (default: VIGIL_PUBLIC_URL).")
def claim_code(org_slug: str, name: str, device_type: str, server: str | None) -> None:
    """Create a device and print its one-time claim code (valid 24 hours)."""
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == org_slug,
                                                          Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {org_slug!r}")
    try:
        device, code = services.create_device(org.id, name=name, device_type=device_type,
                                              actor_label="cli fleet claim-code")
    except services.FleetError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"device {device.id} ({name}, {device_type}) in {org.slug}")
    click.echo(f"claim code: {code}  (valid {services.CLAIM_CODE_HOURS} h, single use)")
    guessed = False
    if not server:
        server, guessed = services.public_base_url()
    click.echo(f"install: {services.install_command(code, server)}")
    if guessed:
        click.echo(f"note: VIGIL_PUBLIC_URL is not set, so {server} is a guess; set it (or pass --server) "
                   "to the address devices reach this server at.", err=True)


@fleet_cli.command("signing-key")
@click.option("--generate", is_flag=True, help="Print a new private key for VIGIL_FLEET_SIGNING_KEY instead.")
def signing_key(generate: bool) -> None:
    """Print the public key agents verify commands with (or generate a new private key)."""
    if generate:
        click.echo(f"VIGIL_FLEET_SIGNING_KEY={signing.new_seed()}")
        click.echo("Enrolled agents keep the public key they were given: re-enrol them after changing it.", err=True)
        return
    click.echo(signing.public_key())
