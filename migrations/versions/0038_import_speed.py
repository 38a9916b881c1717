"""sightings import speed (issue 18.1, part 2): observations' import_id index becomes a BRIN
index and the network_id foreign key becomes a cascading trigger (PostgreSQL)

Measured (server CPU of an INSERT ... SELECT of 100,000 sightings into observations with
all its indexes, each variant three times): the network_id foreign key cost ~0.7 s, the
import_id btree ~0.45 s, out of ~2.4 s.

- ix_observations_import_id: an import appends its rows, so they sit in a run of adjacent
  heap pages and a block-range index finds them (the explorer's import filter) at next to no
  cost per inserted row. The fold reads an import's new rows by the primary key's id range.
- fk_observations_network_id_networks: its per-row check locks the network's row (FOR KEY
  SHARE: a heap write and a WAL record for each sighting). Every writer of observations takes
  network_id from a network of the same organization it has just looked up or inserted, and
  networks are never deleted on their own; what the key did besides is the cascade when an
  organization (and so its networks) is deleted, which a statement-level trigger on networks
  keeps: deleting networks deletes their sightings, in the same statement.

SQLite (embedded mode) keeps its btree and its foreign key (it has neither BRIN nor the
insert cost at stake; its import speed is reported, not held to the COPY ratio).

Revision ID: 0038_import_speed
Revises: 0038_beat
Create Date: 2026-12-08 00:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0038_import_speed'
down_revision = '0038_beat'
branch_labels = None
depends_on = None

CASCADE_FUNCTION = """
CREATE FUNCTION observations_cascade_networks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM observations o USING gone_networks g WHERE o.network_id = g.id;
  RETURN NULL;
END $$
"""
CASCADE_TRIGGER = """
CREATE TRIGGER observations_cascade_networks AFTER DELETE ON networks
REFERENCING OLD TABLE AS gone_networks FOR EACH STATEMENT
EXECUTE FUNCTION observations_cascade_networks()
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_observations_import_id", table_name="observations")
    # autosummarize: autovacuum summarizes each page range as it fills, so the index stays
    # selective while imports keep appending.
    op.create_index("ix_observations_import_id", "observations", ["import_id"], postgresql_using="brin",
                    postgresql_with={"autosummarize": "on"})
    op.execute(CASCADE_FUNCTION)
    op.execute(CASCADE_TRIGGER)
    op.drop_constraint("fk_observations_network_id_networks", "observations", type_="foreignkey")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DELETE FROM observations o WHERE NOT EXISTS (SELECT 1 FROM networks n WHERE n.id = o.network_id)")
    op.create_foreign_key("fk_observations_network_id_networks", "observations", "networks", ["network_id"], ["id"],
                          ondelete="CASCADE")
    op.execute("DROP TRIGGER observations_cascade_networks ON networks")
    op.execute("DROP FUNCTION observations_cascade_networks()")
    op.drop_index("ix_observations_import_id", table_name="observations")
    op.create_index("ix_observations_import_id", "observations", ["import_id"])
