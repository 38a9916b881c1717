"""Roadmap (issue 16): library, generation, phases, dedupe, score, verification, achievements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.compliance import findings
from app.models import (
    NotificationPolicy,
    RoadmapAchievement,
    RoadmapProgressHistory,
    RoadmapTask,
    db,
)
from app.roadmap import achievements, generate, library, services


def row(profile, task_id, finding_key=""):
    return next(r for r, _ in services.tasks(profile) if r.task_id == task_id and r.finding_key == finding_key)


@pytest.fixture()
def surface():
    found: list[dict] = []
    findings.register_finding_source("test_surface", lambda org_id: list(found))
    yield found
    findings.unregister_finding_source("test_surface")


def test_library_has_40_tasks_with_every_attribute(db_session):
    assert library.load_library() >= 40
    for task in db.session.scalars(sa.select(RoadmapTask)):
        assert task.task_category and task.why_it_matters and task.how_to_fix
        assert task.estimated_time_minutes and task.estimated_cost_max is not None
        assert task.difficulty_level in ("easy", "medium", "hard") and task.security_score_impact
        assert task.risk_level and task.applies_to_industries and task.applies_to_sizes
        assert task.requires_compliance


def test_generation_essential_data_types_and_findings(orgs, surface):
    surface.append({"type": "weak_tls", "severity": "high", "asset": "www.a.test", "domain": "www.a.test"})
    profile = services.save_profile(orgs.a.org.id, {"company_size": "small", "industry": "healthcare",
                                                    "handles_health_data": True}, None)
    ids = {r.task_id for r, _ in services.tasks(profile)}
    essentials = {"enable_mfa", "password_policy", "automated_backups", "security_headers", "software_updates",
                  "spf_record", "dmarc_policy", "security_monitoring"}
    assert essentials <= ids
    assert {"health_data_access_logging", "health_data_encryption"} <= ids
    assert "pci_scope" not in ids  # no payment data
    assert "risk_assessment" not in ids  # no framework asked for
    soc2 = services.save_profile(orgs.a.org.id, {"compliance_requirements": ["SOC2"]}, None)
    assert "risk_assessment" in {r.task_id for r, _ in services.tasks(soc2)}
    tls = row(profile, "tls_configuration", "test_surface:weak_tls:www.a.test")
    assert tls.phase == 1 and tls.source == "test_surface" and tls.scan_domain == "www.a.test"
    assert "enrol_mfa_users" in ids  # the fixture users have no MFA


def test_phases_and_order(orgs):
    profile = services.save_profile(orgs.a.org.id, {}, None)
    tasks = library.tasks_by_id()
    for r, t in services.tasks(profile):
        expected = 1 if (r.finding_key or t.risk_level == "critical" or r.finding_severity == "critical") else \
            {"high": 2, "medium": 3}.get(t.risk_level, 4)
        assert r.phase == expected, r.task_id
    phase1 = [r for r, _ in services.tasks(profile) if r.phase == 1]
    ranks = [generate.rank(tasks[r.task_id]) for r in phase1]
    assert ranks == sorted(ranks, reverse=True)
    assert [r.priority_order for r in phase1] == list(range(1, len(phase1) + 1))


def test_regeneration_dedupes_and_keeps_completed_work(orgs):
    profile = services.save_profile(orgs.a.org.id, {}, None)
    total = len(services.tasks(profile))
    mfa = row(profile, "enable_mfa")
    services.set_status(mfa, "completed")
    services.regenerate(profile)
    assert len(services.tasks(profile)) == total
    assert row(profile, "enable_mfa").status == "completed"


def test_score_capped_and_recomputed_on_reopen(orgs):
    profile = services.save_profile(orgs.a.org.id, {"handles_pii": True,
                                                    "compliance_requirements": ["SOC2", "ISO27001"]}, None)
    assert sum(t.security_score_impact for _, t in services.tasks(profile)) > 100
    mfa = row(profile, "enable_mfa")
    services.set_status(mfa, "completed")
    assert profile.current_security_score == 10
    for r, _ in services.tasks(profile):
        services.set_status(r, "completed")
    assert profile.current_security_score == 100  # capped
    services.set_status(mfa, "not_started")
    assert profile.current_security_score == min(100, sum(
        t.security_score_impact for r, t in services.tasks(profile) if r.status == "completed"))
    reasons = [h.snapshot_reason for h in services.history(profile)]
    assert reasons[0] == "generated" and "task_completed" in reasons and reasons[-1] == "task_reopened"


def test_finding_task_verified_when_a_later_scan_no_longer_finds_it(orgs, surface):
    surface.append({"type": "open_database_port", "severity": "critical", "asset": "db.a.test", "domain": "db.a.test"})
    profile = services.save_profile(orgs.a.org.id, {}, None)
    key = "test_surface:open_database_port:db.a.test"
    services.set_status(row(profile, "close_database_ports", key), "completed")
    services.regenerate(profile)
    assert row(profile, "close_database_ports", key).verified_at is None
    surface.clear()
    result = services.regenerate(profile)
    assert result["verified"] == 1
    assert row(profile, "close_database_ports", key).verified_at is not None
    assert "scan_verified" in services.unlocked(profile)


# ------------------------------------------------------------------ achievements, one by one

BASE = achievements.Facts(score=0, completed=0, phase1_total=3, phase1_completed=0, critical_total=2,
                          critical_completed=0, mfa_task_completed=False, users_without_mfa=1, verified=0,
                          completion_times=())


def with_(**kw):
    return achievements.Facts(**{**BASE.__dict__, **kw})


@pytest.mark.parametrize(("facts", "earned"), [
    (with_(completed=1), "first_steps"),
    (with_(completed=5), "quick_wins"),
    (with_(score=50), "halfway_hero"),
    (with_(score=75), "security_champion"),
    (with_(score=100), "perfect_score"),
    (with_(phase1_completed=3), "phase_one_complete"),
    (with_(mfa_task_completed=True, users_without_mfa=0), "mfa_master"),
    (with_(verified=1), "scan_verified"),
    (with_(critical_completed=2), "critical_crusher"),
])
def test_each_achievement(facts, earned):
    assert earned in achievements.evaluate(facts)
    assert earned not in achievements.evaluate(BASE)


def test_thresholds_just_below_do_not_unlock():
    got = achievements.evaluate(with_(completed=4, score=49, phase1_completed=2, critical_completed=1,
                                      mfa_task_completed=True, users_without_mfa=1))
    assert got == {"first_steps"}
    assert achievements.evaluate(with_(phase1_total=0, critical_total=0)) == set()
    assert len(achievements.ACHIEVEMENTS) == 10


def test_week_streak_counts_days_in_the_org_time_zone():
    # 23:30 UTC is the next day in Auckland (UTC+13 in December): 7 UTC days may be 7 or 6 local days.
    times = tuple(datetime(2026, 12, 1, 10, 0, tzinfo=UTC) + timedelta(days=i) for i in range(7))
    assert "week_streak" in achievements.evaluate(with_(completion_times=times))
    six = times[:6]
    assert "week_streak" not in achievements.evaluate(with_(completion_times=six))
    gap = times[:3] + times[4:]
    assert "week_streak" not in achievements.evaluate(with_(completion_times=gap))
    # 11:30 UTC on day 1 and 10:00 UTC on day 2 are the same local day in Auckland (00:30 and 23:00 of the 2nd).
    late = (datetime(2026, 12, 1, 11, 30, tzinfo=UTC),) + tuple(
        datetime(2026, 12, 2, 10, 0, tzinfo=UTC) + timedelta(days=i) for i in range(6))
    assert achievements.longest_streak(late, "UTC") == 7
    assert achievements.longest_streak(late, "Pacific/Auckland") == 6


def test_week_streak_reads_the_org_time_zone(orgs):
    db.session.add(NotificationPolicy(org_id=orgs.a.org.id, timezone="Pacific/Auckland"))
    profile = services.save_profile(orgs.a.org.id, {}, None)
    assert services.facts(profile).timezone == "Pacific/Auckland"


def test_unlocked_once_and_snapshots(orgs):
    profile = services.save_profile(orgs.a.org.id, {}, None)
    services.set_status(row(profile, "enable_mfa"), "completed")
    services.set_status(row(profile, "enable_mfa"), "not_started")
    services.set_status(row(profile, "enable_mfa"), "completed")
    count = db.session.scalar(sa.select(sa.func.count(RoadmapAchievement.id)).where(
        RoadmapAchievement.profile_id == profile.id, RoadmapAchievement.achievement_id == "first_steps"))
    assert count == 1
    assert db.session.scalar(sa.select(sa.func.count(RoadmapProgressHistory.id)).where(
        RoadmapProgressHistory.profile_id == profile.id)) == 4


def test_real_fleet_findings_feed_controls_and_roadmap(orgs):
    from app.compliance import frameworks
    from app.compliance import services as compliance
    from app.models import BackupSnapshot, Device, ScannerStats, utcnow

    a = orgs.a.org.id
    now = utcnow()
    scanner = Device(org_id=a, hostname="scan-1", device_type="scanner", status="active",
                     enrolled_at=now - timedelta(days=3), last_seen_at=now)
    server = Device(org_id=a, hostname="srv-1", device_type="server", status="active",
                    enrolled_at=now - timedelta(days=3), last_seen_at=now)
    db.session.add_all([scanner, server])
    db.session.flush()
    db.session.add(ScannerStats(device_id=scanner.id, vulns_critical=2, vulns_high=5))
    db.session.add(BackupSnapshot(device_id=server.id, org_id=a, snapshot_id="s-1", backup_type="file",
                                  storage_path="/b", status="failed", started_at=now - timedelta(days=1)))
    frameworks.load_frameworks()
    iso = compliance.start_assessment(a, "ISO27001", None)
    assert findings.apply_findings(a)["flagged"] >= 1
    a88 = next(c for c in iso.controls if c.control_id == "A.8.8")
    assert a88.status == "non_compliant" and a88.scan_source == "fleet_scanner"
    assert a88.scan_finding_type == "cve_critical"
    profile = services.save_profile(a, {}, None)
    ids = {(r.task_id, r.source) for r, _ in services.tasks(profile)}
    assert ("patch_critical_cves", "fleet_scanner") in ids
    assert ("fix_failed_backups", "fleet_backups") in ids
    assert ("remediate_control", "compliance") in ids  # A.8.8 is non-compliant now
    assert services.profile_for(orgs.b.org.id) is None
