"""exposure intelligence (seed 001, issue 15): breach files without plaintext, ghost search, monitored e-mails, OPSYCH profiles

Revision ID: 0024
Revises: 0016
Create Date: 2026-12-07 15:54:27.472022

"""
from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ghost_search_queries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('query_type', sa.String(length=20), nullable=False),
    sa.Column('query_value', sa.String(length=255), nullable=False),
    sa.Column('results_count', sa.Integer(), nullable=False),
    sa.Column('search_sources', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_status', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('results', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('response_time_ms', sa.Integer(), nullable=True),
    sa.Column('searched_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_ghost_search_queries_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ghost_search_queries_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ghost_search_queries'))
    )
    with op.batch_alter_table('ghost_search_queries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ghost_search_queries_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ghost_search_queries_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_ghost_search_queries_org_time', ['org_id', 'searched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ghost_search_queries_searched_at'), ['searched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ghost_search_queries_user_id'), ['user_id'], unique=False)

    op.create_table('monitored_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('email_address', sa.String(length=255), nullable=False),
    sa.Column('monitor_scope', sa.String(length=20), nullable=False),
    sa.Column('confirmed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_checked', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('findings_count', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint("monitor_scope IN ('company', 'analyst', 'admin')", name=op.f('ck_monitored_emails_scope')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_monitored_emails_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_monitored_emails_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_monitored_emails_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitored_emails')),
    sa.UniqueConstraint('org_id', 'email_address', name=op.f('uq_monitored_emails_org_id_email_address'))
    )
    with op.batch_alter_table('monitored_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitored_emails_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitored_emails_email_address'), ['email_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitored_emails_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitored_emails_user_id'), ['user_id'], unique=False)

    op.create_table('profiles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('username', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('company', sa.String(length=255), nullable=True),
    sa.Column('position', sa.String(length=255), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('risk_score', sa.Double(), nullable=False),
    sa.Column('breach_count', sa.Integer(), nullable=False),
    sa.Column('mention_count', sa.Integer(), nullable=False),
    sa.Column('social_media_json', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('exposed_passwords_count', sa.Integer(), nullable=False),
    sa.Column('data_leaks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_profiles_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_profiles_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profiles'))
    )
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profiles_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_profiles_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_profiles_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_profiles_user_id'), ['user_id'], unique=False)

    op.create_table('breaches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('breach_name', sa.String(length=255), nullable=True),
    sa.Column('breach_date', sa.String(length=30), nullable=True),
    sa.Column('data_classes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('discovered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_breaches_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_breaches_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_breaches_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breaches')),
    sa.UniqueConstraint('profile_id', 'source', 'breach_name', name=op.f('uq_breaches_profile_id_source_breach_name'))
    )
    with op.batch_alter_table('breaches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_breaches_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_breaches_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_breaches_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_breaches_user_id'), ['user_id'], unique=False)

    op.create_table('github_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.String(length=36), nullable=True),
    sa.Column('gist_id', sa.String(length=255), nullable=False),
    sa.Column('gist_url', sa.String(length=500), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('query_term', sa.String(length=255), nullable=True),
    sa.Column('query_type', sa.String(length=30), nullable=True),
    sa.Column('credential_type', sa.String(length=50), nullable=True),
    sa.Column('credential_masked', sa.String(length=64), nullable=True),
    sa.Column('credential_hmac', sa.String(length=64), nullable=True),
    sa.Column('context', sa.Text(), nullable=True),
    sa.Column('discovered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_github_findings_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_github_findings_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_github_findings_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_github_findings')),
    sa.UniqueConstraint('org_id', 'gist_id', name=op.f('uq_github_findings_org_id_gist_id'))
    )
    with op.batch_alter_table('github_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_github_findings_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_github_findings_gist_id'), ['gist_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_github_findings_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_github_findings_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_github_findings_query_term'), ['query_term'], unique=False)
        batch_op.create_index(batch_op.f('ix_github_findings_query_type'), ['query_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_github_findings_user_id'), ['user_id'], unique=False)

    op.create_table('monitored_email_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('monitored_email_id', sa.Integer(), nullable=False),
    sa.Column('finding_type', sa.String(length=50), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('breach_name', sa.String(length=255), nullable=True),
    sa.Column('breach_date', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('notified', sa.Boolean(), nullable=False),
    sa.Column('notified_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('found_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['monitored_email_id'], ['monitored_emails.id'], name=op.f('fk_monitored_email_findings_monitored_email_id_monitored_emails'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_monitored_email_findings_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitored_email_findings')),
    sa.UniqueConstraint('monitored_email_id', 'dedupe_key', name=op.f('uq_monitored_email_findings_monitored_email_id_dedupe_key'))
    )
    with op.batch_alter_table('monitored_email_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitored_email_findings_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitored_email_findings_monitored_email_id'), ['monitored_email_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitored_email_findings_org_id'), ['org_id'], unique=False)

    op.create_table('opsych_search_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.String(length=36), nullable=True),
    sa.Column('search_id', sa.String(length=36), nullable=False),
    sa.Column('query_input', sa.String(length=255), nullable=False),
    sa.Column('query_type', sa.String(length=30), nullable=True),
    sa.Column('platform', sa.String(length=100), nullable=True),
    sa.Column('username', sa.String(length=255), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=50), nullable=True),
    sa.Column('discovered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_opsych_search_results_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_opsych_search_results_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_opsych_search_results_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opsych_search_results'))
    )
    with op.batch_alter_table('opsych_search_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opsych_search_results_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_opsych_search_results_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opsych_search_results_platform'), ['platform'], unique=False)
        batch_op.create_index(batch_op.f('ix_opsych_search_results_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opsych_search_results_query_input'), ['query_input'], unique=False)
        batch_op.create_index(batch_op.f('ix_opsych_search_results_search_id'), ['search_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opsych_search_results_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opsych_search_results_username'), ['username'], unique=False)

    op.create_table('osint_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.String(length=36), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('device_type', sa.String(length=50), nullable=True),
    sa.Column('ports_open', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('vulnerabilities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.Column('discovered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_osint_devices_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_osint_devices_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_osint_devices_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_osint_devices'))
    )
    with op.batch_alter_table('osint_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_osint_devices_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_osint_devices_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_osint_devices_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_osint_devices_user_id'), ['user_id'], unique=False)

    op.create_table('pastebin_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.String(length=36), nullable=True),
    sa.Column('paste_id', sa.String(length=255), nullable=False),
    sa.Column('paste_title', sa.String(length=255), nullable=True),
    sa.Column('paste_url', sa.String(length=500), nullable=False),
    sa.Column('posted_date', sa.String(length=40), nullable=True),
    sa.Column('query_term', sa.String(length=255), nullable=True),
    sa.Column('query_type', sa.String(length=30), nullable=True),
    sa.Column('credential_masked', sa.String(length=64), nullable=True),
    sa.Column('credential_hmac', sa.String(length=64), nullable=True),
    sa.Column('context', sa.Text(), nullable=True),
    sa.Column('discovered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_pastebin_findings_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_pastebin_findings_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pastebin_findings_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pastebin_findings')),
    sa.UniqueConstraint('org_id', 'paste_id', name=op.f('uq_pastebin_findings_org_id_paste_id'))
    )
    with op.batch_alter_table('pastebin_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pastebin_findings_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pastebin_findings_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pastebin_findings_paste_id'), ['paste_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pastebin_findings_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pastebin_findings_query_term'), ['query_term'], unique=False)
        batch_op.create_index(batch_op.f('ix_pastebin_findings_query_type'), ['query_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_pastebin_findings_user_id'), ['user_id'], unique=False)

    op.create_table('social_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.String(length=36), nullable=False),
    sa.Column('platform', sa.String(length=100), nullable=True),
    sa.Column('username', sa.String(length=255), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('followers', sa.Integer(), nullable=True),
    sa.Column('posts_count', sa.Integer(), nullable=True),
    sa.Column('discovered_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_social_media_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_social_media_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_social_media_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_social_media')),
    sa.UniqueConstraint('profile_id', 'platform', 'username', name=op.f('uq_social_media_profile_id_platform_username'))
    )
    with op.batch_alter_table('social_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_social_media_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_media_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_media_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_media_user_id'), ['user_id'], unique=False)

    op.create_table('uploaded_breach_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('file_path', sa.String(length=500), nullable=True),
    sa.Column('storage_location', sa.String(length=20), nullable=False),
    sa.Column('indexed', sa.Boolean(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('records_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('matched_count', sa.Integer(), nullable=False),
    sa.Column('processing_status', sa.String(length=20), nullable=False),
    sa.Column('processing_error', sa.Text(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=False),
    sa.Column('detected_format', sa.String(length=30), nullable=True),
    sa.Column('virus_scanned', sa.Boolean(), nullable=False),
    sa.Column('virus_scan_result', sa.String(length=100), nullable=True),
    sa.Column('security_flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('job_run_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('raw_deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint("processing_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_uploaded_breach_files_status')),
    sa.ForeignKeyConstraint(['job_run_id'], ['job_runs.id'], name=op.f('fk_uploaded_breach_files_job_run_id_job_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_uploaded_breach_files_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_uploaded_breach_files_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploaded_breach_files')),
    sa.UniqueConstraint('org_id', 'content_hash', name=op.f('uq_uploaded_breach_files_org_id_content_hash')),
    sa.UniqueConstraint('upload_id', name=op.f('uq_uploaded_breach_files_upload_id'))
    )
    with op.batch_alter_table('uploaded_breach_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploaded_breach_files_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploaded_breach_files_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploaded_breach_files_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploaded_breach_files_user_id'), ['user_id'], unique=False)

    op.create_table('breach_file_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uploaded_file_id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('email_domain', sa.String(length=255), nullable=True),
    sa.Column('username', sa.String(length=255), nullable=True),
    sa.Column('password_length', sa.Integer(), nullable=True),
    sa.Column('password_classes', sa.String(length=8), nullable=True),
    sa.Column('password_strength', sa.Integer(), nullable=True),
    sa.Column('password_hint', sa.String(length=8), nullable=True),
    sa.Column('password_sha1_prefix', sa.String(length=5), nullable=True),
    sa.Column('password_hmac', sa.String(length=64), nullable=True),
    sa.Column('credential_key', sa.String(length=64), nullable=False),
    sa.Column('additional_data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('match_reason', sa.String(length=30), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('password_in_use', sa.Boolean(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_breach_file_results_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_file_id'], ['uploaded_breach_files.id'], name=op.f('fk_breach_file_results_uploaded_file_id_uploaded_breach_files'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_breach_file_results_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_file_results')),
    sa.UniqueConstraint('org_id', 'credential_key', name=op.f('uq_breach_file_results_org_id_credential_key'))
    )
    with op.batch_alter_table('breach_file_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_breach_file_results_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_file_results_email_domain'), ['email_domain'], unique=False)
        batch_op.create_index('ix_breach_file_results_org_email', ['org_id', 'email'], unique=False)
        batch_op.create_index('ix_breach_file_results_org_hmac', ['org_id', 'password_hmac'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_file_results_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_breach_file_results_org_matched', ['org_id', 'matched'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_file_results_uploaded_file_id'), ['uploaded_file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_file_results_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_file_results_username'), ['username'], unique=False)



def downgrade():
    with op.batch_alter_table('breach_file_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breach_file_results_username'))
        batch_op.drop_index(batch_op.f('ix_breach_file_results_user_id'))
        batch_op.drop_index(batch_op.f('ix_breach_file_results_uploaded_file_id'))
        batch_op.drop_index('ix_breach_file_results_org_matched')
        batch_op.drop_index(batch_op.f('ix_breach_file_results_org_id'))
        batch_op.drop_index('ix_breach_file_results_org_hmac')
        batch_op.drop_index('ix_breach_file_results_org_email')
        batch_op.drop_index(batch_op.f('ix_breach_file_results_email_domain'))
        batch_op.drop_index(batch_op.f('ix_breach_file_results_deleted_at'))

    op.drop_table('breach_file_results')
    with op.batch_alter_table('uploaded_breach_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uploaded_breach_files_user_id'))
        batch_op.drop_index(batch_op.f('ix_uploaded_breach_files_org_id'))
        batch_op.drop_index(batch_op.f('ix_uploaded_breach_files_expires_at'))
        batch_op.drop_index(batch_op.f('ix_uploaded_breach_files_deleted_at'))

    op.drop_table('uploaded_breach_files')
    with op.batch_alter_table('social_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_media_user_id'))
        batch_op.drop_index(batch_op.f('ix_social_media_profile_id'))
        batch_op.drop_index(batch_op.f('ix_social_media_org_id'))
        batch_op.drop_index(batch_op.f('ix_social_media_deleted_at'))

    op.drop_table('social_media')
    with op.batch_alter_table('pastebin_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pastebin_findings_user_id'))
        batch_op.drop_index(batch_op.f('ix_pastebin_findings_query_type'))
        batch_op.drop_index(batch_op.f('ix_pastebin_findings_query_term'))
        batch_op.drop_index(batch_op.f('ix_pastebin_findings_profile_id'))
        batch_op.drop_index(batch_op.f('ix_pastebin_findings_paste_id'))
        batch_op.drop_index(batch_op.f('ix_pastebin_findings_org_id'))
        batch_op.drop_index(batch_op.f('ix_pastebin_findings_deleted_at'))

    op.drop_table('pastebin_findings')
    with op.batch_alter_table('osint_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_osint_devices_user_id'))
        batch_op.drop_index(batch_op.f('ix_osint_devices_profile_id'))
        batch_op.drop_index(batch_op.f('ix_osint_devices_org_id'))
        batch_op.drop_index(batch_op.f('ix_osint_devices_deleted_at'))

    op.drop_table('osint_devices')
    with op.batch_alter_table('opsych_search_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_username'))
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_user_id'))
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_search_id'))
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_query_input'))
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_profile_id'))
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_platform'))
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_org_id'))
        batch_op.drop_index(batch_op.f('ix_opsych_search_results_deleted_at'))

    op.drop_table('opsych_search_results')
    with op.batch_alter_table('monitored_email_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitored_email_findings_org_id'))
        batch_op.drop_index(batch_op.f('ix_monitored_email_findings_monitored_email_id'))
        batch_op.drop_index(batch_op.f('ix_monitored_email_findings_deleted_at'))

    op.drop_table('monitored_email_findings')
    with op.batch_alter_table('github_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_github_findings_user_id'))
        batch_op.drop_index(batch_op.f('ix_github_findings_query_type'))
        batch_op.drop_index(batch_op.f('ix_github_findings_query_term'))
        batch_op.drop_index(batch_op.f('ix_github_findings_profile_id'))
        batch_op.drop_index(batch_op.f('ix_github_findings_org_id'))
        batch_op.drop_index(batch_op.f('ix_github_findings_gist_id'))
        batch_op.drop_index(batch_op.f('ix_github_findings_deleted_at'))

    op.drop_table('github_findings')
    with op.batch_alter_table('breaches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breaches_user_id'))
        batch_op.drop_index(batch_op.f('ix_breaches_profile_id'))
        batch_op.drop_index(batch_op.f('ix_breaches_org_id'))
        batch_op.drop_index(batch_op.f('ix_breaches_deleted_at'))

    op.drop_table('breaches')
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profiles_user_id'))
        batch_op.drop_index(batch_op.f('ix_profiles_org_id'))
        batch_op.drop_index(batch_op.f('ix_profiles_email'))
        batch_op.drop_index(batch_op.f('ix_profiles_deleted_at'))

    op.drop_table('profiles')
    with op.batch_alter_table('monitored_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitored_emails_user_id'))
        batch_op.drop_index(batch_op.f('ix_monitored_emails_org_id'))
        batch_op.drop_index(batch_op.f('ix_monitored_emails_email_address'))
        batch_op.drop_index(batch_op.f('ix_monitored_emails_deleted_at'))

    op.drop_table('monitored_emails')
    with op.batch_alter_table('ghost_search_queries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ghost_search_queries_user_id'))
        batch_op.drop_index(batch_op.f('ix_ghost_search_queries_searched_at'))
        batch_op.drop_index('ix_ghost_search_queries_org_time')
        batch_op.drop_index(batch_op.f('ix_ghost_search_queries_org_id'))
        batch_op.drop_index(batch_op.f('ix_ghost_search_queries_deleted_at'))

    op.drop_table('ghost_search_queries')
