"""An organization's domains: listing, proof of ownership, scope and schedules.

A domain is proven by a DNS TXT record `vigil-verification=TOKEN` at the domain or at
`_vigil.DOMAIN`, or by the file `/.well-known/vigil-verification.txt` holding the token
over HTTP(S). Only a verified domain (and its subdomains, minus the exclusions) is ever
actively probed; the proof is checked again every week (`surface.reverify`).
"""

from __future__ import annotations

import http.client
import re
import secrets
from datetime import timedelta

import sqlalchemy as sa

from app import audit
from app.alerting.events import publish
from app.crypto import decrypt_text, encrypt_text
from app.models import SurfaceDomain, db, utcnow
from app.surface import httpclient
from app.surface.resolver import Resolver, TargetRefused, check_target
from app.surface.settings import setting

TXT_PREFIX = "vigil-verification="
WELL_KNOWN_PATH = "/.well-known/vigil-verification.txt"
REVERIFY_DAYS = 7
SCHEDULE_INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+[a-z]{{2,63}}$")


class SurfaceError(Exception):
    """A rule of the attack-surface domain was not met; the message is for the user."""


def normalise_domain(raw: str) -> str:
    """A bare, lower-case domain name, or SurfaceError."""
    domain = (raw or "").strip().lower().rstrip(".")
    domain = re.sub(r"^https?://", "", domain).split("/", 1)[0]
    if len(domain) > 253 or not DOMAIN_RE.match(domain):
        raise SurfaceError(f"{raw!r} is not a domain name (like example.com)")
    return domain


def normalise_exclusions(lines: list[str], domain: str) -> list[str]:
    """Exclusions are hosts under the domain (`*.x.domain` excludes a subtree)."""
    out: list[str] = []
    for raw in lines:
        item = raw.strip().lower().rstrip(".")
        if not item:
            continue
        bare = item[2:] if item.startswith("*.") else item
        if not DOMAIN_RE.match(bare) or not in_domain(bare, domain):
            raise SurfaceError(f"exclusion {raw!r} is not a host under {domain}")
        out.append(item)
    return sorted(set(out))


def in_domain(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def in_scope(row: SurfaceDomain, host: str) -> bool:
    """May `host` be actively probed for this domain? Verified, under it, not excluded."""
    host = host.lower().rstrip(".")
    if row.state != "verified" or not in_domain(host, row.domain):
        return False
    for item in row.scope_exclusions or []:
        if item.startswith("*.") and in_domain(host, item[2:]):
            return False
        if host == item:
            return False
    return True


def token_of(row: SurfaceDomain) -> str:
    return decrypt_text(row.verification_token_enc)


def txt_record(row: SurfaceDomain) -> str:
    return TXT_PREFIX + token_of(row)


def find_domain(org_id: int, domain: str) -> SurfaceDomain | None:
    return db.session.scalar(sa.select(SurfaceDomain).where(
        SurfaceDomain.org_id == org_id, SurfaceDomain.domain == domain, SurfaceDomain.deleted_at.is_(None)))


def add_domain(org_id: int, raw: str, *, actor=None, actor_label: str | None = None) -> tuple[SurfaceDomain, str]:
    """List a domain for the organization; returns the row and its verification token."""
    domain = normalise_domain(raw)
    if find_domain(org_id, domain) is not None:
        raise SurfaceError(f"{domain} is already listed")
    deleted = db.session.scalar(sa.select(SurfaceDomain).where(SurfaceDomain.org_id == org_id,
                                                               SurfaceDomain.domain == domain))
    token = secrets.token_urlsafe(24)
    if deleted is not None:  # listed again after removal: a fresh token, a fresh proof
        row = deleted
        row.deleted_at = None
        row.state, row.verified_at, row.verification_method = "pending", None, None
        row.verification_token_enc = encrypt_text(token)
    else:
        row = SurfaceDomain(org_id=org_id, domain=domain, verification_token_enc=encrypt_text(token),
                            created_by_id=getattr(actor, "id", None))
        db.session.add(row)
    db.session.flush()
    audit.record("surface.domain_added", resource_type="surface_domain", resource_id=row.id, org_id=org_id,
                 new={"domain": domain}, actor=actor, actor_type=None if actor else "system",
                 actor_label=actor_label)
    return row, token


def remove_domain(row: SurfaceDomain, *, actor=None) -> None:
    row.soft_delete()
    row.scan_schedule, row.next_scan_at = "off", None
    audit.record("surface.domain_removed", resource_type="surface_domain", resource_id=row.id, org_id=row.org_id,
                 old={"domain": row.domain}, actor=actor)


def set_scope(row: SurfaceDomain, exclusions: list[str], schedule: str, *, actor=None) -> None:
    """Change the exclusion list and the rescan schedule (audited with what changed)."""
    old = {"scope_exclusions": list(row.scope_exclusions or []), "scan_schedule": row.scan_schedule}
    row.scope_exclusions = normalise_exclusions(exclusions, row.domain)
    if schedule not in ("off", *SCHEDULE_INTERVALS):
        raise SurfaceError("schedule must be off, daily or weekly")
    if schedule != row.scan_schedule:
        row.scan_schedule = schedule
        row.next_scan_at = None if schedule == "off" else utcnow() + SCHEDULE_INTERVALS[schedule]
    new = {"scope_exclusions": row.scope_exclusions, "scan_schedule": row.scan_schedule}
    before, after = audit.changes(old, new)
    if after:
        audit.record("surface.domain_scope_changed", resource_type="surface_domain", resource_id=row.id,
                     org_id=row.org_id, old=before, new=after, actor=actor)


# ---------------------------------------------------------------- verification

def check_dns(row: SurfaceDomain, resolver: Resolver) -> bool:
    expected = txt_record(row)
    for name in (row.domain, f"_vigil.{row.domain}"):
        if any(value.strip() == expected for value in resolver.lookup(name, "TXT").values):
            return True
    return False


def check_http(row: SurfaceDomain, resolver: Resolver) -> tuple[bool, str | None]:
    """Fetch the well-known file over HTTPS, then HTTP; the body must be the token."""
    token = token_of(row)
    try:
        addresses = check_target(row.domain, resolver.addresses(row.domain))
    except TargetRefused as exc:
        return False, str(exc)
    timeout = float(setting("SURFACE_CONNECT_TIMEOUT")) * 2
    last_error = None
    for scheme, port in (("https", setting("SURFACE_HTTPS_PORT")), ("http", setting("SURFACE_HTTP_PORT"))):
        try:
            response = httpclient.request(scheme, addresses[0], int(port), row.domain, WELL_KNOWN_PATH,
                                          limit=4096, timeout=timeout)
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{scheme}: {type(exc).__name__}"
            continue
        if response.status == 200 and response.text.strip() == token:
            return True, None
        last_error = f"{scheme}: the file does not hold the token"
    return False, last_error


def verify(row: SurfaceDomain, *, resolver: Resolver | None = None, actor=None,
           actor_label: str | None = None) -> bool:
    """Check the proof now (DNS TXT first, then the HTTP file); audited when the state changes."""
    resolver = resolver or Resolver()
    method, error = None, None
    if check_dns(row, resolver):
        method = "dns_txt"
    else:
        ok, error = check_http(row, resolver)
        method = "http_file" if ok else None
    now = utcnow()
    old_state = row.state
    row.last_checked_at = now
    if method:
        row.state, row.verification_method, row.last_check_error = "verified", method, None
        if old_state != "verified":
            row.verified_at = now
    else:
        row.state = "failed" if old_state == "verified" or old_state == "failed" else "pending"
        row.last_check_error = ("no TXT record " + TXT_PREFIX + "... at the domain or _vigil, and "
                                + (error or "no verification file"))[:500]
    if row.state != old_state:
        # Lost proof stops active scans: the surface alert rules tell the admins (and resolve
        # when the domain is verified again).
        publish("surface.domain_verification_changed", row=row, old_state=old_state)
    if row.state != old_state:
        audit.record("surface.domain_verification", resource_type="surface_domain", resource_id=row.id,
                     org_id=row.org_id, old={"state": old_state}, new={"state": row.state, "method": method},
                     actor=actor, actor_type=None if actor else "system", actor_label=actor_label)
    return method is not None


def domains_due_reverify() -> list[int]:
    cutoff = utcnow() - timedelta(days=REVERIFY_DAYS)
    return list(db.session.scalars(sa.select(SurfaceDomain.id).where(
        SurfaceDomain.deleted_at.is_(None), SurfaceDomain.state == "verified",
        sa.or_(SurfaceDomain.last_checked_at.is_(None), SurfaceDomain.last_checked_at < cutoff))))


def has_reverify_work() -> bool:
    return bool(domains_due_reverify())


def domains_due_scan() -> list[int]:
    return list(db.session.scalars(sa.select(SurfaceDomain.id).where(
        SurfaceDomain.deleted_at.is_(None), SurfaceDomain.scan_schedule != "off",
        SurfaceDomain.next_scan_at <= utcnow())))


def has_due_scans() -> bool:
    return bool(domains_due_scan())
