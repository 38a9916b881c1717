"""Monitored e-mails: adding them (own domains at once, others after their owner confirms a
signed link), and the recheck that turns new provider and corpus hits into findings.

A recheck asks every source that searches e-mail addresses (`RECHECK_SOURCES`: the local
corpus, the breach services, GitHub code search and the paste search); a source without its
key, rate limited or down is skipped until the next recheck. Only Vigil's own intelligence and
security events are left out: they are not exposure (the threats pages show them).

A finding is unique per (source, breach, address), a paste per (source, paste id, address):
`dedupe_key` is the SHA-256 of the three, unique per monitored address in the database, so a
recheck that sees the same breach or paste adds nothing and notifies nobody. New findings of
one address are notified once, together. Severity: passwords or credentials leaked (in a
breach, a breach file, or a paste or code that carries them) -> high; otherwise a breach of a
million accounts or more, or one from the last year -> medium; else low.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import audit
from app.alerting.events import publish
from app.exposure.matching import org_domains
from app.exposure.parse import normalise_email
from app.exposure.providers import PROVIDERS
from app.exposure.providers.base import Context, Hit, Query, run_provider
from app.models import Organization, db, utcnow
from app.models.exposure import MONITOR_SCOPES, MonitoredEmail, MonitoredEmailFinding
from app.outbound.http import option

CONFIRM_SALT = "vigil-exposure-monitor-confirm"
NOT_EXPOSURE = ("vigil",)  # Vigil's own indicators and security events
RECHECK_SOURCES = tuple(key for key, p in PROVIDERS.items() if "email" in p.types and key not in NOT_EXPOSURE)
HIGH_CLASSES = {"passwords", "password", "credentials"}
FINDING_TYPES = {"paste": "paste", "credential": "credential_leak", "code": "code"}  # else "breach"
MILLION = 1_000_000


class MonitorError(ValueError):
    """The address cannot be monitored as asked (message for the form)."""


# Who sees an address and its findings: "company" everyone in the organization, "analyst"
# analysts and admins, "admin" admins only.
SCOPES_FOR_ROLE = {
    "super_admin": MONITOR_SCOPES, "admin": MONITOR_SCOPES, "analyst": ("company", "analyst"),
    "operator": ("company",), "read_only": ("company",),
}


def visible_scopes(role: str) -> tuple[str, ...]:
    return SCOPES_FOR_ROLE.get(role, ("company",))


def recheck_hours() -> int:
    return int(option("EXPOSURE_RECHECK_HOURS", 24))


def confirm_days() -> int:
    return int(option("EXPOSURE_CONFIRM_DAYS", 7))


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT)


def confirmation_token(row: MonitoredEmail) -> str:
    return serializer().dumps({"id": row.id, "email": row.email_address})


def read_token(token: str) -> MonitoredEmail:
    """The pending address the token names, or MonitorError (expired, forged, or gone)."""
    try:
        data = serializer().loads(token, max_age=confirm_days() * 86400)
    except SignatureExpired:
        raise MonitorError("This confirmation link has expired; ask for a new one.") from None
    except BadSignature:
        raise MonitorError("This confirmation link is not valid.") from None
    row = db.session.get(MonitoredEmail, int(data.get("id", 0)))
    if row is None or row.deleted_at is not None or row.email_address != data.get("email"):
        raise MonitorError("This address is no longer waiting for confirmation.")
    return row


def add(org_id: int, user_id: int, email: str, scope: str) -> MonitoredEmail:
    """Add an address; on the organization's domains it is confirmed at once."""
    address = normalise_email(email or "")
    if address is None:
        raise MonitorError("Enter a valid e-mail address.")
    if scope not in MONITOR_SCOPES:
        raise MonitorError("Choose a scope.")
    existing = db.session.scalar(sa.select(MonitoredEmail).where(
        MonitoredEmail.org_id == org_id, MonitoredEmail.email_address == address))
    if existing is not None and existing.deleted_at is None:
        raise MonitorError("This address is already monitored.")
    own = address.rsplit("@", 1)[1] in org_domains(db.session.get(Organization, org_id))
    row = existing or MonitoredEmail(org_id=org_id, email_address=address)
    row.deleted_at, row.is_active, row.monitor_scope = None, True, scope
    row.created_by_user_id, row.user_id = user_id, user_id
    row.confirmed_at = utcnow() if own else None
    db.session.add(row)
    db.session.flush()
    return row


def severity(hit: Hit, today: date | None = None) -> str:
    classes = {c.lower() for c in hit.data_classes}
    if hit.kind == "credential" or classes & HIGH_CLASSES:
        return "high"
    today = today or utcnow().date()
    recent = False
    if hit.date:
        try:
            recent = date.fromisoformat(hit.date[:10]) >= today - timedelta(days=365)
        except ValueError:
            recent = False
    return "medium" if (hit.count or 0) >= MILLION or recent else "low"


def dedupe_key(source: str, breach: str, address: str) -> str:
    return hashlib.sha256(f"{source}\x00{breach.lower()}\x00{address}".encode()).hexdigest()


def due_rows(now=None) -> sa.Select:
    now = now or utcnow()
    return sa.select(MonitoredEmail).where(
        MonitoredEmail.deleted_at.is_(None), MonitoredEmail.is_active.is_(True),
        MonitoredEmail.confirmed_at.is_not(None),
        sa.or_(MonitoredEmail.last_checked.is_(None),
               MonitoredEmail.last_checked <= now - timedelta(hours=recheck_hours())))


def has_due_addresses() -> bool:
    """Whether the periodic recheck has an address to look at."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(due_rows().subquery())) > 0


def recheck(row: MonitoredEmail) -> list[MonitoredEmailFinding]:
    """Ask every configured source about one address; store and notify what is new."""
    query = Query("email", row.email_address)
    ctx = Context(row.org_id)
    known = set(db.session.scalars(sa.select(MonitoredEmailFinding.dedupe_key).where(
        MonitoredEmailFinding.monitored_email_id == row.id)))
    new: list[MonitoredEmailFinding] = []
    for key in RECHECK_SOURCES:
        result = run_provider(ctx, PROVIDERS[key], query)
        if result.status != "ok":
            continue  # no key, rate limited or down: the next recheck asks again
        for hit in result.hits:
            digest = dedupe_key(hit.source, hit.ref or hit.title, row.email_address)
            if digest in known:
                continue
            known.add(digest)
            kind = FINDING_TYPES.get(hit.kind, "breach")
            new.append(MonitoredEmailFinding(
                org_id=row.org_id, monitored_email_id=row.id, finding_type=kind, source=hit.source,
                breach_name=hit.title[:255], details=hit.as_dict(), severity=severity(hit), dedupe_key=digest))
    now = utcnow()
    row.last_checked = now
    if new:
        db.session.add_all(new)
        row.findings_count = len(known)
        db.session.flush()
        publish("exposure.monitored_findings", row=row, findings=new)  # exposure alert rules
        for finding in new:
            finding.notified, finding.notified_at = True, now
        audit.record("exposure.monitored_findings", resource_type="monitored_email", resource_id=row.id,
                     org_id=row.org_id, actor_type="job", actor_label="exposure.recheck_monitored",
                     details={"new": len(new), "address": row.email_address})
    return new


def recheck_due(progress=None) -> tuple[int, int]:
    """Recheck every due address, committing after each (network calls in between)."""
    ids = list(db.session.scalars(due_rows().with_only_columns(MonitoredEmail.id).order_by(MonitoredEmail.id)))
    db.session.commit()
    found = 0
    for index, row_id in enumerate(ids, 1):
        found += len(recheck(db.session.get(MonitoredEmail, row_id)))
        db.session.commit()
        if progress:
            progress(index * 100 // len(ids), f"{index} of {len(ids)} addresses, {found} new finding(s)")
    return len(ids), found
