"""The map's viewport queries (issue 18.4): their cost stays bounded as data grows

- map_network_cells: a pyramid of network counts per (organization, zoom level 0..15, grid
  cell, threat rank) with position sums, kept by statement-level triggers on networks on
  PostgreSQL (insert, update of position or level, delete; transition tables, so a bulk
  import or rescoring costs one set-based upsert per statement) and filled from the existing
  networks here. The map's clusters read the cells of their view: bounded by the view, not
  by how many networks it holds. SQLite has the (empty) table and no triggers.

- networks (org_id, drawn latitude, drawn longitude): an expression index on where the map
  draws a network (its strongest sighting when that is a usable fix, else its last one; the
  same CASE text as app/wireless/map_data.POS_LAT_SQL / POS_LON_SQL, which PostgreSQL needs
  to match the index). The map's clusters and points read the networks of its view through
  it instead of every network of the organization.
- observations (org_id, time, id) INCLUDE (lat, lon, network_id, level) on PostgreSQL: the
  newest sightings in a full box are read down this index, testing the box inside the index
  (no table visit per skipped sighting), and stop after the cap.

Revision ID: 0038_map_viewport
Revises: 0038_import_speed
Create Date: 2026-12-07 23:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0038_map_viewport'
down_revision = '0038_import_speed'
branch_labels = None
depends_on = None

# Frozen copies (a migration must not change when the app does); tests/test_wireless_map_bounded.py
# checks that the app still sends exactly this text.
_VALID = "{a}lat BETWEEN -90 AND 90 AND {a}lon BETWEEN -180 AND 180 AND NOT ({a}lat = 0 AND {a}lon = 0)"
_POS = "CASE WHEN " + _VALID.format(a="best") + " THEN best{c} WHEN " + _VALID.format(a="last") + " THEN last{c} END"
POS_LAT_SQL = _POS.format(c="lat")
POS_LON_SQL = _POS.format(c="lon")


LEVELS = 16  # zoom levels 0..15 (app/wireless/map_data.DETAIL_ZOOM = 16 draws single networks)
_RANK = ("CASE threat_level WHEN 'CRITICAL' THEN 5 WHEN 'HIGH' THEN 4 WHEN 'MEDIUM' THEN 3 "
         "WHEN 'LOW' THEN 2 WHEN 'NONE' THEN 1 ELSE 0 END")


def _points(relation: str) -> str:
    """id, org_id, drawn lat/lon and rank of the networks in a relation (a transition table)."""
    return (f"SELECT id, org_id, ({POS_LAT_SQL}) AS lat, ({POS_LON_SQL}) AS lon, {_RANK} AS rk "
            f"FROM {relation}")


def _upsert(signed_points: str) -> str:
    """Add signed points (org_id, lat, lon, rk, s with s = +1 or -1) into every level's cell."""
    return f"""
        INSERT INTO map_network_cells AS c (org_id, zoom, cx, cy, rank, n, sum_lat, sum_lon)
        SELECT p.org_id, z, floor(p.lon * (2 ^ z) / 90)::int, floor(p.lat * (2 ^ z) / 90)::int, p.rk,
               sum(p.s), sum(p.s * p.lat), sum(p.s * p.lon)
        FROM ({signed_points}) AS p CROSS JOIN generate_series(0, {LEVELS - 1}) AS z
        WHERE p.lat IS NOT NULL AND p.lon IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (org_id, zoom, cx, cy, rank) DO UPDATE
        SET n = c.n + EXCLUDED.n, sum_lat = c.sum_lat + EXCLUDED.sum_lat, sum_lon = c.sum_lon + EXCLUDED.sum_lon
    """
    # ORDER BY: concurrent imports into one organization lock cells in the same order (no deadlock).


_FUNCTIONS = {
    "map_cells_after_insert": _upsert(f"SELECT org_id, lat, lon, rk, 1 AS s FROM ({_points('new_rows')}) AS a"),
    "map_cells_after_delete": _upsert(f"SELECT org_id, lat, lon, rk, -1 AS s FROM ({_points('old_rows')}) AS a"),
    # Only rows whose organization, drawn position or rank changed: the importer's and the
    # rescoring's other updates (counts, times, scores) cost a join and nothing more.
    "map_cells_after_update": _upsert(f"""
        SELECT x.org_id, x.lat, x.lon, x.rk, x.s FROM (
            SELECT n.org_id, n.lat, n.lon, n.rk, 1 AS s, o.org_id AS o_org, o.lat AS o_lat, o.lon AS o_lon, o.rk AS o_rk
            FROM ({_points('new_rows')}) AS n JOIN ({_points('old_rows')}) AS o ON o.id = n.id
            UNION ALL
            SELECT o.org_id, o.lat, o.lon, o.rk, -1 AS s, n.org_id, n.lat, n.lon, n.rk
            FROM ({_points('old_rows')}) AS o JOIN ({_points('new_rows')}) AS n ON n.id = o.id
        ) AS x WHERE (x.org_id, x.lat, x.lon, x.rk) IS DISTINCT FROM (x.o_org, x.o_lat, x.o_lon, x.o_rk)"""),
}
_EVENTS = {"map_cells_after_insert": ("INSERT", "NEW TABLE AS new_rows"),
           "map_cells_after_delete": ("DELETE", "OLD TABLE AS old_rows"),
           "map_cells_after_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")}


def upgrade():
    op.create_table(
        "map_network_cells",
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("zoom", sa.SmallInteger(), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_lat", sa.Double(), nullable=False),
        sa.Column("sum_lon", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "zoom", "cx", "cy", "rank"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, body in _FUNCTIONS.items():
            event, tables = _EVENTS[name]
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN {body}; "
                       f"RETURN NULL; END $fn$")
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON networks REFERENCING {tables} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
        # The networks there already, once.
        op.execute(_upsert(f"SELECT org_id, lat, lon, rk, 1 AS s FROM ({_points('networks')}) AS a"))
        op.execute("ANALYZE map_network_cells")
    op.create_index("ix_networks_org_map_pos", "networks",
                    ["org_id", sa.text(f"({POS_LAT_SQL})"), sa.text(f"({POS_LON_SQL})")])
    op.create_index("ix_observations_org_time_map", "observations", ["org_id", "time", "id"],
                    postgresql_include=["lat", "lon", "network_id", "level"])
    # Same leading columns: the covering index serves every (org_id, time) query, and each
    # index on observations costs the importer per inserted row.
    op.drop_index("ix_observations_org_time", table_name="observations")
    if op.get_bind().dialect.name == "postgresql":
        # Statistics of the new expressions: without them the planner guesses how many
        # networks a view holds (autovacuum analyzes on row changes, not on a new index).
        op.execute("ANALYZE networks")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in _FUNCTIONS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON networks")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("map_network_cells")
    op.create_index("ix_observations_org_time", "observations", ["org_id", "time"])
    op.drop_index("ix_observations_org_time_map", table_name="observations")
    op.drop_index("ix_networks_org_map_pos", table_name="networks")
