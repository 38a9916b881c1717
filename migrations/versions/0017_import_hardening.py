"""import hardening: observations.time_unknown and wireless_imports.rows_time_unknown (kept 1970-stamped
sightings), job_runs.lease_expires_at
(a worker's lease on its running run, so a dead worker's run is noticed within minutes)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:10:00

"""
from alembic import op
import sqlalchemy as sa
import app.models.base

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_unknown', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('wireless_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rows_time_unknown', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_expires_at', app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
    with op.batch_alter_table('wireless_imports', schema=None) as batch_op:
        batch_op.drop_column('rows_time_unknown')
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_column('time_unknown')
