"""Issue 20.5: stored wireless alert rules get at least 8 h between repeats for one radio
(data migration 0034), and a new organization's defaults have it from the start."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from app.alerting import evaluate
from app.models import AlertRule, db
from app.wireless import alert_rules

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0034_wireless_alert_cooldown.py"
GAP = alert_rules.REPEAT_GAP_SECONDS


def migration():
    spec = importlib.util.spec_from_file_location("migration_0034", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(step: str) -> None:
    """Run the migration's upgrade or downgrade on the test database's connection."""
    module = migration()
    with Operations.context(MigrationContext.configure(db.session.connection())):
        getattr(module, step)()
    db.session.expire_all()


def rule(org_id, rule_type, cooldown, domain="wireless", description="x"):
    r = AlertRule(org_id=org_id, domain=domain, rule_type=rule_type, name=rule_type, description=description,
                  threshold_value=1, recovery_value=1, threshold_duration_seconds=0, cooldown_seconds=cooldown,
                  direction="above", severity="critical", enabled=True, notify=True, params={})
    db.session.add(r)
    db.session.flush()
    return r


def test_a_new_organization_gets_eight_hours(app, orgs):
    org_id = orgs.a.org.id
    assert evaluate.ensure_defaults(org_id, "wireless") == 3
    stored = dict(db.session.execute(sa.select(AlertRule.rule_type, AlertRule.cooldown_seconds)
                                     .where(AlertRule.org_id == org_id, AlertRule.domain == "wireless")).all())
    assert stored["follower_new"] == stored["network_high"] == GAP == 8 * 3600


def test_migration_raises_shorter_wireless_cooldowns_to_eight_hours_and_the_downgrade_restores(app, orgs):
    org_a, org_b = orgs.a.org.id, orgs.b.org.id
    old_follower = rule(org_a, "follower_new", 0, description=migration().OLD_FOLLOWER_TEXT)
    old_high = rule(org_b, "network_high", 0)
    global_high = rule(None, "network_high", 600)
    longer = rule(org_b, "follower_new", 24 * 3600)  # someone chose a day: it stays
    seen_again = rule(org_a, "threat_seen_again", 0)  # an event: every new sighting counts
    other_domain = rule(org_a, "network_high", 0, domain="fleet")
    db.session.commit()

    run("upgrade")
    assert (old_follower.cooldown_seconds, old_high.cooldown_seconds, global_high.cooldown_seconds) == (GAP, GAP, GAP)
    assert "8 h" in old_follower.description
    assert longer.cooldown_seconds == 24 * 3600
    assert seen_again.cooldown_seconds == 0 and other_domain.cooldown_seconds == 0

    run("downgrade")
    assert (old_follower.cooldown_seconds, old_high.cooldown_seconds, global_high.cooldown_seconds) == (0, 0, 0)
    assert old_follower.description == migration().OLD_FOLLOWER_TEXT
    assert longer.cooldown_seconds == 24 * 3600 and other_domain.cooldown_seconds == 0
