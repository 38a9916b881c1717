"""fleet dashboard: scanner_stats.last_scan_at (the seed's heartbeat field), age indexes for retention

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-03 07:10:00

"""
from alembic import op
import sqlalchemy as sa
import app.models.base

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scanner_stats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_scan_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_scanner_stats_collected_at', ['collected_at'], unique=False)
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.create_index('ix_heartbeats_timestamp', ['timestamp'], unique=False)


def downgrade():
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.drop_index('ix_heartbeats_timestamp')
    with op.batch_alter_table('scanner_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_scanner_stats_collected_at')
        batch_op.drop_column('last_scan_at')
