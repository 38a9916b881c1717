"""backup repository on backup_configs (issue 19): restic repository, paths, excludes, sealed secrets

Revision ID: 0027
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0027'
down_revision = '0023'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('backup_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repository', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('backup_paths', JSON, nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('exclude_patterns', JSON, nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('repository_password_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('s3_access_key_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('s3_secret_key_sealed', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('backup_configs', schema=None) as batch_op:
        batch_op.drop_column('s3_secret_key_sealed')
        batch_op.drop_column('s3_access_key_id')
        batch_op.drop_column('repository_password_sealed')
        batch_op.drop_column('exclude_patterns')
        batch_op.drop_column('backup_paths')
        batch_op.drop_column('repository')
