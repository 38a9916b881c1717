"""`vigil compliance ...` commands."""

from __future__ import annotations

from pathlib import Path

import click

from app import audit
from app.compliance import frameworks
from app.compliance.blueprint import bp
from app.models import db


@bp.cli.command("load-frameworks")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                default=frameworks.FRAMEWORKS_FILE)
def load_frameworks(path: Path) -> None:
    """Load (or refresh) the five frameworks' control catalogues and the finding-to-control map."""
    counts = frameworks.load_frameworks(path)
    audit.record("compliance.frameworks_loaded", resource_type="compliance_framework", actor_type="system",
                 actor_label="cli compliance load-frameworks", details={"file": path.name, **counts})
    db.session.commit()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
