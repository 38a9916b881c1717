"""threat detections alert through the shared engine: organizations that already have
threats rules get the new "threat detected" default rule (others get it with their first
threats alert, like every domain's defaults)

Revision ID: 0035
Revises: 0028
Create Date: 2026-12-07 19:40:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

DESCRIPTION = ("Threat detection found an attack (brute force, password spraying, credential stuffing, token "
               "reuse, an access-denied burst) and ran its response; one alert per attack and target until its "
               "threat is resolved. A critical detection is a critical alert whatever the rule's severity.")


def upgrade():
    # Only organizations whose threats defaults exist already: without this rule their detections
    # would notify nobody (they used to notify directly).
    org_ids = op.get_bind().execute(sa.text(
        "SELECT DISTINCT r.org_id FROM alert_rules r WHERE r.domain = 'threats' AND r.org_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM alert_rules t WHERE t.org_id = r.org_id AND t.rule_type = 'threat_detected') "
        "ORDER BY r.org_id")).scalars().all()
    if not org_ids:
        return
    rules = sa.table(
        'alert_rules', sa.column('org_id', sa.Integer), sa.column('domain', sa.String),
        sa.column('rule_type', sa.String), sa.column('name', sa.String), sa.column('description', sa.Text),
        sa.column('threshold_value', sa.Float), sa.column('recovery_value', sa.Float),
        sa.column('direction', sa.String), sa.column('threshold_duration_seconds', sa.Integer),
        sa.column('cooldown_seconds', sa.Integer), sa.column('severity', sa.String), sa.column('enabled', sa.Boolean),
        sa.column('notify', sa.Boolean), sa.column('params', app.models.base.JSONType),
        sa.column('created_at', app.models.base.UTCDateTime(timezone=True)),
        sa.column('updated_at', app.models.base.UTCDateTime(timezone=True)))
    now = datetime.now(UTC)
    op.bulk_insert(rules, [{
        'org_id': org_id, 'domain': 'threats', 'rule_type': 'threat_detected', 'name': 'Threat detected',
        'description': DESCRIPTION, 'threshold_value': 1.0, 'recovery_value': 1.0, 'direction': 'above',
        'threshold_duration_seconds': 0, 'cooldown_seconds': 3600, 'severity': 'warning', 'enabled': True,
        'notify': True, 'params': {}, 'created_at': now, 'updated_at': now} for org_id in org_ids])


def downgrade():
    op.get_bind().execute(sa.text(
        "DELETE FROM alert_rules WHERE rule_type = 'threat_detected' AND domain = 'threats'"))
