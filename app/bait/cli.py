"""`vigil bait ...` commands (the blueprint's own CLI group)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import click
from flask import current_app

from app.bait import artifacts, dns_server, kinds, pg_listener, services, settings
from app.bait.blueprint import bp
from app.models import db

LABEL = "cli bait"


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter("HOST:PORT, e.g. 0.0.0.0:53")
    return host.strip("[]"), int(port)


def org_or_fail(slug: str):
    org = services.org_by_slug(slug)
    if org is None:
        raise click.UsageError(f"no organization with slug {slug!r}")
    return org


def trigger_of(token, out_dir: Path) -> tuple[str, str | None]:
    """(the trigger to show, the bait file written, if the kind has one)."""
    secret = services.secret_of(token)
    if token.bait_type in kinds.WEB_KINDS:
        trigger = kinds.token_url(token.identifier)
    elif token.bait_type == "postgres":
        trigger = artifacts.snippet(token, secret)
    else:
        trigger = token.trigger
    if token.bait_type in ("url", "image", "dns"):
        return trigger, None
    name, _media, content = artifacts.artifact(token, secret)
    path = out_dir / f"{token.identifier}-{name.lstrip('.')}"
    path.write_bytes(content)
    path.chmod(0o600)
    return trigger, str(path)


@bp.cli.command("create")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--type", "kind", required=True, type=click.Choice(list(kinds.KINDS)), help="Token kind.")
@click.option("--name", required=True, help="What the token is called on its page and in alerts.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where the bait file is written (kinds that have one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create(org_slug: str, kind: str, name: str, out_dir: Path, as_json: bool) -> None:
    """Create a canary token; print its identifier and trigger (URL, hostname or file path)."""
    org = org_or_fail(org_slug)
    try:
        token = services.create_token(org.id, kind, name, actor_label=LABEL)
    except services.BaitError as exc:
        raise click.UsageError(str(exc)) from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    trigger, path = trigger_of(token, out_dir)
    db.session.commit()
    if as_json:
        click.echo(json.dumps({**services.as_json(token), "url": trigger, "file": path}))
        return
    click.echo(f"identifier {token.identifier}\ntrigger    {trigger}" + (f"\nfile       {path}" if path else ""))


@bp.cli.command("list")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_tokens(org_slug: str, as_json: bool) -> None:
    """List an organization's canary tokens with status, hits and threat level."""
    rows = [services.as_json(t) for t in services.org_tokens(org_or_fail(org_slug).id)]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(f"{r['identifier']}  {r['type']:<10} {r['status']:<9} {r['access_count']:>5}  "
                   f"{r['threat_level'] or '-':<8} {r['name']}")


def wait_for_signal() -> None:
    stop = {"now": False}

    def handler(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop["now"]:
        signal.pause()


@bp.cli.command("dns-server")
@click.option("--listen", required=True, help="HOST:PORT to answer DNS on (UDP).")
@click.option("--zone", default=None, help="The bait zone (default VIGIL_BAIT_DNS_ZONE).")
@click.option("--answer", default="127.0.0.1", show_default=True, help="The A record given for token names.")
def dns_server_command(listen: str, zone: str | None, answer: str) -> None:
    """Answer for the bait zone and log every query that carries a DNS token."""
    host, port = host_port(listen)
    zone = zone or settings.dns_zone()
    if not zone:
        raise click.UsageError("no zone: pass --zone or set VIGIL_BAIT_DNS_ZONE")
    server = dns_server.start(current_app._get_current_object(), host, port, zone, answer)
    click.echo(f"answering for {zone} on {host}:{port} (udp)")
    wait_for_signal()
    dns_server.stop(server)


@bp.cli.command("pg-listener")
@click.option("--listen", required=True, help="HOST:PORT to accept PostgreSQL connections on.")
def pg_listener_command(listen: str) -> None:
    """Accept PostgreSQL connections, log the bait user and database, refuse authentication."""
    host, port = host_port(listen)
    server = pg_listener.start(current_app._get_current_object(), host, port)
    click.echo(f"listening for PostgreSQL on {host}:{port}")
    wait_for_signal()
    server.shutdown()
    server.server_close()
