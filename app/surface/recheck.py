""""Verify fix": run again the one Lightbox test behind an open finding.

Same rules as a scan: the host must still be in scope of a verified domain and resolve to
an address probes may reach. A passing test marks the finding fixed (audited)."""

from __future__ import annotations

from urllib.parse import urlparse

from app import audit
from app.alerting.events import publish
from app.models import LightboxFinding, SurfaceDomain, db, utcnow
from app.surface import lightbox
from app.surface.domains import SurfaceError, in_scope
from app.surface.resolver import Resolver, TargetRefused, check_target

# finding type -> the test that produces it
TESTS = {
    **{t: lightbox.test_exposed_files for t in ("exposed_git", "exposed_env", "exposed_ds_store", "exposed_backup",
                                                "exposed_server_status")},
    "directory_listing": lightbox.test_directory_listing,
    "default_page": lightbox.test_default_page,
    "exposed_admin_panel": lightbox.test_admin_panels,
    **{t: lightbox.test_security_headers for t in ("missing_hsts", "missing_csp", "missing_nosniff",
                                                   "missing_referrer_policy", "missing_frame_options")},
    "weak_cookie_flags": lightbox.test_cookies,
    "cors_reflects_origin": lightbox.test_cors,
    "open_redirect": lightbox.test_open_redirect,
    "dangerous_http_methods": lightbox.test_methods,
    **{t: lightbox.test_disclosure for t in ("version_disclosure", "stack_trace_disclosure")},
}


def can_recheck(finding: LightboxFinding) -> bool:
    return finding.status == "open" and finding.finding_type in TESTS and bool(finding.url)


def recheck(finding: LightboxFinding, *, actor=None, actor_label: str | None = None) -> bool:
    """Run the finding's test again; True (and the finding fixed) when it now passes."""
    if not can_recheck(finding):
        raise SurfaceError("only open web-test findings can be re-checked one by one; rescan for the others")
    row = db.session.get(SurfaceDomain, finding.domain_id)
    url = urlparse(finding.url)
    host = (url.hostname or "").lower()
    if row is None or not in_scope(row, host):
        raise SurfaceError(f"{host} is not in scope of a verified domain any more")
    try:
        addresses = check_target(host, Resolver().addresses(host))
    except TargetRefused as exc:
        raise SurfaceError(str(exc)) from exc
    site = lightbox.Site(url.scheme, addresses[0], url.port or (443 if url.scheme == "https" else 80), host)
    home = lightbox.fetch(site, "/", limit=16384)
    if home is None:
        raise SurfaceError(f"{site.base} does not answer")
    # The finding's fingerprint is (type, host:port), so any failing result of its type keeps it open.
    still = any(not r.passed and r.finding_type == finding.finding_type
                for r in TESTS[finding.finding_type](site, home))
    now = utcnow()
    finding.last_seen_at = now if still else finding.last_seen_at
    if not still:
        finding.status, finding.fixed_at = "fixed", now
        publish("surface.findings_changed", org_id=finding.org_id, domain=row.domain, fixed=[finding])
    audit.record("surface.finding_rechecked", resource_type="lightbox_finding", resource_id=finding.id,
                 org_id=finding.org_id, new={"status": finding.status},
                 details={"type": finding.finding_type, "asset": finding.asset}, actor=actor,
                 actor_type=None if actor else "system", actor_label=actor_label)
    return not still

