"""reports, report schedules, Vigil's own backups and their restore tests (issue 17)

Revision ID: 0028
Revises: 0016
Create Date: 2026-12-07 16:50:00

"""
from alembic import op
import sqlalchemy as sa
import app.models.base

# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_schedules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('frequency', sa.String(length=10), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('recipients', app.models.base.JSONType, nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('next_run_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_run_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("frequency IN ('weekly', 'monthly')", name=op.f('ck_report_schedules_frequency')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_report_schedules_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_report_schedules_org_id_organizations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_schedules')),
    )
    op.create_index('ix_report_schedules_next_run_at', 'report_schedules', ['next_run_at'])
    op.create_index('ix_report_schedules_org_id', 'report_schedules', ['org_id'])
    op.create_table(
        'reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('params', app.models.base.JSONType, nullable=False),
        sa.Column('files', app.models.base.JSONType, nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('schedule_id', sa.Integer(), nullable=True),
        sa.Column('job_run_id', sa.Integer(), nullable=True),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'ready', 'failed')", name=op.f('ck_reports_status')),
        sa.ForeignKeyConstraint(['job_run_id'], ['job_runs.id'], name=op.f('fk_reports_job_run_id_job_runs'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_reports_org_id_organizations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_reports_requested_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['schedule_id'], ['report_schedules.id'], name=op.f('fk_reports_schedule_id_report_schedules'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    )
    op.create_index('ix_reports_org_created', 'reports', ['org_id', 'created_at'])
    op.create_index('ix_reports_org_id', 'reports', ['org_id'])
    op.create_table(
        'vigil_backups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=300), nullable=False),
        sa.Column('location', sa.String(length=1000), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('encrypted', sa.Boolean(), nullable=False),
        sa.Column('migration_head', sa.String(length=64), nullable=True),
        sa.Column('version', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_vigil_backups')),
        sa.UniqueConstraint('filename', name=op.f('uq_vigil_backups_filename')),
    )
    op.create_index('ix_vigil_backups_created_at', 'vigil_backups', ['created_at'])
    op.create_table(
        'backup_restore_tests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('backup_id', sa.Integer(), nullable=True),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('message', sa.String(length=1000), nullable=False),
        sa.Column('row_counts', app.models.base.JSONType, nullable=False),
        sa.Column('audit_rows_checked', sa.Integer(), nullable=False),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['backup_id'], ['vigil_backups.id'], name=op.f('fk_backup_restore_tests_backup_id_vigil_backups'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_backup_restore_tests')),
    )
    op.create_index('ix_backup_restore_tests_created_at', 'backup_restore_tests', ['created_at'])


def downgrade():
    op.drop_table('backup_restore_tests')
    op.drop_table('vigil_backups')
    op.drop_table('reports')
    op.drop_table('report_schedules')
