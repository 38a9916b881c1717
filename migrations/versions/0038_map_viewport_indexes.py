"""Indexes for the map's viewport queries (issue 18.4): their cost stays bounded as data grows

- networks (org_id, drawn latitude, drawn longitude): an expression index on where the map
  draws a network (its strongest sighting when that is a usable fix, else its last one; the
  same CASE text as app/wireless/map_data.POS_LAT_SQL / POS_LON_SQL, which PostgreSQL needs
  to match the index). The map's clusters and points read the networks of its view through
  it instead of every network of the organization.
- observations (org_id, time, id) INCLUDE (lat, lon, network_id, level) on PostgreSQL: the
  newest sightings in a full box are read down this index, testing the box inside the index
  (no table visit per skipped sighting), and stop after the cap.

Revision ID: 0038_map_viewport
Revises: 0037
Create Date: 2026-12-07 23:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0038_map_viewport'
down_revision = '0037'
branch_labels = None
depends_on = None

# Frozen copies (a migration must not change when the app does); tests/test_wireless_map_bounded.py
# checks that the app still sends exactly this text.
_VALID = "{a}lat BETWEEN -90 AND 90 AND {a}lon BETWEEN -180 AND 180 AND NOT ({a}lat = 0 AND {a}lon = 0)"
_POS = "CASE WHEN " + _VALID.format(a="best") + " THEN best{c} WHEN " + _VALID.format(a="last") + " THEN last{c} END"
POS_LAT_SQL = _POS.format(c="lat")
POS_LON_SQL = _POS.format(c="lon")


def upgrade():
    op.create_index("ix_networks_org_map_pos", "networks",
                    ["org_id", sa.text(f"({POS_LAT_SQL})"), sa.text(f"({POS_LON_SQL})")])
    op.create_index("ix_observations_org_time_map", "observations", ["org_id", "time", "id"],
                    postgresql_include=["lat", "lon", "network_id", "level"])
    if op.get_bind().dialect.name == "postgresql":
        # Statistics of the new expressions: without them the planner guesses how many
        # networks a view holds (autovacuum analyzes on row changes, not on a new index).
        op.execute("ANALYZE networks")


def downgrade():
    op.drop_index("ix_observations_org_time_map", table_name="observations")
    op.drop_index("ix_networks_org_map_pos", table_name="networks")
