"""console: pg_trgm search indexes; sightings anywhere (source, object, observed_at)

Revision ID: 0022
Revises: 0016
Create Date: 2026-12-07 16:20:00

"""
from alembic import op
import sqlalchemy as sa
import app.models.base

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# (index name, table, column): the same list as app/models/search.py TRIGRAM_INDEXES.
TRIGRAM_INDEXES = (
    ("ix_networks_bssid_trgm", "networks", "bssid"),
    ("ix_networks_ssid_trgm", "networks", "ssid"),
    ("ix_devices_hostname_trgm", "devices", "hostname"),
    ("ix_devices_device_name_trgm", "devices", "device_name"),
    ("ix_threat_intelligence_value_trgm", "threat_intelligence", "indicator_value"),
    ("ix_users_email_trgm", "users", "email"),
    ("ix_security_incidents_title_trgm", "security_incidents", "title"),
    ("ix_alerts_target_label_trgm", "alerts", "target_label"),
    ("ix_metrics_name_trgm", "metrics", "name"),
    ("ix_sites_name_trgm", "sites", "name"),
)


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        if postgres:
            op.create_index(name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
        else:
            op.create_index(name, table, [column])

    with op.batch_alter_table('ioc_sightings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=40), server_default='security_event', nullable=False))
        batch_op.add_column(sa.Column('object_id', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('object_label', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('observed_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('matched_by', sa.String(length=12), server_default='ingest', nullable=False))
    # Existing sightings are sign-in (security event) sightings.
    op.execute("UPDATE ioc_sightings SET observed_at = created_at, "
               "object_id = COALESCE(CAST(security_event_id AS VARCHAR(64)), '')")
    with op.batch_alter_table('ioc_sightings', schema=None) as batch_op:
        batch_op.alter_column('observed_at', existing_type=app.models.base.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_unique_constraint('uq_ioc_sightings_object', ['intel_id', 'source', 'object_id', 'observed_value'])
        batch_op.create_index('ix_ioc_sightings_org_observed', ['org_id', 'observed_value'], unique=False)
        batch_op.create_index('ix_ioc_sightings_source_object', ['source', 'object_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ioc_sightings', schema=None) as batch_op:
        batch_op.drop_index('ix_ioc_sightings_source_object')
        batch_op.drop_index('ix_ioc_sightings_org_observed')
        batch_op.drop_constraint('uq_ioc_sightings_object', type_='unique')
        batch_op.drop_column('matched_by')
        batch_op.drop_column('observed_at')
        batch_op.drop_column('object_label')
        batch_op.drop_column('object_id')
        batch_op.drop_column('source')
    for name, table, _column in TRIGRAM_INDEXES:
        op.drop_index(name, table_name=table)
    # The pg_trgm extension is left installed: other objects may use it.
