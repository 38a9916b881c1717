"""`vigil surface ...`: the blueprint's own command group (Flask names it after the blueprint)."""

from __future__ import annotations

import json
import sys
import urllib.parse

import click
import sqlalchemy as sa

from app.models import Organization, db
from app.surface import domains, reports, scans
from app.surface.blueprint import bp
from app.surface.domains import SurfaceError
from app.surface.providers import ProviderError, fetch_kev, import_kev, kev_path, kev_status
from app.surface.settings import setting


def org_or_fail(slug: str) -> Organization:
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == slug,
                                                          Organization.deleted_at.is_(None)))
    if org is None:
        raise click.UsageError(f"no organization with slug {slug!r}")
    return org


def domain_or_fail(org: Organization, raw: str):
    try:
        row = domains.find_domain(org.id, domains.normalise_domain(raw))
    except SurfaceError as exc:
        raise click.UsageError(str(exc)) from exc
    if row is None:
        raise click.UsageError(f"{raw} is not listed for {org.slug}; run `vigil surface add-domain` first")
    return row


@bp.cli.command("add-domain")
@click.argument("domain")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
def add_domain(domain: str, org_slug: str) -> None:
    """List a domain for an organization and print its verification token."""
    org = org_or_fail(org_slug)
    try:
        row, token = domains.add_domain(org.id, domain, actor_label="cli surface add-domain")
    except SurfaceError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"{row.domain} listed for {org.slug}")
    click.echo(f"token: {token}")
    click.echo(f"prove ownership with a DNS TXT record at {row.domain} or _vigil.{row.domain}:")
    click.echo(f"  {domains.TXT_PREFIX}{token}")
    click.echo(f"or serve the token as https://{row.domain}{domains.WELL_KNOWN_PATH}")


@bp.cli.command("verify")
@click.argument("domain")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
def verify(domain: str, org_slug: str) -> None:
    """Check a domain's proof of ownership now (exit 1 when not proven)."""
    row = domain_or_fail(org_or_fail(org_slug), domain)
    ok = domains.verify(row, actor_label="cli surface verify")
    db.session.commit()
    if ok:
        click.echo(f"{row.domain}: verified ({row.verification_method})")
    else:
        click.echo(f"{row.domain}: not verified: {row.last_check_error}", err=True)
        sys.exit(1)


@bp.cli.command("scan")
@click.argument("domain")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--active", is_flag=True, help="Also probe ports, TLS and web (verified domains only).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
def scan(domain: str, org_slug: str, active: bool, as_json: bool) -> None:
    """Scan a domain in this process and store the result."""
    row = domain_or_fail(org_or_fail(org_slug), domain)
    progress = (lambda pct, msg: None) if as_json else (lambda pct, msg: click.echo(f"[{pct:3d}%] {msg}", err=True))
    try:
        history = scans.execute(row.id, active=active, progress=progress)
    except SurfaceError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(2)
    db.session.commit()
    result = history.results_json
    if as_json:
        click.echo(json.dumps(scans.summary_json(result), default=str))
        return
    click.echo(f"{result['domain']}: risk {result['risk']['score']} ({result['risk']['level']}), "
               f"{len(result['subdomains'])} subdomains, {len(result['open_ports'])} open ports, "
               f"{len(result['findings'])} findings")
    for finding in result["findings"]:
        click.echo(f"  {finding['severity']:8} {finding['type']:28} {finding['asset']}")


@bp.cli.command("kev-import", help=(
    "Refresh CISA's Known Exploited Vulnerabilities catalogue from SOURCE: a downloaded "
    "known_exploited_vulnerabilities.json, or an http(s) URL (default: the VIGIL_SURFACE_KEV_URL "
    "setting, CISA's feed). Vigil ships the complete catalogue as of its newest entry (see "
    "data/surface/README.md); CVEs CISA adds later are flagged KEV once it is refreshed. Writes "
    "VIGIL_SURFACE_KEV_FILE (default data/surface/kev.json)."))
@click.argument("source", required=False)
def kev_import(source: str | None) -> None:
    """Replace the KEV copy with CISA's current catalogue from a file path or URL."""
    source = source or str(setting("SURFACE_KEV_URL"))
    try:
        if urllib.parse.urlparse(source).scheme in ("http", "https"):
            document = fetch_kev(source)
        else:
            with open(source, encoding="utf-8") as handle:
                document = json.load(handle)
        count = import_kev(document, origin=source)
    except OSError as exc:
        raise click.UsageError(f"cannot read {source}: {exc}") from exc
    except (ValueError, ProviderError) as exc:
        raise click.UsageError(f"not a KEV catalogue: {exc}") from exc
    status = kev_status()
    click.echo(f"{count} KEV entries (catalogue {status['catalog_version'] or 'version unknown'}) "
               f"written to {kev_path()}" + (" - still PARTIAL: the document lists fewer entries than it counts"
                                             if status["partial"] else ""))


@bp.cli.command("report")
@click.argument("domain")
@click.option("--org", "org_slug", required=True, help="Organization slug.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the report: FILE.pdf, or FILE.json for the document.")
def report(domain: str, org_slug: str, out: str) -> None:
    """Write a vulnerability report from the domain's newest scan (PDF or JSON, offline)."""
    row = domain_or_fail(org_or_fail(org_slug), domain)
    try:
        created = reports.create(row, actor_label="cli surface report")
    except SurfaceError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(2)
    db.session.commit()
    if out.lower().endswith(".json"):
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(created.report_json, handle, indent=1)
    else:
        with open(out, "wb") as handle:
            handle.write(reports.render_pdf(created))
    click.echo(f"report {created.id}: risk {created.risk_score} ({created.risk_level}) -> {out}")
