"""alerting: alert rules, alerts, per-target rule state, maintenance windows; device facts snapshots

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 06:31:28.722396

"""
from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('domain', sa.String(length=30), nullable=False),
    sa.Column('rule_type', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('threshold_value', sa.Float(), nullable=True),
    sa.Column('recovery_value', sa.Float(), nullable=True),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('threshold_duration_seconds', sa.Integer(), nullable=False),
    sa.Column('cooldown_seconds', sa.Integer(), nullable=False),
    sa.Column('repeat_interval_seconds', sa.Integer(), nullable=True),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('notify', sa.Boolean(), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('above', 'below')", name=op.f('ck_alert_rules_direction')),
    sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f('ck_alert_rules_severity')),
    sa.CheckConstraint('device_id IS NULL OR org_id IS NOT NULL', name=op.f('ck_alert_rules_device_needs_org')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_alert_rules_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_alert_rules_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_alert_rules_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rules'))
    )
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_rules_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_rules_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_alert_rules_type_enabled', ['rule_type', 'enabled'], unique=False)

    op.create_table('device_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('collected_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_facts_device_id_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_facts'))
    )
    with op.batch_alter_table('device_facts', schema=None) as batch_op:
        batch_op.create_index('ix_device_facts_device_collected', ['device_id', 'collected_at'], unique=False)

    op.create_table('maintenance_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recurrence', sa.String(length=10), nullable=False),
    sa.Column('starts_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('weekdays', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('start_time', sa.String(length=5), nullable=True),
    sa.Column('cron', sa.String(length=100), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("recurrence IN ('once', 'weekly', 'cron')", name=op.f('ck_maintenance_windows_recurrence')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_maintenance_windows_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_maintenance_windows_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_maintenance_windows_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_maintenance_windows_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows'))
    )
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_windows_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_windows_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_windows_site_id'), ['site_id'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('domain', sa.String(length=30), nullable=False),
    sa.Column('target_key', sa.String(length=300), nullable=False),
    sa.Column('target_label', sa.String(length=300), nullable=False),
    sa.Column('alert_type', sa.String(length=50), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metric_name', sa.String(length=100), nullable=True),
    sa.Column('metric_value', sa.Float(), nullable=True),
    sa.Column('threshold_value', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('notify_count', sa.Integer(), nullable=False),
    sa.Column('last_notified_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('suppressed_reason', sa.String(length=300), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('muted_until', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('muted_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('fired_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f('ck_alerts_severity')),
    sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved', 'muted')", name=op.f('ck_alerts_status')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_alerts_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_alerts_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['muted_by_id'], ['users.id'], name=op.f('fk_alerts_muted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_alerts_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_alerts_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alerts_rule_id_alert_rules'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_device_fired', ['device_id', 'fired_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_alerts_org_status_fired', ['org_id', 'status', 'fired_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_rule_id'), ['rule_id'], unique=False)

    op.create_table('alert_rule_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('target_key', sa.String(length=300), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('state', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_rule_states_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_alert_rule_states_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_alert_rule_states_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alert_rule_states_rule_id_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rule_states')),
    sa.UniqueConstraint('rule_id', 'target_key', name=op.f('uq_alert_rule_states_rule_id_target_key'))
    )
    with op.batch_alter_table('alert_rule_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_rule_states_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_rule_states_org_id'), ['org_id'], unique=False)



def downgrade():
    with op.batch_alter_table('alert_rule_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_rule_states_org_id'))
        batch_op.drop_index(batch_op.f('ix_alert_rule_states_device_id'))

    op.drop_table('alert_rule_states')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_rule_id'))
        batch_op.drop_index('ix_alerts_org_status_fired')
        batch_op.drop_index(batch_op.f('ix_alerts_org_id'))
        batch_op.drop_index('ix_alerts_device_fired')

    op.drop_table('alerts')
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_site_id'))
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_org_id'))
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_device_id'))

    op.drop_table('maintenance_windows')
    with op.batch_alter_table('device_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_device_facts_device_collected')

    op.drop_table('device_facts')
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_rules_type_enabled')
        batch_op.drop_index(batch_op.f('ix_alert_rules_org_id'))
        batch_op.drop_index(batch_op.f('ix_alert_rules_device_id'))

    op.drop_table('alert_rules')
