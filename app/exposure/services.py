"""Queries the exposure pages share: counts, the organization's exposed credentials and the
leaked passwords several of its accounts share (recognised by HMAC, never shown as text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app.models import User, db, utcnow
from app.models.exposure import (
    BreachFileResult,
    MonitoredEmail,
    MonitoredEmailFinding,
    UploadedBreachFile,
)

IDENTITY = sa.func.coalesce(BreachFileResult.email, BreachFileResult.username)


@dataclass(frozen=True)
class ReusedPassword:
    label: str  # "P1", "P2"...: a stable name on the page, not the HMAC itself
    accounts: list[str]
    hint: str | None
    length: int | None
    strength: int | None


def live(model, org_id: int):
    return sa.select(model).where(model.org_id == org_id, model.deleted_at.is_(None))


def counts(org_id: int) -> dict[str, int]:
    def scalar(stmt) -> int:
        return int(db.session.scalar(stmt) or 0)

    base = sa.select(sa.func.count()).select_from(BreachFileResult).where(
        BreachFileResult.org_id == org_id, BreachFileResult.deleted_at.is_(None))
    return {
        "uploads": scalar(sa.select(sa.func.count()).select_from(UploadedBreachFile).where(
            UploadedBreachFile.org_id == org_id, UploadedBreachFile.deleted_at.is_(None))),
        "credentials": scalar(base),
        "matched": scalar(base.where(BreachFileResult.matched.is_(True))),
        "exposed_accounts": scalar(sa.select(sa.func.count(sa.distinct(IDENTITY))).where(
            BreachFileResult.org_id == org_id, BreachFileResult.deleted_at.is_(None),
            BreachFileResult.matched.is_(True))),
        "passwords_in_use": scalar(base.where(BreachFileResult.password_in_use.is_(True))),
        "reused": len(reused_passwords(org_id)),
    }


def reused_passwords(org_id: int, limit: int = 50) -> list[ReusedPassword]:
    """Leaked passwords that two or more of the organization's accounts share."""
    matched = sa.and_(BreachFileResult.org_id == org_id, BreachFileResult.deleted_at.is_(None),
                      BreachFileResult.matched.is_(True), BreachFileResult.password_hmac.is_not(None))
    groups = db.session.execute(
        sa.select(BreachFileResult.password_hmac, sa.func.count(sa.distinct(IDENTITY)).label("n"))
        .where(matched).group_by(BreachFileResult.password_hmac)
        .having(sa.func.count(sa.distinct(IDENTITY)) > 1)
        .order_by(sa.desc("n"), BreachFileResult.password_hmac).limit(limit)).all()
    out = []
    for number, (digest, _n) in enumerate(groups, 1):
        rows = db.session.scalars(sa.select(BreachFileResult).where(matched, BreachFileResult.password_hmac == digest)
                                  .order_by(BreachFileResult.id)).all()
        accounts = sorted({r.email or r.username or "" for r in rows})
        first = rows[0]
        out.append(ReusedPassword(f"P{number}", accounts, first.password_hint, first.password_length,
                                  first.password_strength))
    return out


def credentials(org_id: int, *, matched_only: bool = True, query: str | None = None, upload_id: int | None = None,
                limit: int = 200) -> list[BreachFileResult]:
    stmt = live(BreachFileResult, org_id)
    if matched_only:
        stmt = stmt.where(BreachFileResult.matched.is_(True))
    if upload_id is not None:
        stmt = stmt.where(BreachFileResult.uploaded_file_id == upload_id)
    if query:
        needle = query.strip().lower()
        stmt = stmt.where(sa.or_(BreachFileResult.email == needle, BreachFileResult.username == query.strip(),
                                 BreachFileResult.email_domain == needle.lstrip("@")))
    return list(db.session.scalars(stmt.order_by(BreachFileResult.password_in_use.desc(),
                                                 BreachFileResult.id.desc()).limit(limit)))


def breaches_over_time(org_id: int, months: int = 12) -> dict:
    """Chart data: credentials of this organization imported and monitored findings per month."""
    now = utcnow()
    labels = []
    year, month = now.year, now.month
    for _ in range(months):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    labels.reverse()
    start = datetime(int(labels[0][:4]), int(labels[0][5:]), 1, tzinfo=UTC)

    def per_month(model, when, *where) -> list[int]:
        counts = dict.fromkeys(labels, 0)
        for (stamp,) in db.session.execute(sa.select(when).where(model.org_id == org_id, when >= start, *where)):
            key = stamp.strftime("%Y-%m")
            if key in counts:
                counts[key] += 1
        return [counts[k] for k in labels]

    return {"labels": labels, "series": {
        "Credentials of this organization": per_month(BreachFileResult, BreachFileResult.created_at,
                                                      BreachFileResult.matched.is_(True)),
        "Monitored findings": per_month(MonitoredEmailFinding, MonitoredEmailFinding.found_at)}}


def coverage(org_id: int) -> dict[str, int]:
    """Monitored addresses: active, waiting for their owner, and the organization's users covered."""
    rows = db.session.execute(sa.select(MonitoredEmail.email_address, MonitoredEmail.confirmed_at).where(
        MonitoredEmail.org_id == org_id, MonitoredEmail.deleted_at.is_(None))).all()
    active = {r.email_address for r in rows if r.confirmed_at}
    users = [e.lower() for e in db.session.scalars(sa.select(User.email).where(
        User.org_id == org_id, User.deleted_at.is_(None)))]
    return {"active": len(active), "pending": len(rows) - len(active), "users": len(users),
            "users_covered": sum(1 for e in users if e in active)}
