"""alert_rule_versions: a counter per rule scope (0 = global rules, else an organization),
bumped with every rule change, so heartbeat ingest can serve rules from a per-process cache
and still see a change on the next heartbeat (issue 18.3)

Revision ID: 0038_beat
Revises: 0037
Create Date: 2026-12-07 23:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0038_beat'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'alert_rule_versions',
        sa.Column('scope', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_alert_rule_versions')),
    )


def downgrade():
    op.drop_table('alert_rule_versions')
