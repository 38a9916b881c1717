"""sightings import speed (issue 18.1): a 16-byte natural key, observations without the
foreign keys a network already implies, no index that another index's prefix makes
redundant, and the per-import fold watermark

On PostgreSQL (SQLite, embedded mode, keeps its 12-column key: its import speed is
reported, not held to the COPY ratio; the other changes apply to both):
- observations.natural_key: a generated uuid, the first 16 bytes of SHA-256 over the seed's
  natural key (org, source, source_pk, bssid, level, position, altitude, accuracy,
  observed_at_ms, external, mfgrid) in a fixed binary layout, with ONE unique index in place
  of the 12-column uq_observations_natural (same rule, a quarter of the index width);
- observations loses its foreign keys to organizations, device_sources and wireless_imports
  (network_id's stays: networks cascade from organizations, so deleting an organization still
  removes every sighting; sources and imports are never deleted on their own); each was a
  per-row lookup at insert time;
- ix_observations_org_id and ix_networks_org_id go: (org_id, ...) indexes cover every query
  they served, and every networks update wrote them.
Both dialects: wireless_imports.folded_id and fold_pending (PostgreSQL folds an import's new
rows into networks and ssid_history once at the end, or every FOLD_ROWS rows; a run that
stopped before folding is folded by the next run in its organization).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 19:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0035'
branch_labels = None
depends_on = None

# -0.0 + 0 is +0.0, so the two zeros hash alike (the 12-column key compared them equal).
NATURAL_KEY = (
    "CAST(encode(substring(sha256("
    "int4send(org_id) || int4send(source_id) || int4send(level) || int4send(mfgrid) || boolsend(external)"
    " || int8send(observed_at_ms) || float8send(lat + 0::float8) || float8send(lon + 0::float8)"
    " || float8send(altitude + 0::float8) || float8send(accuracy + 0::float8)"
    " || decode(md5(bssid), 'hex') || decode(md5(source_pk), 'hex')) from 1 for 16), 'hex') AS uuid)"
)
NATURAL_COLUMNS = ['org_id', 'source_id', 'source_pk', 'bssid', 'level', 'lat', 'lon', 'altitude', 'accuracy',
                   'observed_at_ms', 'external', 'mfgrid']


FOREIGN_KEYS = (  # (name, referred table, ondelete) of the observations columns that lose theirs
    ('fk_observations_org_id_organizations', 'organizations', 'org_id', 'CASCADE'),
    ('fk_observations_source_id_device_sources', 'device_sources', 'source_id', 'CASCADE'),
    ('fk_observations_import_id_wireless_imports', 'wireless_imports', 'import_id', 'SET NULL'),
)


def upgrade():
    with op.batch_alter_table('wireless_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('folded_id', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('fold_pending', sa.Boolean(), nullable=False, server_default=sa.false()))
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute(f"ALTER TABLE observations ADD COLUMN natural_key uuid GENERATED ALWAYS AS ({NATURAL_KEY}) STORED")
        op.create_index('uq_observations_natural_key', 'observations', ['natural_key'], unique=True)
    with op.batch_alter_table('observations', schema=None) as batch_op:
        if postgres:  # SQLite keeps the 12-column constraint (its speed is not held to the ratio)
            batch_op.drop_constraint('uq_observations_natural', type_='unique')
        for name, _table, _column, _ondelete in FOREIGN_KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')
        batch_op.drop_index('ix_observations_org_id')
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_index('ix_networks_org_id')


def downgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    # Rows whose source or import is gone would break the foreign keys coming back.
    op.execute("UPDATE observations SET import_id = NULL WHERE import_id IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM wireless_imports i WHERE i.id = observations.import_id)")
    op.execute("DELETE FROM observations WHERE NOT EXISTS (SELECT 1 FROM device_sources s "
               "WHERE s.id = observations.source_id) OR NOT EXISTS (SELECT 1 FROM organizations g "
               "WHERE g.id = observations.org_id)")
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.create_index('ix_networks_org_id', ['org_id'], unique=False)
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index('ix_observations_org_id', ['org_id'], unique=False)
        for name, table, column, ondelete in FOREIGN_KEYS:
            batch_op.create_foreign_key(name, table, [column], ['id'], ondelete=ondelete)
        if postgres:
            batch_op.create_unique_constraint('uq_observations_natural', NATURAL_COLUMNS)
    if postgres:
        op.drop_index('uq_observations_natural_key', table_name='observations')
        op.drop_column('observations', 'natural_key')
    with op.batch_alter_table('wireless_imports', schema=None) as batch_op:
        batch_op.drop_column('fold_pending')
        batch_op.drop_column('folded_id')
