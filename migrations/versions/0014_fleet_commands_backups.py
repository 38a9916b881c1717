"""fleet commands, backup configs and the backups catalog (issue 5)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:29:42.596914

"""
from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('backup_configs',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('backup_mode', sa.String(length=20), nullable=False),
    sa.Column('schedule_cron', sa.String(length=100), nullable=True),
    sa.Column('timezone', sa.String(length=50), nullable=False),
    sa.Column('retention_count', sa.Integer(), nullable=False),
    sa.Column('keep_daily', sa.Integer(), nullable=False),
    sa.Column('keep_weekly', sa.Integer(), nullable=False),
    sa.Column('keep_monthly', sa.Integer(), nullable=False),
    sa.Column('full_disk_method', sa.String(length=50), nullable=True),
    sa.Column('require_reboot', sa.Boolean(), nullable=False),
    sa.Column('storage_target', sa.String(length=100), nullable=False),
    sa.Column('last_backup_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_backup_status', sa.String(length=20), nullable=True),
    sa.Column('next_scheduled_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('schedule_changed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("backup_mode IN ('off', 'file', 'full_disk', 'hybrid')", name=op.f('ck_backup_configs_backup_mode')),
    sa.CheckConstraint("full_disk_method IS NULL OR full_disk_method IN ('recovery_usb', 'online_lvm')", name=op.f('ck_backup_configs_full_disk_method')),
    sa.CheckConstraint('retention_count >= 1', name=op.f('ck_backup_configs_retention_count')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_backup_configs_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_backup_configs_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_backup_configs'))
    )
    with op.batch_alter_table('backup_configs', schema=None) as batch_op:
        batch_op.create_index('ix_backup_configs_due', ['enabled', 'next_scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_backup_configs_org_id'), ['org_id'], unique=False)

    op.create_table('commands',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('command_type', sa.String(length=50), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('command_payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('command_signature', sa.Text(), nullable=True),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('picked_up_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('awaiting_approval', 'pending', 'in_progress', 'completed', 'failed', 'expired', 'canceled')", name=op.f('ck_commands_status')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_commands_approved_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_commands_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_commands_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_commands_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commands')),
    sa.UniqueConstraint('nonce', name=op.f('uq_commands_nonce'))
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index('ix_commands_device_status', ['device_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_commands_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_commands_status_expires', ['status', 'expires_at'], unique=False)

    op.create_table('backups_catalog',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('command_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('backup_type', sa.String(length=20), nullable=False),
    sa.Column('backup_method', sa.String(length=50), nullable=True),
    sa.Column('snapshot_id', sa.String(length=255), nullable=False),
    sa.Column('snapshot_name', sa.String(length=255), nullable=True),
    sa.Column('storage_path', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('compressed_size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('encrypted', sa.Boolean(), nullable=False),
    sa.Column('encryption_key_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('last_verified_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('restore_tested', sa.Boolean(), nullable=False),
    sa.Column('restore_result', sa.String(length=20), nullable=True),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('file_count', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('logs', sa.Text(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("backup_type IN ('file', 'full_disk')", name=op.f('ck_backups_catalog_backup_type')),
    sa.CheckConstraint("status IN ('in_progress', 'completed', 'failed', 'deleted')", name=op.f('ck_backups_catalog_status')),
    sa.ForeignKeyConstraint(['command_id'], ['commands.id'], name=op.f('fk_backups_catalog_command_id_commands'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_backups_catalog_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_backups_catalog_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backups_catalog')),
    sa.UniqueConstraint('device_id', 'snapshot_id', name=op.f('uq_backups_catalog_device_id_snapshot_id'))
    )
    with op.batch_alter_table('backups_catalog', schema=None) as batch_op:
        batch_op.create_index('ix_backups_catalog_device_started', ['device_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_backups_catalog_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_backups_catalog_status', ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('backups_catalog', schema=None) as batch_op:
        batch_op.drop_index('ix_backups_catalog_status')
        batch_op.drop_index(batch_op.f('ix_backups_catalog_org_id'))
        batch_op.drop_index('ix_backups_catalog_device_started')

    op.drop_table('backups_catalog')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index('ix_commands_status_expires')
        batch_op.drop_index(batch_op.f('ix_commands_org_id'))
        batch_op.drop_index('ix_commands_device_status')

    op.drop_table('commands')
    with op.batch_alter_table('backup_configs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backup_configs_org_id'))
        batch_op.drop_index('ix_backup_configs_due')

    op.drop_table('backup_configs')
