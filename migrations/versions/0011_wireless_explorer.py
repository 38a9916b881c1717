"""wireless explorer: indexes for the networks table's sortable columns

Revision ID: 0011
Revises: 0014
Create Date: 2026-12-03 06:50:00

The explorer sorts by any visible column and shows the first 50 rows. Without an index on
(org_id, column), PostgreSQL reads and sorts every network of the organization for each
page; with one it walks the index and stops after 51 rows. Last seen (the default sort)
and threat score already had such indexes (0009); these add first seen, best signal,
sighting count and SSID, which also serve the first-seen and signal range filters.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0014'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_networks_org_firsttime", ["org_id", "firsttime_ms"]),
    ("ix_networks_org_bestlevel", ["org_id", "bestlevel"]),
    ("ix_networks_org_obs_count", ["org_id", "observation_count"]),
    ("ix_networks_org_ssid", ["org_id", "ssid"]),
)


def upgrade():
    with op.batch_alter_table('networks', schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(batch_op.f(name), columns, unique=False)


def downgrade():
    with op.batch_alter_table('networks', schema=None) as batch_op:
        for name, _ in reversed(INDEXES):
            batch_op.drop_index(batch_op.f(name))
