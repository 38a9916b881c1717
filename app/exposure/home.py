"""The home page's exposure parts: credentials in breach files that are the organization's,
leaked passwords still in use and monitored-address findings; accounts whose password is
known leaked and new high monitored findings in "needs attention now"."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.dashboard.registry import (
    AttentionItem,
    PostureState,
    TimelineItem,
    Worst,
    register_attention,
    register_org_column,
    register_posture,
    register_timeline,
)
from app.models import BreachFileResult, MonitoredEmail, MonitoredEmailFinding, User, db, utcnow
from app.notifications.services import app_path

NEW_DAYS = 7


def _live(model):
    return sa.and_(model.deleted_at.is_(None), model.is_active.is_(True))


def _leaked_accounts(org_id: int, limit: int) -> list:
    """Accounts whose current password is in a breach file and not changed since (must change)."""
    return db.session.execute(
        sa.select(User.id, User.email, sa.func.max(BreachFileResult.created_at).label("at"))
        .join(BreachFileResult, BreachFileResult.user_id == User.id)
        .where(BreachFileResult.org_id == org_id, BreachFileResult.password_in_use.is_(True),
               _live(BreachFileResult), User.deleted_at.is_(None), User.must_change_password.is_(True))
        .group_by(User.id, User.email).order_by(sa.desc("at"), User.id).limit(limit)).all()


def _new_high(org_id: int, limit: int) -> list:
    return db.session.execute(
        sa.select(MonitoredEmailFinding.breach_name, MonitoredEmailFinding.source, MonitoredEmailFinding.found_at,
                  MonitoredEmail.email_address, MonitoredEmail.monitor_scope)
        .join(MonitoredEmail, MonitoredEmail.id == MonitoredEmailFinding.monitored_email_id)
        .where(MonitoredEmailFinding.org_id == org_id, MonitoredEmailFinding.severity == "high",
               MonitoredEmailFinding.found_at >= utcnow() - timedelta(days=NEW_DAYS),
               MonitoredEmail.monitor_scope == "company",  # the home page shows what everyone may see
               _live(MonitoredEmailFinding), MonitoredEmail.deleted_at.is_(None))
        .order_by(MonitoredEmailFinding.found_at.desc()).limit(limit)).all()


def exposure_posture(org_id: int) -> PostureState | None:
    """Credentials that are the organization's; leaked passwords in use; monitored findings."""
    matched, in_use = db.session.execute(sa.select(
        sa.func.count(BreachFileResult.id), sa.func.count(BreachFileResult.id).filter(
            BreachFileResult.password_in_use.is_(True)))
        .where(BreachFileResult.org_id == org_id, BreachFileResult.matched.is_(True), _live(BreachFileResult))).one()
    findings, recent = db.session.execute(sa.select(
        sa.func.count(MonitoredEmailFinding.id), sa.func.count(MonitoredEmailFinding.id).filter(
            MonitoredEmailFinding.found_at >= utcnow() - timedelta(days=NEW_DAYS)))
        .where(MonitoredEmailFinding.org_id == org_id, _live(MonitoredEmailFinding))).one()
    if not matched and not findings:
        return None
    worst = _leaked_accounts(org_id, 1)
    return PostureState(
        value=str(matched), caption=f"matched credentials · {in_use} leaked password(s) in use · "
                                    f"{findings} monitored finding(s)",
        url=app_path("exposure.overview"), trend=recent, higher_is_better=False,
        worst=Worst(f"Leaked password in use: {worst[0].email}", app_path("exposure.credential_list",
                                                                           q=worst[0].email)) if worst else None,
        status="bad" if worst else "warn" if matched or findings else "ok")


def leaked_accounts(org_id: int, limit: int) -> list[AttentionItem]:
    return [AttentionItem("critical", f"Password known leaked: {row.email}",
                          app_path("exposure.credential_list", q=row.email), row.at,
                          "a password change is forced at the next sign-in", "exposure")
            for row in _leaked_accounts(org_id, limit)]


def new_high_findings(org_id: int, limit: int) -> list[AttentionItem]:
    return [AttentionItem("high", f"{row.email_address} in {row.breach_name or 'a breach'}",
                          app_path("exposure.findings"), row.found_at, f"source {row.source}", "exposure")
            for row in _new_high(org_id, limit)]


def recent_findings(org_id: int, limit: int) -> list[TimelineItem]:
    return [TimelineItem(row.found_at, f"Exposure finding: {row.email_address} in {row.breach_name or 'a breach'}",
                         app_path("exposure.findings"), row.source, "exposure") for row in _new_high(org_id, limit)]


def leaked_per_org() -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(BreachFileResult.org_id, sa.func.count(sa.distinct(BreachFileResult.user_id)))
        .where(BreachFileResult.password_in_use.is_(True), _live(BreachFileResult))
        .group_by(BreachFileResult.org_id)).all())


register_posture("exposure", "Exposure", "exposure.view", exposure_posture, order=60)
register_attention("exposure_leaked", "Leaked passwords in use", "exposure.details", leaked_accounts, order=45)
register_attention("exposure_findings", "New monitored findings", "exposure.view", new_high_findings, order=60)
register_timeline("exposure", "Exposure findings", "exposure.view", recent_findings, order=60)
register_org_column("exposure_leaked", "Leaked passwords in use", leaked_per_org, order=60)
