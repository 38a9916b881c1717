"""fleet overlay: devices.overlay_ip_number, the address as an integer, so the next free
overlay address is an indexed MAX query instead of a scan of every taken address

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07 16:00:00

"""
import ipaddress

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overlay_ip_number', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint('uq_devices_overlay_ip_number', ['overlay_ip_number'])
    devices = sa.table('devices', sa.column('id', sa.Integer), sa.column('overlay_ip', sa.String),
                       sa.column('overlay_ip_number', sa.BigInteger))
    conn = op.get_bind()
    rows = conn.execute(sa.select(devices.c.id, devices.c.overlay_ip).where(devices.c.overlay_ip.is_not(None))).all()
    for device_id, address in rows:
        try:
            number = int(ipaddress.ip_address(address))
        except ValueError:
            continue  # not an address: left without a number, never chosen again
        conn.execute(sa.update(devices).where(devices.c.id == device_id).values(overlay_ip_number=number))


def downgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_devices_overlay_ip_number', type_='unique')
        batch_op.drop_column('overlay_ip_number')
