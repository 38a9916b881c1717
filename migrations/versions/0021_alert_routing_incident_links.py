"""alerts across domains: notification routes, quiet hours and digest per organization, incident links

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-07 16:00:00

"""
from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TS = app.models.base.UTCDateTime(timezone=True)


def upgrade():
    op.create_table('notification_routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('domains', JSON, nullable=False),
    sa.Column('min_severity', sa.String(length=10), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['notification_channels.id'], name=op.f('fk_notification_routes_channel_id_notification_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_notification_routes_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_routes'))
    )
    with op.batch_alter_table('notification_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_routes_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_routes_org_id'), ['org_id'], unique=False)

    op.create_table('notification_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.Column('quiet_allows_critical', sa.Boolean(), nullable=False),
    sa.Column('digest_enabled', sa.Boolean(), nullable=False),
    sa.Column('digest_hour', sa.Integer(), nullable=False),
    sa.Column('last_digest_on', sa.Date(), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_notification_policies_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_policies')),
    sa.UniqueConstraint('org_id', name=op.f('uq_notification_policies_org_id'))
    )
    with op.batch_alter_table('notification_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_policies_org_id'), ['org_id'], unique=False)

    op.create_table('incident_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=30), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_incident_links_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['security_incidents.id'], name=op.f('fk_incident_links_incident_id_security_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_incident_links_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_links')),
    sa.UniqueConstraint('incident_id', 'object_type', 'object_id', name=op.f('uq_incident_links_incident_id_object_type_object_id'))
    )
    with op.batch_alter_table('incident_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_links_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_links_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_incident_links_object', ['org_id', 'object_type', 'object_id'], unique=False)

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        # The Alerts page filters by domain within an organization's active alerts.
        batch_op.create_index('ix_alerts_org_domain_status', ['org_id', 'domain', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_org_domain_status')
    op.drop_table('incident_links')
    op.drop_table('notification_policies')
    op.drop_table('notification_routes')
