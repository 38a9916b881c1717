"""wireless detail and reference data: routes.point_count (sightings a route was built from)

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-03 06:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('point_count', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.drop_column('point_count')
