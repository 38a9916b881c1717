"""canary tokens (seed 001 BAIT, issue 22): bait_tokens and bait_accesses

Revision ID: 0025
Revises: 0016
Create Date: 2026-12-07 16:30:00

"""
from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0027'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
UTC = app.models.base.UTCDateTime(timezone=True)


def upgrade():
    op.create_table('bait_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.String(length=300), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('bait_type', sa.String(length=20), nullable=False),
    sa.Column('token_value', sa.Text(), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('seeded_at', UTC, nullable=True),
    sa.Column('seeded_location', sa.String(length=500), nullable=True),
    sa.Column('first_access', UTC, nullable=True),
    sa.Column('access_count', sa.Integer(), nullable=False),
    sa.Column('last_access', UTC, nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expires_at', UTC, nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', UTC, nullable=True),
    sa.CheckConstraint("bait_type IN ('url', 'image', 'qr', 'html', 'dns', 'aws', 'api', 'postgres', "
                       "'kubeconfig', 'docx', 'pdf')", name=op.f('ck_bait_tokens_bait_type')),
    sa.CheckConstraint("status IN ('active', 'triggered', 'expired', 'revoked')",
                       name=op.f('ck_bait_tokens_status')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_bait_tokens_org_id_organizations'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bait_tokens_user_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bait_tokens')),
    sa.UniqueConstraint('identifier', name=op.f('uq_bait_tokens_identifier')),
    sa.UniqueConstraint('trigger', name=op.f('uq_bait_tokens_trigger'))
    )
    with op.batch_alter_table('bait_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bait_tokens_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bait_tokens_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bait_tokens_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_bait_tokens_org_status', ['org_id', 'status'], unique=False)

    op.create_table('bait_accesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bait_id', sa.Integer(), nullable=False),
    sa.Column('accessed_at', UTC, nullable=False),
    sa.Column('source_ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=500), nullable=True),
    sa.Column('request_type', sa.String(length=20), nullable=True),
    sa.Column('request_headers', JSON, nullable=False),
    sa.Column('request_body', sa.Text(), nullable=True),
    sa.Column('fingerprint', sa.Text(), nullable=True),
    sa.Column('geolocation', sa.String(length=200), nullable=True),
    sa.Column('threat_level', sa.String(length=10), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('accept_language', sa.String(length=300), nullable=True),
    sa.Column('referer', sa.String(length=1000), nullable=True),
    sa.Column('sec_fetch_headers', JSON, nullable=False),
    sa.Column('attribution_type', sa.String(length=10), nullable=True),
    sa.Column('attribution_confidence', sa.Integer(), nullable=True),
    sa.Column('evidence_strength', sa.String(length=12), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', UTC, nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['bait_id'], ['bait_tokens.id'], name=op.f('fk_bait_accesses_bait_id_bait_tokens'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_bait_accesses_org_id_organizations'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bait_accesses_user_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bait_accesses'))
    )
    with op.batch_alter_table('bait_accesses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bait_accesses_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bait_accesses_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bait_accesses_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_bait_accesses_bait_time', ['bait_id', 'accessed_at'], unique=False)
        batch_op.create_index('ix_bait_accesses_org_ip', ['org_id', 'source_ip'], unique=False)


def downgrade():
    op.drop_table('bait_accesses')
    op.drop_table('bait_tokens')
