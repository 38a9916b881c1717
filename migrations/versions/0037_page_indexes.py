"""Indexes that keep the first page of large lists from growing with the data (issue 18.4)

Each one serves a page's ORDER BY under its organization filter, so the page reads its rows
from the top of an index instead of sorting every row of the organization:

- audit_log (org_id, id): the audit viewer, newest first (WHERE org_id = ? ORDER BY id DESC);
  ix_audit_log_org_time orders by created_at, not id, and the primary key walks every
  organization's rows.
- threat_intelligence (org_id, id): the indicator list, newest first.
- networks (org_id, threat_score_v2 DESC NULLS LAST, id): the map's networks, most
  threatening first (ix_networks_org_threat cannot give DESC NULLS LAST).

Revision ID: 0037
Revises: 0028
Create Date: 2026-12-07 20:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0037'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_log_org_newest", "audit_log", ["org_id", "id"])
    op.create_index("ix_threat_intelligence_org_newest", "threat_intelligence", ["org_id", "id"])
    # SQLite has no NULLS LAST in an index, but already sorts NULL below every number.
    desc = "threat_score_v2 DESC NULLS LAST" if op.get_bind().dialect.name == "postgresql" else "threat_score_v2 DESC"
    op.create_index("ix_networks_org_threat_map", "networks", ["org_id", sa.text(desc), "id"])


def downgrade():
    op.drop_index("ix_networks_org_threat_map", table_name="networks")
    op.drop_index("ix_threat_intelligence_org_newest", table_name="threat_intelligence")
    op.drop_index("ix_audit_log_org_newest", table_name="audit_log")
