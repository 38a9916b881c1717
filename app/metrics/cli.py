"""`vigil metrics ...` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app import audit
from app.metrics import catalogs, services
from app.models import Organization, db

metrics_cli = AppGroup("metrics", help="Security metrics and the NIST CSF reference.")


@metrics_cli.command("load-framework")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=services.CSF_FILE)
@click.option("--name", default=services.CSF_NAME, show_default=True)
@click.option("--version", "version", default=services.CSF_VERSION, show_default=True)
def load_framework(path: Path, name: str, version: str) -> None:
    """Load (or refresh) a framework's functions, categories and subcategories from JSON."""
    counts = services.load_framework(path, name, version)
    audit.record("framework.loaded", resource_type="framework", actor_type="system",
                 actor_label="cli load-framework", details={"file": path.name, "name": name, **counts})
    db.session.commit()
    click.echo(f"{name} {version}: {counts['functions']} functions, {counts['categories']} categories, "
               f"{counts['subcategories']} subcategories, {counts['implementation_examples']} examples")


@metrics_cli.command("add-default-catalog")
@click.option("--org", "slug", required=True, help="The organization's slug.")
def add_default_catalog(slug: str) -> None:
    """Add the built-in catalog of security metrics (with mapping suggestions) to an organization."""
    import sqlalchemy as sa

    org = db.session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if org is None:
        raise click.ClickException(f"No organization {slug!r}.")
    if services.current_framework() is None:
        raise click.ClickException("No framework is loaded: run `vigil metrics load-framework` first.")
    catalog = catalogs.create_default_catalog(org.id, None)
    db.session.commit()
    click.echo(f"Catalog {catalog.id} ({catalog.name}): {len(catalog.items)} metrics for {slug}; "
               "review and activate it on the Catalogs page.")
