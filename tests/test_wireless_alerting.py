"""Issue 20.4 and 20.5: a follower in a file uploaded now alerts within the import job (through
the shared engine, once, 8 h apart), and "not a threat" suppresses its alerts until undone."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.alerting import registry
from app.models import Alert, AlertRule, db, utcnow
from app.models.wireless import Network, NetworkTag
from app.wireless import alert_rules, rescore
from app.wireless.scenario import generate_scenario, write_wigle_csv
from tests.conftest import run_jobs
from tests.test_alerts_domains import alerts_of, notes
from tests.test_wireless_import import instance, upload  # noqa: F401 - fixture


def tracker_file(path, start):
    """A WiGLE file holding one day of a Find My tag with the person (yesterday) and the person's phone."""
    scenario = generate_scenario(seed=7, weeks=1, start=start)
    keep = {n["bssid"] for n in scenario.by_role("one_day_tracker") + scenario.by_role("own_phone")}
    write_wigle_csv([s for s in scenario.sightings if s["bssid"] in keep], path)
    [tag] = scenario.by_role("one_day_tracker")
    return tag["bssid"]


def open_alerts(org_id: int, kind: str) -> list[Alert]:
    return [a for a in alerts_of(org_id, kind) if a.resolved_at is None]


def test_wireless_rules_wait_eight_hours_between_notifications():
    for name in ("follower_new", "network_high"):
        assert registry.RULE_TYPES[name].cooldown_seconds == alert_rules.REPEAT_GAP_SECONDS == 8 * 3600


def test_a_follower_uploaded_now_alerts_within_the_import_job_once(app, client, orgs, instance, redis_conn):  # noqa: F811
    org_id = orgs.a.org.id
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    bssid = tracker_file(instance / "today.csv", today - timedelta(days=7))
    client.login(orgs.a.users["analyst"].email)
    assert upload(client, instance / "today.csv", new_source="pixel-7").status_code == 303
    run_jobs(app)  # the import job, which ends by rescoring what it touched
    tracker = db.session.scalar(sa.select(Network).where(Network.org_id == org_id, Network.bssid == bssid))
    same_day = next(f for f in tracker.threat_factors["factors"] if f["code"] == "same_day")
    assert same_day["points"] > 0 and tracker.threat_level in ("MEDIUM", "HIGH", "CRITICAL")
    follows = alerts_of(org_id, "follower_new")
    assert [a.target_key for a in follows] == [f"network:{tracker.id}"] and notes(org_id, "follower_new") == 1
    assert db.session.scalar(sa.select(AlertRule.cooldown_seconds).where(
        AlertRule.org_id == org_id, AlertRule.rule_type == "follower_new")) == 8 * 3600
    # The same file again (nothing new) and a rescore of everything: still one alert, one notification.
    rescore.rescore(org_id, everything=True)
    assert len(alerts_of(org_id, "follower_new")) == 1 and notes(org_id, "follower_new") == 1


def test_not_a_threat_suppresses_alerts_and_undoing_restores_them(app, client, orgs, instance, redis_conn):  # noqa: F811
    org_id = orgs.a.org.id
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    bssid = tracker_file(instance / "t.csv", today - timedelta(days=7))
    client.login(orgs.a.users["analyst"].email)
    upload(client, instance / "t.csv", new_source="pixel-7")
    run_jobs(app)
    tracker = db.session.scalar(sa.select(Network).where(Network.org_id == org_id, Network.bssid == bssid))
    assert open_alerts(org_id, "follower_new")

    r = client.post(f"/wireless/networks/{tracker.id}/tags", data={"tag": "FALSE_POSITIVE"})
    assert r.status_code == 303
    assert not open_alerts(org_id, "follower_new") and not open_alerts(org_id, "network_high")
    page = client.get(f"/wireless/networks/{tracker.id}").get_data(as_text=True)
    assert 'id="not-a-threat"' in page and "alerts are suppressed" in page
    # Left out of the co-traveller factors: not a fleet member even while its stored level is high.
    db.session.execute(sa.update(Network).where(Network.id == tracker.id).values(threat_level="HIGH"))
    assert bssid not in {b for members in rescore.scoring_context(org_id).fleet_members.values() for b in members}
    rescore.rescore_networks(org_id, [db.session.get(Network, tracker.id)])
    assert not open_alerts(org_id, "follower_new")
    # New sightings of a dismissed radio change nothing either.
    net = db.session.get(Network, tracker.id)
    net.lasttime_ms += 3_600_000
    net.needs_rescore = True
    db.session.commit()
    rescore.rescore(org_id)
    assert not open_alerts(org_id, "follower_new") and notes(org_id, "follower_new") == 1

    tag = db.session.scalar(sa.select(NetworkTag).where(NetworkTag.network_id == tracker.id,
                                                        NetworkTag.removed_at.is_(None)))
    assert client.post(f"/wireless/networks/{tracker.id}/tags/{tag.id}/remove").status_code == 303
    assert open_alerts(org_id, "follower_new")  # following again, alerting again...
    assert notes(org_id, "follower_new") == 1  # ...but inside the 8 h gap: no second notification yet
    assert 'id="not-a-threat"' not in client.get(f"/wireless/networks/{tracker.id}").get_data(as_text=True)


def test_the_same_radio_notifies_again_only_after_eight_hours(app, orgs):
    from app.alerting import evaluate
    from tests.test_wireless_rescore import scenario

    org_id = orgs.a.org.id
    follower, _, _ = scenario(org_id)
    following = {"threat_level": "HIGH", "threat_score_v2": 70.0,
                 "threat_factors": {"factors": [{"code": "same_day", "points": 45.0}]}}
    gone = {"threat_level": "NONE", "threat_score_v2": 0.0, "threat_factors": {"factors": []}}
    t0 = utcnow()

    def at(hours: float, new: dict) -> None:
        evaluate.run(org_id, "wireless", {"scored": [(follower, new, [])]}, t0 + timedelta(hours=hours))
        db.session.commit()

    at(0, following)
    assert notes(org_id, "follower_new") == 1
    at(1, gone)  # resolves
    at(2, following)  # back two hours later: a new alert, but no notification yet
    assert len(alerts_of(org_id, "follower_new")) == 2 and notes(org_id, "follower_new") == 1
    at(3, gone)
    at(9, following)  # more than 8 h after the last notification
    assert notes(org_id, "follower_new") == 2
