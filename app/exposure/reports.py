"""The exposure report in the report framework: breach findings by source, the monitored
e-mail addresses and their findings, and people's exposure scores.

Only what the exposure pages show to the same people goes in: names, addresses, sources,
counts and scores. No password, hash, hint or finding `details` (which may hold a masked
credential) is ever read into a table.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.exposure.monitoring import visible_scopes
from app.models import Breach, MonitoredEmail, MonitoredEmailFinding, Profile, db
from app.permissions import PERMISSIONS
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import bar_chart

PERMISSION = "exposure.details"


def _by_source(org_id: int, period: Period) -> Table:
    profile_breaches = dict(db.session.execute(
        sa.select(Breach.source, sa.func.count(Breach.id)).where(
            Breach.org_id == org_id, Breach.deleted_at.is_(None), Breach.discovered_at >= period.start,
            Breach.discovered_at < period.end).group_by(Breach.source)).all())
    monitored = dict(db.session.execute(
        sa.select(MonitoredEmailFinding.source, sa.func.count(MonitoredEmailFinding.id)).where(
            MonitoredEmailFinding.org_id == org_id, MonitoredEmailFinding.deleted_at.is_(None),
            MonitoredEmailFinding.found_at >= period.start, MonitoredEmailFinding.found_at < period.end)
        .group_by(MonitoredEmailFinding.source)).all())
    sources = sorted(set(profile_breaches) | set(monitored))
    return Table(["Source", "People's breaches", "Monitored-address findings", "Total"], [
        [s, profile_breaches.get(s, 0), monitored.get(s, 0), profile_breaches.get(s, 0) + monitored.get(s, 0)]
        for s in sources])


def shared_scopes() -> tuple[str, ...]:
    """The monitored-address scopes every role that may read the report also sees on the pages:
    a report is one file for all of them, so an admin-only address never reaches an analyst."""
    roles = sorted(PERMISSIONS[PERMISSION])
    return tuple(s for s in visible_scopes(roles[0]) if all(s in visible_scopes(r) for r in roles))


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    scopes = shared_scopes()
    by_source = _by_source(org_id, period)
    monitored = Table(["Address", "Scope", "Confirmed", "Last checked", "Findings"], [
        [m.email_address, m.monitor_scope, m.confirmed_at, m.last_checked, m.findings_count]
        for m in db.session.scalars(sa.select(MonitoredEmail).where(
            MonitoredEmail.org_id == org_id, MonitoredEmail.deleted_at.is_(None),
            MonitoredEmail.monitor_scope.in_(scopes))
            .order_by(MonitoredEmail.email_address))])
    findings = Table(["Found", "Address", "Source", "Breach", "Breach date", "Severity"], [
        [f.found_at, address, f.source, f.breach_name, f.breach_date, f.severity]
        for f, address in db.session.execute(
            sa.select(MonitoredEmailFinding, MonitoredEmail.email_address)
            .join(MonitoredEmail, MonitoredEmail.id == MonitoredEmailFinding.monitored_email_id)
            .where(MonitoredEmailFinding.org_id == org_id, MonitoredEmailFinding.deleted_at.is_(None),
                   MonitoredEmail.monitor_scope.in_(scopes),
                   MonitoredEmailFinding.found_at >= period.start, MonitoredEmailFinding.found_at < period.end)
            .order_by(MonitoredEmailFinding.found_at))])
    people = Table(["Person", "E-mail", "Exposure score", "Breaches", "Exposed passwords (count)", "Mentions"], [
        [p.name, p.email, round(p.risk_score or 0, 1), p.breach_count, p.exposed_passwords_count, p.mention_count]
        for p in db.session.scalars(sa.select(Profile).where(Profile.org_id == org_id, Profile.deleted_at.is_(None))
                                    .order_by(Profile.risk_score.desc(), Profile.name))])
    context = {
        "source_svg": bar_chart([(r[0], r[3]) for r in by_source.rows], title="Findings by source")
        if by_source.rows else None,
        "people_count": len(people.rows), "monitored_count": len(monitored.rows), "finding_count": len(findings.rows),
    }
    return ReportContent("exposure.html", context, {"breaches_by_source": by_source, "monitored_emails": monitored,
                                                    "monitored_findings": findings, "people": people})


register_report("exposure", "Exposure report", PERMISSION, build)
