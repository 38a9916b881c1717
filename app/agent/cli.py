"""`vigil agent run` (the agent on a device) and `vigil agent simulate` (many fake devices)."""

from __future__ import annotations

import json
import logging
import sys

import click
from flask.cli import AppGroup

from app.fleet import services
from app.models import Organization, db
from vigil_agent.client import AgentHttpError
from vigil_agent.collect import HostCollector
from vigil_agent.config import StateFile, default_path
from vigil_agent.runner import Agent, AgentError
from vigil_agent.simulate import simulate as run_simulation

agent_cli = AppGroup("agent", help="The fleet agent and its simulator.")


@agent_cli.command("run", with_appcontext=False)
@click.option("--server", required=True, help="The Vigil server's base URL, e.g. https://vigil.example.")
@click.option("--claim-code", default=None, help="The one-time claim code (only needed the first time).")
@click.option("--once", is_flag=True, help="Enrol if needed, send one heartbeat, run due commands, then exit.")
@click.option("--config", "config_path", default=None,
              help="The agent's state file (default /etc/vigil-agent/agent.json as root, else ~/.config/vigil-agent/).")
@click.option("--re-enrol", "re_enrol", is_flag=True,
              help="Drop this host's saved enrolment and enrol again with --claim-code (e.g. for another server).")
@click.option("--verbose", is_flag=True)
def run(server: str, claim_code: str | None, once: bool, config_path: str | None, re_enrol: bool,
        verbose: bool) -> None:
    """Enrol this host (once), then send heartbeats and run allowed, signed commands."""
    logging.basicConfig(level=logging.INFO if verbose or not once else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    state_file = StateFile(config_path or default_path())
    try:
        agent = Agent(server, state_file, HostCollector())
        if re_enrol and not claim_code:
            raise AgentError("--re-enrol needs --claim-code: a new enrolment needs a new claim code")
        agent.ensure_enrolled(claim_code, re_enrol=re_enrol)
        agent.run(once=once)
    except AgentError as exc:
        click.echo(f"vigil agent: {exc}", err=True)
        sys.exit(3)
    except AgentHttpError as exc:
        click.echo(f"vigil agent: cannot reach the server: {exc}", err=True)
        sys.exit(4)
    except KeyboardInterrupt:
        pass
    if once:
        click.echo(f"device {agent.state.device_id}: heartbeat sent, commands polled ({state_file.path})")


@agent_cli.command("simulate")
@click.option("--devices", "count", type=click.IntRange(1, 10000), default=None,
              help="How many devices to create (with --org) and drive.")
@click.option("--interval", type=click.FloatRange(0, 3600), default=60.0, show_default=True,
              help="Seconds between heartbeats of each device.")
@click.option("--duration", type=click.FloatRange(0), default=None, help="Stop after this many seconds.")
@click.option("--ticks", type=click.IntRange(1), default=None, help="Stop after this many heartbeats per device.")
@click.option("--server", default=None,
              help="The Vigil server's base URL (default: VIGIL_PUBLIC_URL, the address users reach Vigil at).")
@click.option("--org", "org_slug", default=None, help="Create the devices and their claim codes in this organization.")
@click.option("--claim-code", "codes", multiple=True, help="Use existing claim codes instead (type:CODE or CODE).")
@click.option("--failure-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--seed", type=int, default=None)
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Devices sending at once (use 1 against a SQLite server, which allows one writer).")
def simulate(count, interval, duration, ticks, server, org_slug, codes, failure_rate, seed, workers) -> None:
    """Drive N simulated devices with drifting metrics and injected failures."""
    import sqlalchemy as sa
    from flask import current_app

    pairs = [(c.split(":", 1)[1], c.split(":", 1)[0]) if ":" in c and c.split(":", 1)[0] in ("scanner", "server")
             else (c, "scanner") for c in codes]
    if org_slug:
        org = db.session.scalar(sa.select(Organization).where(Organization.slug == org_slug,
                                                              Organization.deleted_at.is_(None)))
        if org is None:
            raise click.UsageError(f"no organization with slug {org_slug!r}")
        for i in range(count or 1):
            kind = "scanner" if i % 2 == 0 else "server"
            try:
                _, code = services.create_device(org.id, name=f"sim-{kind}-{i:04d}", device_type=kind,
                                                 tags=["simulated"], actor_label="cli agent simulate")
            except services.FleetError as exc:
                db.session.rollback()
                raise click.ClickException(str(exc)) from exc
            pairs.append((code, kind))
        db.session.commit()
    if not pairs:
        raise click.UsageError("give --org (with --devices) or --claim-code")
    if ticks is None and duration is None:
        raise click.UsageError("give --ticks or --duration")
    stats = run_simulation(server or current_app.config["PUBLIC_BASE_URL"], pairs, interval, ticks=ticks,
                           duration=duration, failure_rate=failure_rate, seed=seed, workers=workers)
    click.echo(json.dumps(stats.as_dict(), sort_keys=True))
