"""`vigil metrics ...` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app import audit
from app.metrics import services
from app.models import db

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
